import ImageOps
import Testing
@testable import SlideIO

/// Thumbnails in bounded memory: size, level, scale, strips, and pixels against a direct read (M3, R8, L7).
@Suite("Slide thumbnail")
struct SlideThumbnailTests {
    @Test("CMU-1-Small-Region: longest side ≤ maxSide, exact scale, resembles a directly read and averaged level")
    func cmu() throws {
        let slide = try Slide(path: SlidePaths.cmu)
        let thumbnail = try slide.thumbnail(maxSide: 512, stripHeight: 100)
        let image = thumbnail.image
        #expect(max(image.width, image.height) == 512)
        #expect(image.width == 383 && image.height == 512)   // 2220 × 2967 scaled by 512/2967, rounded
        #expect(thumbnail.level == 0)
        #expect(thumbnail.level0PerPixelX == 2220.0 / 383 && thumbnail.level0PerPixelY == 2967.0 / 512)
        // Memory by construction: 30 strips of 2220 × 100 px, never the whole level.
        #expect(thumbnail.stripHeight == 100)
        #expect(thumbnail.stripsRead == 30)
        #expect(thumbnail.stripBufferPixels == 2220 * 100)
        #expect(thumbnail.stripBufferPixels < slide.width * slide.height / 10)

        // Reference: the whole level read directly and shrunk by an independent box average.
        let direct = try DirectOpenSlide.read(path: SlidePaths.cmu, x: 0, y: 0, level: 0, width: 2220, height: 2967)
        let reference = boxAverage(direct, width: image.width, height: image.height)
        let difference = meanAbsoluteDifference(image, reference)
        #expect(difference < 2.0, "mean abs difference \(difference)")
    }

    @Test("the strip size changes neither the pixels nor the scale; only the number of strips")
    func stripInvariance() throws {
        let slide = try Slide(path: SlidePaths.cmu)
        let one = try slide.thumbnail(maxSide: 300, stripHeight: 1)
        let many = try slide.thumbnail(maxSide: 300, stripHeight: 333)
        let auto = try slide.thumbnail(maxSide: 300)
        #expect(one.image == many.image && many.image == auto.image)
        #expect(one.stripsRead == 2967 && many.stripsRead == 9)
        #expect(auto.stripHeight == Slide.defaultStripPixels / 2220 && auto.stripBufferPixels <= Slide.defaultStripPixels)
    }

    @Test("the smallest level still at least the thumbnail's size is used", arguments: [
        (4096, 0), (2000, 1), (1216, 2), (600, 3), (304, 4), (150, 5), (76, 6), (40, 6),
    ])
    func levelChoice(_ maxSide: Int, _ level: Int) throws {
        let slide = try Slide(path: SlidePaths.ndpi)   // 3968 × 4864, downsamples 1…64
        let thumbnail = try slide.thumbnail(maxSide: maxSide)
        #expect(thumbnail.level == level)
        #expect(max(thumbnail.image.width, thumbnail.image.height) == min(maxSide, 4864))
        let source = slide.levels[level]
        #expect(source.width >= thumbnail.image.width && source.height >= thumbnail.image.height)
    }

    @Test("a pyramid level with the exact thumbnail size is copied unchanged")
    func exactLevel() throws {
        let slide = try Slide(path: SlidePaths.ndpi)
        let thumbnail = try slide.thumbnail(maxSide: 304, stripHeight: 50)
        #expect(thumbnail.level == 4 && thumbnail.image.width == 248 && thumbnail.image.height == 304)
        let direct = try DirectOpenSlide.read(path: SlidePaths.ndpi, x: 0, y: 0, level: 4, width: 248, height: 304)
        #expect(thumbnail.image == direct)
        #expect(thumbnail.stripsRead == 7)
    }

