import Foundation
import Testing

@testable import SlideIO

@Suite("Tile grid: counts, level-0 coordinates, overlap, edges, bounds")
struct TileGridTests {
    @Test("defaults are 224 px at 0.5 µm/px, no overlap, drop, min tissue 0.5")
    func defaults() throws {
        let grid = try TileGrid(slideWidth: 1000, slideHeight: 800, slideMPP: 0.25)
        #expect(grid.tileSize == 224 && grid.targetMPP == 0.5 && grid.overlap == 0 && grid.edgePolicy == .drop)
        #expect(grid.extent == 448 && grid.stride == 448 && grid.readExtent == 448)
        // A tile exactly half tissue is kept at the default 0.5 (the comparison is ≥).
        let mask = TissueMask(width: 2, height: 2, values: [1, 0, 1, 0], frame: ThumbnailFrame(level0PerPixel: 224))
        let tiles = try grid.tiles(mask: mask)
        #expect(tiles.first?.tissueFraction == 0.5 && tiles.first?.kept == true)
    }

    @Test("counts and coordinates under drop, pad and shift (1000 × 800 px at 0.25 µm/px, 448-px tiles)")
    func edgePolicies() throws {
        let drop = try TileGrid(slideWidth: 1000, slideHeight: 800, slideMPP: 0.25, edgePolicy: .drop)
        #expect(drop.columns == 2 && drop.rows == 1 && drop.count == 2)
        #expect(try drop.tiles(mask: nil).map { [$0.x, $0.y] } == [[0, 0], [448, 0]])
        #expect(try drop.tiles(mask: nil).allSatisfy { $0.padFraction == 0 && $0.tissueFraction == 1 })

        let pad = try TileGrid(slideWidth: 1000, slideHeight: 800, slideMPP: 0.25, edgePolicy: .pad)
        #expect(pad.columns == 3 && pad.rows == 2)
        let padded = try pad.tiles(mask: nil)
        #expect(padded.map { [$0.column, $0.row, $0.x, $0.y] } == [
            [0, 0, 0, 0], [1, 0, 448, 0], [2, 0, 896, 0], [0, 1, 0, 448], [1, 1, 448, 448], [2, 1, 896, 448],
        ])
        #expect(padded.allSatisfy { $0.readExtent == 448 })
        #expect(padded[0].padFraction == 0 && padded[1].padFraction == 0)
        #expect(abs(padded[2].padFraction - (1 - 104.0 / 448)) < 1e-12)
        #expect(abs(padded[3].padFraction - (1 - 352.0 / 448)) < 1e-12)
        #expect(abs(padded[5].padFraction - (1 - 104.0 * 352 / (448 * 448))) < 1e-12)
        // Without a mask a tile's tissue is its part inside the slide: padding is never tissue.
        #expect(abs(padded[5].tissueFraction - 104.0 * 352 / (448 * 448)) < 1e-12)

        let shift = try TileGrid(slideWidth: 1000, slideHeight: 800, slideMPP: 0.25, edgePolicy: .shift)
        #expect(try shift.tiles(mask: nil).map { [$0.x, $0.y] } == [
            [0, 0], [448, 0], [552, 0], [0, 352], [448, 352], [552, 352],
        ])
        #expect(try shift.tiles(mask: nil).allSatisfy { $0.padFraction == 0 && $0.x + 448 <= 1000 && $0.y + 448 <= 800 })
    }

    @Test("overlap shortens the stride and never enlarges the tile: 512 with overlap 16 stays 512 (L6)")
    func overlapL6() throws {
        for policy in TileGrid.EdgePolicy.allCases {
            let grid = try TileGrid(slideWidth: 2000, slideHeight: 1500, slideMPP: 0.5, tileSize: 512, targetMPP: 0.5,
                                    overlap: 16, edgePolicy: policy)
            #expect(grid.extent == 512 && grid.stride == 496 && grid.readExtent == 512)
            let tiles = try grid.tiles(mask: nil)
            #expect(tiles.allSatisfy { $0.readExtent == 512 }, "\(policy)")
            // (2000 − 512) / 496 = 3 exactly: four columns fit, none padded or shifted.
            #expect(Array(Set(tiles.map(\.x))).sorted() == [0, 496, 992, 1488], "\(policy)")
            let ys = Array(Set(tiles.map(\.y))).sorted()
            switch policy {
            case .drop: #expect(ys == [0, 496])
            case .pad: #expect(ys == [0, 496, 992])
            case .shift: #expect(ys == [0, 496, 988])
            }
            for tile in tiles {
                let onPaddedEdge = policy == .pad && tile.y == 992
                #expect((tile.padFraction > 0) == onPaddedEdge, "\(policy) \(tile)")
            }
        }
        // Overlap in px at the target resolution: on a 0.25 µm/px slide at 0.5 µm/px it is 32 level-0 px.
        let fine = try TileGrid(slideWidth: 5000, slideHeight: 5000, slideMPP: 0.25, tileSize: 512, overlap: 16)
        #expect(fine.extent == 1024 && fine.stride == 992 && fine.x(column: 1) == 992)
    }

    @Test("bounds: tiles stay inside the region, coordinates stay absolute level-0 (L5)")
    func boundsL5() throws {
        let grid = try TileGrid(slideWidth: 200_000, slideHeight: 200_000, slideMPP: 0.25,
                                regionX: 40_000, regionY: 60_000, regionWidth: 60_000, regionHeight: 60_000)
        #expect(grid.columns == 133 && grid.rows == 133)
        let tiles = try grid.tiles(mask: nil, minimumTissue: 0)
        #expect(tiles.first.map { [$0.x, $0.y] } == [40_000, 60_000])
        #expect(tiles.last.map { [$0.x, $0.y] } == [40_000 + 132 * 448, 60_000 + 132 * 448])
        #expect(tiles.allSatisfy {
            $0.x >= 40_000 && $0.y >= 60_000 && $0.x + $0.readExtent <= 100_000 && $0.y + $0.readExtent <= 120_000
        })
        // A mask of the bounds only (origin at the bounds) lines up with absolute tile coordinates.
        var values = [UInt8](repeating: 0, count: 600 * 600)
        values[0] = 1  // the first 100 × 100 level-0 px of the bounds
        let mask = TissueMask(width: 600, height: 600, values: values,
                              frame: ThumbnailFrame(level0PerPixel: 100, originX: 40_000, originY: 60_000))
        let first = try grid.tiles(mask: mask, minimumTissue: 0)[0]
        #expect(abs(first.tissueFraction - 100.0 * 100 / (448 * 448)) < 1e-12)
    }

    @Test("non-integer scale (0.499 µm/px): extent 224.449, positions round(i × stride), no drift")
    func nonIntegerScale() throws {
        let grid = try TileGrid(slideWidth: 2220, slideHeight: 2967, slideMPP: 0.499)
        #expect(abs(grid.extent - 224.0 * 0.5 / 0.499) < 1e-12)
        #expect(grid.readExtent == 224)
        #expect(grid.columns == 9 && grid.rows == 13)
        #expect((0 ..< 9).map { grid.x(column: $0) } == [0, 224, 449, 673, 898, 1122, 1347, 1571, 1796])
        #expect(grid.y(row: 12) == Int((12 * 224.0 * 0.5 / 0.499).rounded()))
        #expect(try grid.tiles(mask: nil).allSatisfy { $0.x + 224 <= 2220 && $0.y + 224 <= 2967 })
        // A scale that rounds the read square up: 0.2631 µm/px → extent 425.69 → read 426.
        let other = try TileGrid(slideWidth: 5000, slideHeight: 5000, slideMPP: 0.2631)
        #expect(other.readExtent == 426 && other.columns == Int(((5000 - other.extent) / other.stride).rounded(.down)) + 1)
    }

    @Test("a slide smaller than a tile gives zero tiles, or one padded tile with pad, at once (T5)")
    func smallerThanATile() throws {
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let tiny = try TileGrid(slideWidth: 16, slideHeight: 16, slideMPP: 0.499, edgePolicy: .drop)
            #expect(try tiny.count == 0 && tiny.tiles(mask: nil).isEmpty)
            #expect(try TileGrid(slideWidth: 16, slideHeight: 16, slideMPP: 0.499, edgePolicy: .shift).count == 0)
            let padded = try TileGrid(slideWidth: 16, slideHeight: 16, slideMPP: 0.499, edgePolicy: .pad)
            let tiles = try padded.tiles(mask: nil, minimumTissue: 0)
            #expect(tiles.count == 1 && tiles[0].x == 0 && tiles[0].y == 0 && tiles[0].readExtent == 224)
            #expect(abs(tiles[0].padFraction - (1 - 256.0 / (224 * 224))) < 1e-12)
            // histolab #192: 300 × 300 slide, 512-px tiles.
            #expect(try TileGrid(slideWidth: 300, slideHeight: 300, slideMPP: 0.5, tileSize: 512).count == 0)
            #expect(try TileGrid(slideWidth: 300, slideHeight: 300, slideMPP: 0.5, tileSize: 512, edgePolicy: .pad).count == 1)
            // An empty slide or region: nothing, under every policy.
            for policy in TileGrid.EdgePolicy.allCases {
                #expect(try TileGrid(slideWidth: 0, slideHeight: 0, slideMPP: 0.5, edgePolicy: policy).count == 0)
                #expect(try TileGrid(slideWidth: 900, slideHeight: 900, slideMPP: 0.5, edgePolicy: policy,
                                     regionX: 100, regionY: 100, regionWidth: 0, regionHeight: 500).count == 0)
            }
        }
        #expect(elapsed < .seconds(2))
    }

    @Test("zero tissue gives no kept tiles and no error; all tissue keeps the full grid (T4)")
    func zeroAndAllTissue() throws {
        let grid = try TileGrid(slideWidth: 4480, slideHeight: 2240, slideMPP: 0.25)
        let frame = ThumbnailFrame(regionWidth: 4480, regionHeight: 2240, thumbnailWidth: 140, thumbnailHeight: 70)
        let empty = TissueMask(width: 140, height: 70, filled: false, frame: frame)
        let tiles = try grid.tiles(mask: empty)
        #expect(tiles.count == 50 && tiles.allSatisfy { !$0.kept && $0.tissueFraction == 0 })
        #expect(try grid.keptTiles(mask: empty).isEmpty)
        let full = TissueMask(width: 140, height: 70, filled: true, frame: frame)
        #expect(try grid.keptTiles(mask: full).count == 50)
        #expect(try grid.tiles(mask: full).allSatisfy { $0.tissueFraction == 1 })
        // Min tissue 0 keeps even empty tiles.
        #expect(try grid.keptTiles(mask: empty, minimumTissue: 0).count == 50)
    }

    @Test("invalid parameters are errors naming the value")
    func errors() throws {
        #expect(throws: TileGridError.invalidTileSize(0)) { try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0.5, tileSize: 0) }
        #expect(throws: TileGridError.invalidOverlap(overlap: 224, tileSize: 224)) {
            try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0.5, overlap: 224)
        }
        #expect(throws: TileGridError.invalidOverlap(overlap: -1, tileSize: 224)) {
            try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0.5, overlap: -1)
        }
        #expect(throws: TileGridError.self) { try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0) }
        #expect(throws: TileGridError.self) { try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: .nan) }
        #expect(throws: TileGridError.self) { try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0.5, targetMPP: -1) }
        #expect(throws: TileGridError.invalidSlideSize(width: -1, height: 10)) {
            try TileGrid(slideWidth: -1, slideHeight: 10, slideMPP: 0.5)
        }
        #expect(throws: TileGridError.regionOutsideSlide(x: 5, y: 0, width: 10, height: 10, slideWidth: 10, slideHeight: 10)) {
            try TileGrid(slideWidth: 10, slideHeight: 10, slideMPP: 0.5, regionX: 5, regionWidth: 10, regionHeight: 10)
        }
        #expect(throws: TileGridError.self) {
            try TileGrid(slideWidth: 200_000, slideHeight: 200_000, slideMPP: 0.25, targetMPP: 0.0001)
        }
        let grid = try TileGrid(slideWidth: 1000, slideHeight: 1000, slideMPP: 0.5)
        #expect(throws: TileGridError.invalidMinimumTissue(1.5)) { try grid.tiles(mask: nil, minimumTissue: 1.5) }
        #expect("\(TileGridError.invalidOverlap(overlap: 300, tileSize: 224))".contains("300"))
    }
}
