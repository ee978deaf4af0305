import ImageOps
import Testing
@testable import SlideIO

/// A level decoded once gives the same thumbnail and the same regions as reading through OpenSlide.
@Suite("Level raster")
struct LevelRasterTests {
    @Test("CMU-1-Small-Region level 0: regions equal direct reads, also where they leave the slide")
    func cmuRegions() throws {
        let slide = try Slide(path: SlidePaths.cmu)
        let raster = try LevelRaster(slide: slide, level: 0)
        #expect(raster.image.width == 2220 && raster.image.height == 2967 && raster.downsample == 1)
        for (x, y, side) in [(0, 0, 224), (1000, 1500, 224), (1996, 2743, 224), (2100, 2900, 224), (-10, -20, 64), (2200, 50, 40)] {
            let direct = try slide.readRegion(x: x, y: y, level: 0, width: side, height: side)
            #expect(raster.region(levelX: x, levelY: y, width: side, height: side) == direct, "region at (\(x), \(y))")
        }
        // Entirely outside: the background colour.
        let outside = raster.region(levelX: 5000, levelY: 5000, width: 4, height: 4)
        #expect(outside == RGBImage(width: 4, height: 4, fill: (slide.backgroundColor.r, slide.backgroundColor.g, slide.backgroundColor.b)))
    }

    @Test("the thumbnail from a raster equals the thumbnail read in strips", arguments: [
        (SlidePaths.cmu, 512, 0), (SlidePaths.cmu, 2048, 0), (SlidePaths.tcga, 2048, 1),
    ])
    func thumbnailFromRaster(_ path: String, _ side: Int, _ level: Int) throws {
        let slide = try Slide(path: path)
        #expect(slide.thumbnailLevel(maxSide: side) == level)
        let raster = try LevelRaster(slide: slide, level: level)
        let fromRaster = try slide.thumbnail(maxSide: side, from: raster)
        let read = try slide.thumbnail(maxSide: side)
        #expect(fromRaster.image == read.image)
        #expect(fromRaster.level == read.level && fromRaster.level0PerPixelX == read.level0PerPixelX)
        #expect(fromRaster.stripsRead == 0)
    }

    @Test("shared only when the thumbnail comes from the tile level and the level fits the budget")
    func sharedDecision() throws {
        let slide = try Slide(path: SlidePaths.tcga)   // 4443 × 3567, level 1 2221 × 1783
        let bytes = LevelRaster.bytes(width: 2221, height: 1783)
        #expect(try LevelRaster.sharedByThumbnailAndTiles(slide: slide, tileLevel: 1, thumbnailSide: 2048, budget: bytes)?.level == 1)
        #expect(try LevelRaster.sharedByThumbnailAndTiles(slide: slide, tileLevel: 1, thumbnailSide: 2048, budget: bytes - 1) == nil)
        #expect(try LevelRaster.sharedByThumbnailAndTiles(slide: slide, tileLevel: 0, thumbnailSide: 2048, budget: 1 << 30) == nil)
        // A raster of another level is refused for the thumbnail.
        let level0 = try LevelRaster(slide: slide, level: 0)
        guard case .invalidRequest? = slideError({ try slide.thumbnail(maxSide: 2048, from: level0) }) else {
            Issue.record("expected invalidRequest")
            return
        }
        #expect(slideError { try LevelRaster(slide: slide, level: 2) } != nil)
    }
}
