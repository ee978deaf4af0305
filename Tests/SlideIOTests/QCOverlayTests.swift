import Foundation
import ImageOps
import Testing

@testable import SlideIO

@Suite("QC thumbnail: mask tint and tile outlines, written as PNG")
struct QCOverlayTests {
    static let white: (UInt8, UInt8, UInt8) = (255, 255, 255)

    /// A 40 × 30 white thumbnail at 10 level-0 px per px; tissue in mask columns 0…24.
    static func fixture() throws -> (RGBImage, ThumbnailFrame, TissueMask, [TileGrid.Tile]) {
        let frame = ThumbnailFrame(level0PerPixel: 10)
        let thumbnail = TissueTestData.canvas(width: 40, height: 30, background: white)
        var values = [UInt8](repeating: 0, count: 40 * 30)
        for y in 0 ..< 30 { for x in 0 ..< 25 { values[y * 40 + x] = 1 } }
        let mask = TissueMask(width: 40, height: 30, values: values, frame: frame)
        // 100-level-0-px tiles (10 thumbnail px): columns 0–1 tissue, 2 half, 3 none.
        let grid = try TileGrid(slideWidth: 400, slideHeight: 300, slideMPP: 0.5, tileSize: 100)
        return (thumbnail, frame, mask, try grid.tiles(mask: mask, minimumTissue: 0.75))
    }

    @Test("tint on tissue only; kept tiles green, rejected with tissue red, empty rejected not drawn")
    func render() throws {
        let (thumbnail, frame, mask, tiles) = try Self.fixture()
        #expect(tiles.filter(\.kept).count == 6)  // columns 0 and 1, three rows
        let style = QCOverlay.Style()
        let image = QCOverlay.render(thumbnail: thumbnail, frame: frame, mask: mask, tiles: tiles, style: style)
        #expect(image.width == 40 && image.height == 30)
        // Interior pixels: tinted over tissue (35 % towards blue), untouched over glass.
        let tinted = image[5, 5]
        // Weight round(0.35 · 256) = 90: (255 · 166 + c · 90 + 128) >> 8 for c = 0, 90, 255 → 165, 197, 255.
        #expect(tinted.r == 165 && tinted.g == 197 && tinted.b == 255)
        #expect(image[35, 5] == (255, 255, 255))
        // Tile outlines: kept (0, 0) → green border at x = 0 and x = 9; rejected half-tissue column 2 → red.
        #expect(image[0, 4] == (0, 190, 0) && image[9, 4] == (0, 190, 0) && image[4, 0] == (0, 190, 0))
        #expect(image[20, 4] == (230, 0, 0) && image[29, 4] == (230, 0, 0))
        // Column 3 has no tissue and is rejected: not outlined by default, outlined when asked.
        #expect(image[30, 4] == (255, 255, 255))
        var everything = style
        everything.outlinesEmptyRejectedTiles = true
        let all = QCOverlay.render(thumbnail: thumbnail, frame: frame, mask: mask, tiles: tiles, style: everything)
        #expect(all[30, 4] == (230, 0, 0))
        #expect(image[19, 4] == (0, 190, 0))  // right edge of kept column 1
    }

    @Test("write: the PNG on disk is the returned image; errors name the file")
    func write() throws {
        let (thumbnail, frame, mask, tiles) = try Self.fixture()
        let directory = try TissueTestData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("slide.qc.png").path
        let written = try QCOverlay.write(thumbnail: thumbnail, frame: frame, mask: mask, tiles: tiles, to: path)
        #expect(try PNGImage.read(path: path) == written)
        let missing = directory.appendingPathComponent("nope/slide.qc.png").path
        #expect {
            try QCOverlay.write(thumbnail: thumbnail, frame: frame, mask: mask, tiles: tiles, to: missing)
        } throws: { error in "\(error)".contains(missing) }
    }

    @Test("a mask at another resolution and a bounds origin are placed through level-0 coordinates (L5, L7)")
    func placement() throws {
        // Thumbnail of the whole 400 × 300 slide at 10 px/px; mask of the bounds (200, 100, 200 × 200) at 20 px/px.
        let frame = ThumbnailFrame(level0PerPixel: 10)
        let thumbnail = TissueTestData.canvas(width: 40, height: 30, background: Self.white)
        let mask = TissueMask(width: 10, height: 10, filled: true,
                              frame: ThumbnailFrame(level0PerPixel: 20, originX: 200, originY: 100))
        let image = QCOverlay.render(thumbnail: thumbnail, frame: frame, mask: mask, tiles: [])
        for y in 0 ..< 30 {
            for x in 0 ..< 40 {
                let inside = x >= 20 && y >= 10  // thumbnail px whose centre lies in the bounds
                #expect((image[x, y] != (255, 255, 255)) == inside, "(\(x), \(y))")
            }
        }
    }
}
