import Foundation
import ImageOps
import Testing

@testable import SlideIO

@Suite("Tile tissue fractions from the mask: exact area weighting, holes (B2), per-axis scale (L7)")
struct TileGridTissueTests {
    @Test("fractions are exact overlap areas of mask pixels")
    func exactArea() {
        // 4 × 4 mask, 100 level-0 px per mask px; tissue at mask pixels (0, 0) and (1, 0).
        var values = [UInt8](repeating: 0, count: 16)
        values[0] = 1
        values[1] = 1
        let coverage = TissueCoverage(mask: TissueMask(width: 4, height: 4, values: values,
                                                       frame: ThumbnailFrame(level0PerPixel: 100)))
        // [0, 150)²: pixel (0,0) whole (1.0) + half of (1,0) (0.5) = 1.5 of 2.25 mask px² → 2/3.
        #expect(abs(coverage.fraction(x: 0, y: 0, width: 150, height: 150) - 1.5 / 2.25) < 1e-12)
        // [50, 100) × [0, 100): inside pixel (0,0) → 1.
        #expect(coverage.fraction(x: 50, y: 0, width: 50, height: 100) == 1)
        // [150, 250) × [50, 150): x half in pixel 1 (tissue), half in 2; y half in row 0, half in row 1 → 0.25.
        #expect(abs(coverage.fraction(x: 150, y: 50, width: 100, height: 100) - 0.25) < 1e-12)
        // A rectangle partly outside the mask: the outside is background.
        #expect(abs(coverage.fraction(x: -100, y: 0, width: 200, height: 100) - 0.5) < 1e-12)
        #expect(coverage.fraction(x: 1000, y: 1000, width: 50, height: 50) == 0)
        #expect(coverage.fraction(x: 0, y: 0, width: 0, height: 50) == 0)
    }

    @Test("a white hole inside tissue is not tissue: tiles over the hole are rejected (B2)")
    func holesB2() throws {
        // Mask 30 × 30 at 64 level-0 px/px: tissue everywhere but a 20 × 20 hole at (5, 5).
        var values = [UInt8](repeating: 1, count: 900)
        for y in 5 ..< 25 { for x in 5 ..< 25 { values[y * 30 + x] = 0 } }
        let mask = TissueMask(width: 30, height: 30, values: values, frame: ThumbnailFrame(level0PerPixel: 64))
        let grid = try TileGrid(slideWidth: 1920, slideHeight: 1920, slideMPP: 0.25)  // 448 = 7 mask px
        let tiles = try grid.tiles(mask: mask)
        #expect(tiles.count == 16)
        let inside = tiles.first { $0.column == 1 && $0.row == 1 }!  // mask px 7…14: in the hole
        #expect(inside.tissueFraction == 0 && !inside.kept)
        let corner = tiles.first { $0.column == 0 && $0.row == 0 }!  // 49 px minus the hole's 2 × 2 corner
        #expect(abs(corner.tissueFraction - 45.0 / 49) < 1e-12 && corner.kept)

        // End to end: a tissue annulus with a white hole larger than the cleanup's hole limit.
        let glass: (UInt8, UInt8, UInt8) = (242, 240, 245)
        let image = TissueTestData.canvas(width: 60, height: 60, background: glass, rectangles: [
            (0, 0, 60, 60, (222, 140, 190)), (15, 15, 30, 30, glass),
        ])
        let frame = ThumbnailFrame(level0PerPixel: 32)  // hole: 900 px ≥ 256 px → kept as background
        let detected = try SaturationOtsuDetector().detect(in: image, frame: frame).mask
        let annulus = try TileGrid(slideWidth: 1920, slideHeight: 1920, slideMPP: 0.25, tileSize: 112)  // 224 = 7 px
        let hole = try annulus.tiles(mask: detected).filter { $0.x >= 15 * 32 && $0.x + 224 <= 45 * 32 && $0.y >= 15 * 32 && $0.y + 224 <= 45 * 32 }
        #expect(!hole.isEmpty && hole.allSatisfy { $0.tissueFraction == 0 && !$0.kept })
    }

    @Test("per-axis mask scale: a square at known level-0 coordinates lands on the right tiles (L7)")
    func perAxisScaleL7() throws {
        // Level 0 is 10 000 × 10 000; the mask is 100 × 50, so 100 level-0 px per mask px on x but 200 on y.
        // Tissue: the level-0 square [4000, 6000)².
        let frame = ThumbnailFrame(regionWidth: 10_000, regionHeight: 10_000, thumbnailWidth: 100, thumbnailHeight: 50)
        var values = [UInt8](repeating: 0, count: 100 * 50)
        for y in 20 ..< 30 { for x in 40 ..< 60 { values[y * 100 + x] = 1 } }
        let mask = TissueMask(width: 100, height: 50, values: values, frame: frame)
        let grid = try TileGrid(slideWidth: 10_000, slideHeight: 10_000, slideMPP: 0.5, tileSize: 1000)
        let kept = try grid.keptTiles(mask: mask, minimumTissue: 0.99)
        #expect(kept.map { [$0.x, $0.y] } == [[4000, 4000], [5000, 4000], [4000, 5000], [5000, 5000]])
        #expect(try grid.tiles(mask: mask).filter { $0.tissueFraction > 0 }.count == 4)
        // With one nominal scale (100 on both axes) the same mask would put the square at y 2000…3000.
        let nominal = TissueMask(width: 100, height: 50, values: values, frame: ThumbnailFrame(level0PerPixel: 100))
        #expect(try grid.keptTiles(mask: nominal, minimumTissue: 0.99).map(\.y) == [2000, 2000])
    }
}
