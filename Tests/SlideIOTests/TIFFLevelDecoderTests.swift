import CTIFF
import Foundation
import ImageOps
import Testing
@testable import SlideIO

/// Levels decoded straight from TIFF tiles (libjpeg-turbo, OpenJPEG) equal OpenSlide's composited reads byte for
/// byte; what the decoder does not cover falls back to OpenSlide; a bad tile is an error naming slide and tile.
@Suite("TIFF level decoder")
struct TIFFLevelDecoderTests {
    @Test("every level of the Aperio samples equals OpenSlide's read of the whole level, byte for byte", arguments: [
        (SlidePaths.cmu, 0),      // JPEG, Photometric YCbCr, 240 px tiles with clipped right and bottom edges
        (SlidePaths.tcga, 0),     // JPEG 2000 (33003, YCbCr, chroma at half width), read in 4 OpenSlide strips
        (SlidePaths.tcga, 1),     // the same, downsample 2.0005
        (SlidePaths.small16, 0),  // a 16 × 16 level inside one 64 × 64 tile
    ])
    func equalsOpenSlide(_ path: String, _ level: Int) throws {
        let slide = try Slide(path: path)
        #expect(slide.levelCount == (path == SlidePaths.tcga ? 2 : 1))
        let decoded = try #require(try TIFFLevelDecoder.decode(slide: slide, level: level))
        let viaOpenSlide = try LevelRaster(slide: slide, level: level, allowTIFFDecoder: false)
        #expect(viaOpenSlide.decoder == .openSlide)
        #expect(decoded.width == slide.levels[level].width && decoded.height == slide.levels[level].height)
        #expect(decoded == viaOpenSlide.image, "mean |Δ| \(meanAbsoluteDifference(decoded, viaOpenSlide.image))")
        let raster = try LevelRaster(slide: slide, level: level)
        #expect(raster.decoder == .tiff)
        #expect(raster.image == viaOpenSlide.image)
    }

    @Test("regions across tile corners equal direct OpenSlide reads composited independently")
    func tileCorners() throws {
        for (path, x, y) in [(SlidePaths.cmu, 1180, 1420), (SlidePaths.tcga, 1000, 500)] {
            let slide = try Slide(path: path)
            let decoded = try #require(try TIFFLevelDecoder.decode(slide: slide, level: 0))
            let direct = try DirectOpenSlide.read(path: path, x: Int64(x), y: Int64(y), level: 0, width: 64, height: 64)
            var crop = [UInt8]()
            for row in y ..< y + 64 {
                let start = (row * decoded.width + x) * 3
                crop += decoded.pixels[start ..< start + 64 * 3]
            }
            #expect(RGBImage(width: 64, height: 64, pixels: crop) == direct, "\(path) at (\(x), \(y))")
        }
    }

