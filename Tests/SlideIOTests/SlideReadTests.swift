import Foundation
import ImageOps
import Testing
@testable import SlideIO

/// Region reads against direct OpenSlide reads, level-0 coordinates on every level, reads past the edge,
/// read failures and the poisoned handle, the size limit, and concurrent readers.
@Suite("Slide reads")
struct SlideReadTests {
    struct Region: Sendable, CustomTestStringConvertible {
        let path: String
        let x: Int
        let y: Int
        let level: Int
        let width: Int
        let height: Int
        var testDescription: String { "\((path as NSString).lastPathComponent) (\(x), \(y)) L\(level) \(width)×\(height)" }
    }

    static let regions: [Region] = [
        Region(path: SlidePaths.cmu, x: 0, y: 0, level: 0, width: 256, height: 256),
        Region(path: SlidePaths.cmu, x: 1001, y: 1337, level: 0, width: 300, height: 211),
        Region(path: SlidePaths.cmu, x: 2100, y: 2900, level: 0, width: 240, height: 240),  // past the edge
        Region(path: SlidePaths.tcga, x: 1000, y: 800, level: 0, width: 200, height: 150),
        Region(path: SlidePaths.tcga, x: 1000, y: 800, level: 1, width: 200, height: 150),  // level-0 coordinates
        Region(path: SlidePaths.boxes, x: 0, y: 0, level: 0, width: 300, height: 250),
        Region(path: SlidePaths.boxes, x: 37, y: 21, level: 2, width: 60, height: 50),
        // Not level 3 of osp-boxes.tiff (37 × 31 px stored in 64-px tiles): libtiff warns "raster width adapted" and
        // OpenSlide 3.4.1 returns uninitialised memory there (openslide-python gives different random RGBA on every
        // run), so no two reads agree.
        Region(path: SlidePaths.boxes, x: -50, y: -20, level: 1, width: 100, height: 80),   // before the origin
        Region(path: SlidePaths.ndpi, x: 1500, y: 2000, level: 0, width: 128, height: 96),
        Region(path: SlidePaths.ndpi, x: 1500, y: 2000, level: 4, width: 64, height: 64),
        Region(path: SlidePaths.small16, x: -8, y: -8, level: 0, width: 32, height: 32),
    ]

    @Test("readRegion equals a direct openslide_read_region composited independently", arguments: regions)
    func matchesDirectRead(_ region: Region) throws {
        let slide = try Slide(path: region.path)
        let image = try slide.readRegion(x: region.x, y: region.y, level: region.level, width: region.width, height: region.height)
        let direct = try DirectOpenSlide.read(path: region.path, x: Int64(region.x), y: Int64(region.y), level: Int32(region.level),
                                              width: region.width, height: region.height)
        #expect(image.width == region.width && image.height == region.height)
        #expect(image == direct)
    }