    @Test("osp-boxes (non-integer downsamples): scale is level-0 size / thumbnail size per axis (L7)")
    func boxes() throws {
        let slide = try Slide(path: SlidePaths.boxes)
        let fits = try slide.thumbnail(maxSide: 74)   // 74 × 62 fits level 2 (75 × 62, downsample 4.0161)
        #expect(fits.level == 2 && fits.image.width == 74 && fits.image.height == 62)
        #expect(fits.level0PerPixelX == 300.0 / 74 && fits.level0PerPixelY == 250.0 / 62)
        // 75 × 63 does not fit level 2 (62 rows) without enlarging: level 1 (150 × 125) is read instead.
        let larger = try slide.thumbnail(maxSide: 75)
        #expect(larger.level == 1 && larger.image.width == 75 && larger.image.height == 63)
        #expect(larger.level0PerPixelX == 4 && larger.level0PerPixelY == 250.0 / 63)
        let direct = try DirectOpenSlide.read(path: SlidePaths.boxes, x: 0, y: 0, level: 2, width: 75, height: 62)
        #expect(meanAbsoluteDifference(fits.image, RGBImage(width: 74, height: 62, pixels: (0..<62).flatMap { y in
            (0..<74).flatMap { x in [direct[x, y].r, direct[x, y].g, direct[x, y].b] } })) < 20)
    }

    @Test("a slide smaller than maxSide is returned at its own size; the 16×16 slide works")
    func small() throws {
        let slide = try Slide(path: SlidePaths.small16)
        let thumbnail = try slide.thumbnail(maxSide: 256)
        #expect(thumbnail.image.width == 16 && thumbnail.image.height == 16 && thumbnail.level0PerPixelX == 1)
        #expect(thumbnail.image == (try slide.readRegion(x: 0, y: 0, level: 0, width: 16, height: 16)))
    }

    @Test("thumbnail requests beyond the cap (M3) or with no strip rows are errors")
    func limits() throws {
        let slide = try Slide(path: SlidePaths.small16)
        #expect(slideError { try slide.thumbnail(maxSide: 0) } != nil)
        #expect(slideError { try slide.thumbnail(maxSide: Slide.maxThumbnailSide + 1) } != nil)
        #expect(slideError { try slide.thumbnail(maxSide: 10, stripHeight: 0) } != nil)
    }

    @Test("a thumbnail of a slide whose pixels do not decode throws readFailed")
    func unreadable() throws {
        let slide = try Slide(path: SlidePaths.unreadable)
        guard case .readFailed? = slideError({ try slide.thumbnail(maxSide: 8) }) else {
            Issue.record("expected readFailed")
            return
        }
    }

    @Test("tolerateDamage: the damaged TIFF tile reads as background, the rest as from the undamaged file (C1, C2)")
    func damagedTileAsBackground() throws {
        let path = SlidePaths.fixture("corrupt-tile.tiff")
        guard case .readFailed? = slideError({ try Slide(path: path).thumbnail(maxSide: 128) }) else {
            Issue.record("without tolerateDamage the damaged tile fails the thumbnail")
            return
        }
        let slide = try Slide(path: path)
        let thumbnail = try slide.thumbnail(maxSide: 128, tolerateDamage: true)
        // Level 0 (128 × 96 px, TIFF tiles of 64 × 64) is read in 64 × 64 blocks once its strip fails: only the
        // block of tile (0, 0) is lost.
        #expect(thumbnail.level == 0 && thumbnail.image.width == 128 && thumbnail.image.height == 96)
        #expect(thumbnail.damaged.count == 1)
        let block = try #require(thumbnail.damaged.first)
        #expect(block.level == 0 && block.x == 0 && block.y == 0 && block.width == 64 && block.height == 64)
        guard case .readFailed = block.error else { Issue.record("\(block.error)"); return }
        #expect(block.overlaps(x: 60, y: 60, side: 8) && !block.overlaps(x: 64, y: 0, side: 32))
        // The same file without the damage (make_slide_fixtures.py wrote corrupt-tile.tiff from res-cm-40000.tiff).
        let reference = try Slide(path: SlidePaths.fixture("res-cm-40000.tiff")).thumbnail(maxSide: 128).image
        var insideMismatch = 0, outsideMismatch = 0
        for y in 0..<96 {
            for x in 0..<128 {
                for c in 0..<3 {
                    let i = (y * 128 + x) * 3 + c
                    if x < 64 && y < 64 {
                        if thumbnail.image.pixels[i] != 255 { insideMismatch += 1 }  // the background, #FFFFFF
                    } else if thumbnail.image.pixels[i] != reference.pixels[i] {
                        outsideMismatch += 1
                    }
                }
            }
        }
        #expect(insideMismatch == 0 && outsideMismatch == 0)
    }

    @Test("area averaging: integer factors average blocks exactly; fractional factors weight partial pixels")
    func areaReducer() {
        // 4 × 2 source, one channel pattern, reduced to 2 × 1: each output is the mean of a 2 × 2 block.
        let reducer = AreaReducer(sourceWidth: 4, sourceHeight: 2, outputWidth: 2, outputHeight: 1)
        var state = reducer.makeState()
        var output = [UInt8](repeating: 0, count: 6)
        reducer.add(row: [0, 0, 0, 100, 100, 100, 10, 10, 10, 30, 30, 30], at: 0, state: &state, output: &output)
        reducer.add(row: [50, 50, 50, 50, 50, 50, 20, 20, 20, 20, 20, 20], at: 1, state: &state, output: &output)
        reducer.finish(state: &state, output: &output)
        #expect(output == [50, 50, 50, 20, 20, 20])
        // 3 → 2 columns: output 0 = (p0 + 0.5 p1) / 1.5, output 1 = (0.5 p1 + p2) / 1.5.
        let third = AreaReducer(sourceWidth: 3, sourceHeight: 1, outputWidth: 2, outputHeight: 1)
        var thirdState = third.makeState()
        var thirdOutput = [UInt8](repeating: 0, count: 6)
        third.add(row: [0, 0, 0, 90, 90, 90, 180, 180, 180], at: 0, state: &thirdState, output: &thirdOutput)
        third.finish(state: &thirdState, output: &thirdOutput)
        #expect(thirdOutput == [30, 30, 30, 150, 150, 150])
    }

    /// An independent reference: each output pixel is the plain mean of the source pixels whose centres
    /// fall inside it.
    private func boxAverage(_ source: RGBImage, width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let sx = Double(source.width) / Double(width), sy = Double(source.height) / Double(height)
        for j in 0..<height {
            let y0 = Int((Double(j) * sy).rounded()), y1 = max(y0 + 1, Int((Double(j + 1) * sy).rounded()))
            for i in 0..<width {
                let x0 = Int((Double(i) * sx).rounded()), x1 = max(x0 + 1, Int((Double(i + 1) * sx).rounded()))
                var sums = [0, 0, 0], count = 0
                for y in y0..<min(y1, source.height) {
                    for x in x0..<min(x1, source.width) {
                        let pixel = source[x, y]
                        sums[0] += Int(pixel.r); sums[1] += Int(pixel.g); sums[2] += Int(pixel.b)
                        count += 1
                    }
                }
                for c in 0..<3 { pixels[(j * width + i) * 3 + c] = UInt8((Double(sums[c]) / Double(max(1, count))).rounded()) }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