    @Test("a generic TIFF written by libtiff's JPEG codec (YCbCr 2×2 and RGB levels, edge tiles) equals OpenSlide")
    func genericJPEG() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiff-level-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("jpeg-pyramid.tiff").path
        try writeJPEGPyramid(path: path, levels: [(300, 200, true), (150, 100, false)])
        let slide = try Slide(path: path)
        #expect(slide.vendor == "generic-tiff" && slide.levelCount == 2)
        for level in 0 ..< 2 {
            let decoded = try #require(try TIFFLevelDecoder.decode(slide: slide, level: level))
            let viaOpenSlide = try LevelRaster(slide: slide, level: level, allowTIFFDecoder: false)
            #expect(decoded == viaOpenSlide.image, "level \(level): mean |Δ| \(meanAbsoluteDifference(decoded, viaOpenSlide.image))")
            #expect(try LevelRaster(slide: slide, level: level).decoder == .tiff)
        }
    }

    /// A tiled JPEG TIFF, 64 px tiles: per level (width, height, YCbCr with 2×2 chroma or else RGB); level 1 on is
    /// a reduced-resolution image. Pixels: gradients and a checker pattern, so chroma and edges matter.
    private func writeJPEGPyramid(path: String, levels: [(Int, Int, Bool)]) throws {
        let messages = UnsafeMutablePointer<ctiff_messages>.allocate(capacity: 1)
        messages.initialize(to: ctiff_messages())
        defer { messages.deallocate() }
        let tiff = try #require(ctiff_create(path, messages))
        defer { TIFFClose(tiff) }
        let tile = 64
        for (index, (width, height, yCbCr)) in levels.enumerated() {
            if index > 0 { #expect(ctiff_set_u32(tiff, UInt32(TIFFTAG_SUBFILETYPE), UInt32(FILETYPE_REDUCEDIMAGE)) == 1) }
            for (tag, value) in [(TIFFTAG_IMAGEWIDTH, width), (TIFFTAG_IMAGELENGTH, height), (TIFFTAG_TILEWIDTH, tile), (TIFFTAG_TILELENGTH, tile)] {
                #expect(ctiff_set_u32(tiff, UInt32(tag), UInt32(value)) == 1)
            }
            for (tag, value) in [(TIFFTAG_BITSPERSAMPLE, 8), (TIFFTAG_SAMPLESPERPIXEL, 3), (TIFFTAG_PLANARCONFIG, Int(PLANARCONFIG_CONTIG)),
                                 (TIFFTAG_COMPRESSION, Int(COMPRESSION_JPEG)),
                                 (TIFFTAG_PHOTOMETRIC, Int(yCbCr ? PHOTOMETRIC_YCBCR : PHOTOMETRIC_RGB))] {
                #expect(ctiff_set_int(tiff, UInt32(tag), Int32(value)) == 1)
            }
            if yCbCr {
                #expect(ctiff_set_ycbcr_subsampling(tiff, 2, 2) == 1)
                #expect(ctiff_set_int(tiff, UInt32(TIFFTAG_JPEGCOLORMODE), JPEGCOLORMODE_RGB) == 1)
            }
            #expect(ctiff_set_int(tiff, UInt32(TIFFTAG_JPEGQUALITY), 90) == 1)
            var buffer = [UInt8](repeating: 0, count: tile * tile * 3)
            for y0 in stride(from: 0, to: height, by: tile) {
                for x0 in stride(from: 0, to: width, by: tile) {
                    for y in 0 ..< tile {
                        for x in 0 ..< tile {
                            let (gx, gy) = (x0 + x, y0 + y)
                            let checker = ((gx / 7 + gy / 5) % 2) * 60
                            let offset = (y * tile + x) * 3
                            buffer[offset] = UInt8((gx * 255 / width + checker) % 256)
                            buffer[offset + 1] = UInt8((gy * 255 / height) % 256)
                            buffer[offset + 2] = UInt8((128 + gx - gy + checker + 512) % 256)
                        }
                    }
                    let number = TIFFComputeTile(tiff, UInt32(x0), UInt32(y0), 0, 0)
                    let written = buffer.withUnsafeMutableBytes { TIFFWriteEncodedTile(tiff, number, $0.baseAddress, tmsize_t($0.count)) }
                    #expect(written >= 0)
                }
            }
            #expect(TIFFWriteDirectory(tiff) == 1)
        }
        let message = withUnsafeBytes(of: messages.pointee.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        #expect(message.isEmpty, "libtiff: \(message)")
    }

    @Test("slides and levels the decoder does not cover give nil, and LevelRaster reads them through OpenSlide")
    func notCovered() throws {
        // Generic TIFF with deflate tiles (OpenSlide decodes those through TIFFRGBAImage).
        let boxes = try Slide(path: SlidePaths.boxes)
        #expect(boxes.vendor == "generic-tiff")
        for level in 0 ..< boxes.levelCount {
            #expect(try TIFFLevelDecoder.decode(slide: boxes, level: level) == nil)
            let raster = try LevelRaster(slide: boxes, level: level)
            #expect(raster.decoder == .openSlide)
        }
        // Another vendor.
        let ndpi = try Slide(path: SlidePaths.ndpi)
        #expect(try TIFFLevelDecoder.decode(slide: ndpi, level: 0) == nil)
        // A level out of range.
        let cmu = try Slide(path: SlidePaths.cmu)
        #expect(try TIFFLevelDecoder.decode(slide: cmu, level: 1) == nil)
    }

    @Test("OpenSlide strips that start between level pixels keep LevelRaster on OpenSlide")
    func stripAlignment() {
        // tcga level 1: 1783 rows at downsample 2.0005…: one strip of 1783 rows starts at row 0.
        let tcga = 2.0005055500659967
        #expect(LevelRaster.stripsStartOnLevelPixels(height: 1783, rows: 1783, downsample: tcga))
        // In strips of 100 rows, row 100 is read at level-0 y = 200, which OpenSlide maps to row 99.97.
        #expect(!LevelRaster.stripsStartOnLevelPixels(height: 1783, rows: 100, downsample: tcga))
        #expect(LevelRaster.stripsStartOnLevelPixels(height: 1783, rows: 100, downsample: 4))
        #expect(LevelRaster.stripsStartOnLevelPixels(height: 3567, rows: 944, downsample: 1))
    }

    @Test("a tile that does not decode: readFailed naming the slide and the tile, with libjpeg's message as OpenSlide's")
    func corruptTile() throws {
        let slide = try Slide(path: SlidePaths.unreadable)
        guard case .readFailed(let path, let x, let y, let level, let detail)? = slideError({ try LevelRaster(slide: slide, level: 0) }) else {
            Issue.record("expected readFailed")
            return
        }
        #expect(path == SlidePaths.unreadable && x == 0 && y == 0 && level == 0)
        #expect(detail == "TIFF directory 0, tile column 0, row 0: Bogus marker length")
        // OpenSlide's own read of the same level fails with the same libjpeg message.
        let other = try Slide(path: SlidePaths.unreadable)
        guard case .readFailed(_, _, _, _, let openSlideDetail)? = slideError({ try LevelRaster(slide: other, level: 0, allowTIFFDecoder: false) }) else {
            Issue.record("expected readFailed from OpenSlide")
            return
        }
        #expect(openSlideDetail == "Bogus marker length")
    }
}