    @Test("the compositing formula: c + bg·(255 − a)/255 on premultiplied ARGB, any background")
    func compositing() {
        let pixels: [UInt32] = [0xFF_10_20_30, 0x00_00_00_00, 0x80_40_00_80, 0x01_01_00_00, 0x7F_7F_7F_7F]
        let background = BackgroundColor(r: 200, g: 100, b: 0)
        var out = [UInt8](repeating: 0, count: pixels.count * 3)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { PremultipliedARGB.composite(source.baseAddress!, count: pixels.count, onto: background, into: $0.baseAddress!) }
        }
        var expected: [UInt8] = []
        for value in pixels {
            let a = Double(value >> 24)
            for (shift, bg) in [(16, 200.0), (8, 100.0), (0, 0.0)] {
                let c = Double((value >> UInt32(shift)) & 0xFF)
                expected.append(UInt8(min(255, c + (bg * (255 - a) / 255).rounded())))
            }
        }
        #expect(out == expected)
        #expect(Array(out[3..<6]) == [200, 100, 0], "a fully transparent pixel is the background")
        #expect(Array(out[0..<3]) == [0x10, 0x20, 0x30], "an opaque pixel is unchanged")
    }

    @Test("a read at a non-zero level takes level-0 coordinates (L4, L7)")
    func levelZeroCoordinates() throws {
        let slide = try Slide(path: SlidePaths.boxes)
        // Level 1 has downsample 2: level-0 (100, 50) is level-1 (50, 25), whatever the read size.
        let atLevel1 = try slide.readRegion(x: 100, y: 50, level: 1, width: 20, height: 20)
        let wholeLevel1 = try slide.readRegion(x: 0, y: 0, level: 1, width: 150, height: 125)
        for row in 0..<20 {
            for column in 0..<20 {
                #expect(atLevel1[column, row] == wholeLevel1[50 + column, 25 + row])
            }
        }
        // Level 2 (downsample 4.0161): level-0 (0, 0) is the level's origin on every level.
        let origin = try slide.readRegion(x: 0, y: 0, level: 2, width: 10, height: 10)
        let wholeLevel2 = try slide.readRegion(x: 0, y: 0, level: 2, width: 75, height: 62)
        #expect(origin[0, 0] == wholeLevel2[0, 0] && origin[9, 9] == wholeLevel2[9, 9])
    }

    @Test("the 16×16 slide (smaller than one tile) read beyond its bounds gives background outside")
    func beyondBounds() throws {
        let slide = try Slide(path: SlidePaths.small16)
        let image = try slide.readRegion(x: -8, y: -8, level: 0, width: 32, height: 32)
        let inside = try slide.readRegion(x: 0, y: 0, level: 0, width: 16, height: 16)
        for row in 0..<32 {
            for column in 0..<32 {
                let pixel = image[column, row]
                if (8..<24).contains(column) && (8..<24).contains(row) {
                    #expect(pixel == inside[column - 8, row - 8])
                } else {
                    #expect(pixel == (255, 255, 255), "outside the slide is the white background at (\(column), \(row))")
                }
            }
        }
        // Entirely outside: all background, no error.
        let far = try slide.readRegion(x: 1000, y: 1000, level: 0, width: 4, height: 4)
        #expect(far.pixels.allSatisfy { $0 == 255 })
        #expect(slide.isUsable)
    }

    @Test("osp-unreadable.svs opens, then the read fails with coordinates; the handle is then unusable (C1–C3)")
    func readFailure() throws {
        let slide = try Slide(path: SlidePaths.unreadable)
        let error = slideError { try slide.readRegion(x: 3, y: 4, level: 0, width: 8, height: 8) }
        guard case .readFailed(let path, 3, 4, 0, let detail)? = error else {
            Issue.record("expected readFailed at (3, 4) level 0, got \(String(describing: error))")
            return
        }
        #expect(path == SlidePaths.unreadable)
        #expect(detail.contains("Bogus marker length"))
        #expect(error?.description.contains("osp-unreadable.svs") == true)
        #expect(error?.description.contains("(3, 4)") == true)
        #expect(!slide.isUsable)
        #expect(slide.failure?.contains("Bogus marker length") == true)
        // Every later call fails: the Slide says so instead of returning blank pixels.
        let later = slideError { try slide.readRegion(x: 0, y: 0, level: 0, width: 1, height: 1) }
        guard case .handleUnusable(_, let first)? = later else {
            Issue.record("expected handleUnusable, got \(String(describing: later))")
            return
        }
        #expect(first.contains("Bogus marker length"))
        #expect(later?.description.contains("open the slide again") == true)
        // Metadata read at open is still there.
        #expect(slide.levels.count == 1 && slide.properties["aperio.MPP"] == "0.4990")
        // The probe reports the same failure.
        let fresh = try Slide(path: SlidePaths.unreadable)
        guard case .readFailed? = fresh.probeReads() else {
            Issue.record("the probe should fail on osp-unreadable.svs")
            return
        }
    }

    @Test("one bad tile fails only its reads; a new Slide reads the other tiles (C1)")
    func corruptTile() throws {
        let path = SlidePaths.fixture("corrupt-tile.tiff")
        let slide = try Slide(path: path)
        guard case .readFailed(_, 10, 10, 0, _)? = slideError({ try slide.readRegion(x: 10, y: 10, level: 0, width: 8, height: 8) }) else {
            Issue.record("the read of tile (0, 0) should fail")
            return
        }
        #expect(!slide.isUsable)
        let reopened = try Slide(path: path)
        let good = try reopened.readRegion(x: 70, y: 70, level: 0, width: 40, height: 20)
        let reference = try Slide(path: SlidePaths.fixture("res-cm-40000.tiff")).readRegion(x: 70, y: 70, level: 0, width: 40, height: 20)
        #expect(good == reference)
        #expect(reopened.isUsable)
    }

    @Test("a huge read throws regionTooLarge before allocating (M1)")
    func sizeLimit() throws {
        let slide = try Slide(path: SlidePaths.cmu)
        let error = slideError { try slide.readRegion(x: 0, y: 0, level: 0, width: 60_000, height: 60_000) }
        #expect(error == .regionTooLarge(path: SlidePaths.cmu, width: 60_000, height: 60_000, limit: Slide.defaultMaxReadPixels))
        #expect(error?.description.contains("tiles or strips") == true)
        let overflow = slideError { try slide.readRegion(x: 0, y: 0, level: 0, width: Int.max / 2, height: 4) }
        guard case .regionTooLarge? = overflow else {
            Issue.record("an overflowing size should be regionTooLarge, got \(String(describing: overflow))")
            return
        }
        #expect(slide.isUsable, "the limit is checked before OpenSlide is called")
        let limited = try Slide(path: SlidePaths.cmu, maxReadPixels: 100)
        #expect(slideError { try limited.readRegion(x: 0, y: 0, level: 0, width: 11, height: 10) } != nil)
        #expect(try limited.readRegion(x: 0, y: 0, level: 0, width: 10, height: 10).pixels.count == 300)
    }

    @Test("bad requests are errors, not crashes")
    func badRequests() throws {
        let slide = try Slide(path: SlidePaths.boxes)
        guard case .invalidRequest(_, let detail)? = slideError({ try slide.readRegion(x: 0, y: 0, level: 4, width: 1, height: 1) }) else {
            Issue.record("level 4 does not exist")
            return
        }
        #expect(detail.contains("levels 0…3"))
        guard case .invalidRequest? = slideError({ try slide.readRegion(x: 0, y: 0, level: 0, width: -1, height: 1) }) else {
            Issue.record("a negative width is invalid")
            return
        }
        let empty = try slide.readRegion(x: 0, y: 0, level: 0, width: 0, height: 5)
        #expect(empty.width == 0 && empty.pixels.isEmpty)
        #expect(slide.isUsable)
    }

    @Test("16 tasks, each with its own Slide, read pixels identical to a sequential read (H9)")
    func concurrentReaders() async throws {
        let path = SlidePaths.cmu
        let tiles = (0..<48).map { index in (x: (index * 397) % 1900, y: (index * 613) % 2700, level: 0) }
        let sequential = try Slide(path: path)
        let expected = try tiles.map { pixelHash(try sequential.readRegion(x: $0.x, y: $0.y, level: $0.level, width: 224, height: 224)) }
        let results = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for task in 0..<16 {
                group.addTask {
                    let slide = try Slide(path: path)
                    // Each task reads every tile, starting at a different one.
                    let hashes = try (0..<tiles.count).map { step in
                        let tile = tiles[(step + task * 3) % tiles.count]
                        return pixelHash(try slide.readRegion(x: tile.x, y: tile.y, level: tile.level, width: 224, height: 224))
                    }
                    return (task, hashes)
                }
            }
            var all: [(Int, [UInt64])] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 16)
        for (task, hashes) in results {
            let wanted = (0..<tiles.count).map { expected[($0 + task * 3) % tiles.count] }
            #expect(hashes == wanted, "task \(task)'s hashes match the sequential read")
        }
    }

    @Test("one Slide shared by 8 tasks also reads identical pixels (OpenSlide is thread-safe)")
    func sharedHandle() async throws {
        let slide = try Slide(path: SlidePaths.tcga)
        let expected = pixelHash(try slide.readRegion(x: 512, y: 512, level: 1, width: 256, height: 256))
        let hashes = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for _ in 0..<8 {
                group.addTask { pixelHash(try slide.readRegion(x: 512, y: 512, level: 1, width: 256, height: 256)) }
            }
            var all: [UInt64] = []
            for try await hash in group { all.append(hash) }
            return all
        }
        #expect(hashes == Array(repeating: expected, count: 8))
    }
}
