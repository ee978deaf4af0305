import Foundation
import ImageOps
import Testing

@testable import SlideIO

/// Synthetic thumbnails: glass ≈ (242, 240, 245), H&E-like pink/purple tissue, pen strokes, black padding.
/// The frame is 32 level-0 px per thumbnail px (a typical thumbnail scale), so the default cleanup removes
/// components and fills holes under 512² / 32² = 256 thumbnail px.
@Suite("Tissue detection: saturation + Otsu with artefact filters (synthetic thumbnails and real slides)")
struct TissueDetectorTests {
    static let glass: (UInt8, UInt8, UInt8) = (242, 240, 245)
    static let pink: (UInt8, UInt8, UInt8) = (222, 140, 190)
    static let purple: (UInt8, UInt8, UInt8) = (150, 95, 170)
    static let frame = ThumbnailFrame(level0PerPixel: 32)

    /// Fraction of the rectangle (x, y, w, h) that is tissue in the mask.
    private func fraction(_ mask: TissueMask, _ x: Int, _ y: Int, _ w: Int, _ h: Int) -> Double {
        var count = 0
        for row in y ..< y + h { for column in x ..< x + w where mask[column, row] { count += 1 } }
        return Double(count) / Double(w * h)
    }

    @Test("all glass gives zero tissue, not an Otsu split on noise (T4)")
    func allGlass() throws {
        var image = TissueTestData.canvas(width: 200, height: 150, background: Self.glass)
        TissueTestData.addNoise(&image, amplitude: 4, seed: 1)
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(result.status == .noTissue)
        #expect(result.mask.tissuePixelCount == 0)
        #expect(result.threshold! >= 8)
        #expect(result.background == .bright)
        #expect(result.mask.width == 200 && result.mask.height == 150 && result.mask.frame == Self.frame)
    }

    @Test("an image that is all tissue is all tissue, not split into pale and dark stain (T4)")
    func allTissue() throws {
        var image = TissueTestData.canvas(width: 120, height: 90, background: Self.pink,
                                          rectangles: [(0, 0, 60, 90, Self.purple)])
        TissueTestData.addNoise(&image, amplitude: 12, seed: 2)
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(result.status == .allTissue)
        #expect(result.threshold! < 30)
    }

    @Test("tissue on glass with black padding and red, green, blue and black pen strokes: only the tissue")
    func artefactsOnGlass() throws {
        var image = TissueTestData.canvas(width: 240, height: 160, background: Self.glass, rectangles: [
            (60, 40, 80, 70, Self.pink), (80, 55, 30, 25, Self.purple),  // tissue: 80 × 70 at (60, 40)
            (0, 0, 12, 160, (0, 0, 0)),  // black padding
            (160, 10, 70, 12, (40, 160, 140)),  // green pen
            (160, 40, 70, 12, (30, 60, 180)),  // blue pen
            (160, 70, 70, 12, (215, 30, 50)),  // red pen
            (160, 100, 70, 12, (30, 30, 35)),  // black pen
        ])
        TissueTestData.addNoise(&image, amplitude: 6, seed: 3)
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(result.status == .partialTissue)
        #expect(fraction(result.mask, 62, 42, 76, 66) == 1)  // the tissue, inset by the blur's reach
        let outside = result.mask.tissuePixelCount - Int(fraction(result.mask, 60, 40, 80, 70) * 5600)
        #expect(outside == 0, "tissue found outside the tissue rectangle")
        #expect(result.exclusions.pen >= 3 * 70 * 10)
        #expect(result.exclusions.black >= 12 * 160 + 70 * 10)
        #expect(result.exclusions.glass > 0)
    }

    @Test("tissue crossed by a pen stroke keeps its tissue; the ink itself is not tissue")
    func penOnTissue() throws {
        var image = TissueTestData.canvas(width: 200, height: 150, background: Self.glass, rectangles: [
            (40, 30, 120, 90, Self.pink),
            (40, 70, 120, 8, (40, 160, 140)),  // green pen across the tissue
        ])
        TissueTestData.addNoise(&image, amplitude: 6, seed: 4)
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(fraction(result.mask, 42, 32, 116, 36) == 1)  // above the stroke
        #expect(fraction(result.mask, 42, 80, 116, 38) == 1)  // below the stroke
        #expect(fraction(result.mask, 40, 71, 120, 6) == 0)  // the ink: never tissue (an 8 px band is no hole)
    }

    @Test("faint tissue (S ≈ 20) beside normally stained tissue is found; the threshold is recorded (T2)")
    func faintTissue() throws {
        var image = TissueTestData.canvas(width: 240, height: 120, background: (243, 242, 244), rectangles: [
            (20, 20, 80, 80, (236, 218, 230)),  // faint: S = 255·18/236 ≈ 19
            (140, 20, 80, 80, Self.pink),  // normal: S ≈ 94
        ])
        TissueTestData.addNoise(&image, amplitude: 2, seed: 5)
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(fraction(result.mask, 23, 23, 74, 74) == 1)
        #expect(fraction(result.mask, 143, 23, 74, 74) == 1)
        #expect(result.mask.tissuePixelCount <= 2 * 80 * 80)
        let threshold = try #require(result.threshold)
        #expect(threshold >= 8 && threshold < 19)
    }

    @Test("small specks are removed and small holes filled; a large white hole stays background (B2)")
    func cleanup() throws {
        // Without the median blur, so the cleanup alone acts: at 32 level-0 px per px, components under
        // 512² / 32² = 256 px are removed and holes under 128² / 32² = 16 px are filled.
        var image = TissueTestData.canvas(width: 220, height: 160, background: Self.glass, rectangles: [
            (20, 20, 140, 120, Self.pink),
            (40, 40, 3, 3, Self.glass),  // 9 px hole: filled
            (60, 40, 5, 5, Self.glass),  // 25 px hole: kept
            (80, 50, 50, 50, Self.glass),  // 2500 px hole: kept
            (190, 20, 8, 8, Self.pink),  // 64 px speck: removed
        ])
        TissueTestData.addNoise(&image, amplitude: 2, seed: 6)
        let result = try SaturationOtsuDetector(medianKernel: 1).detect(in: image, frame: Self.frame)
        #expect(fraction(result.mask, 38, 38, 7, 7) == 1)
        #expect(fraction(result.mask, 60, 40, 5, 5) == 0)
        #expect(fraction(result.mask, 80, 50, 50, 50) == 0)
        #expect(fraction(result.mask, 188, 18, 12, 12) == 0)
        // Without cleanup the speck stays and the small hole stays open.
        let raw = try SaturationOtsuDetector(medianKernel: 1, minimumTissueArea: 0, maximumHoleArea: 0)
            .detect(in: image, frame: Self.frame)
        #expect(fraction(raw.mask, 190, 20, 8, 8) == 1)
        #expect(fraction(raw.mask, 40, 40, 3, 3) == 0)
    }

    @Test("cleanup areas are level-0 areas: the same slide at two thumbnail scales gives the same tissue")
    func scaleIndependence() throws {
        func slide(scale: Int) -> RGBImage {
            TissueTestData.canvas(width: 100 * scale, height: 80 * scale, background: Self.glass, rectangles: [
                (10 * scale, 10 * scale, 50 * scale, 50 * scale, Self.pink),
                (80 * scale, 10 * scale, 3 * scale, 3 * scale, Self.pink),  // 9 × (32/scale)² level-0 px²… removed
            ])
        }
        let coarse = try SaturationOtsuDetector().detect(in: slide(scale: 1), frame: ThumbnailFrame(level0PerPixel: 64))
        let fine = try SaturationOtsuDetector().detect(in: slide(scale: 2), frame: ThumbnailFrame(level0PerPixel: 32))
        #expect(abs(coarse.mask.tissueLevel0Area - fine.mask.tissueLevel0Area) / fine.mask.tissueLevel0Area < 0.01)
        #expect(abs(fine.mask.tissueLevel0Area - Double(50 * 64 * 50 * 64)) / fine.mask.tissueLevel0Area < 0.01)
    }

    @Test("dark background: rejected with a clear message by default, or bright objects on request")
    func darkSynthetic() throws {
        // DAPI-like: blue dots on black in the left half, black elsewhere.
        var image = TissueTestData.canvas(width: 160, height: 120, background: (2, 2, 4))
        for y in stride(from: 10, to: 110, by: 4) {
            for x in stride(from: 10 + (y / 4) % 2 * 2, to: 70, by: 4) {
                let offset = image.offset(x: x, y: y)
                image.pixels[offset + 2] = 230
                image.pixels[offset + 1] = 40
            }
        }
        #expect {
            _ = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        } throws: { error in
            guard case TissueDetectionError.darkBackground(let median, let limit) = error else { return false }
            return median <= limit && "\(error)".contains("fluorescence")
        }
        let result = try SaturationOtsuDetector(darkBackgroundPolicy: .brightObjects).detect(in: image, frame: Self.frame)
        #expect(result.background == .dark)
        #expect(fraction(result.mask, 14, 14, 52, 92) == 1)
        #expect(fraction(result.mask, 80, 0, 80, 120) == 0)
    }

    @Test("pure black padding alone does not make a slide 'dark'")
    func blackPaddingIsNotDark() throws {
        let image = TissueTestData.canvas(width: 200, height: 100, background: (0, 0, 0), rectangles: [
            (120, 0, 80, 100, Self.glass), (140, 20, 40, 60, Self.pink),
        ])
        let result = try SaturationOtsuDetector().detect(in: image, frame: Self.frame)
        #expect(result.background == .bright)
        #expect(fraction(result.mask, 142, 22, 36, 56) == 1)
        #expect(fraction(result.mask, 0, 0, 118, 100) == 0)
    }

    @Test("empty thumbnail is an error naming its size; the whole-image fallback calls everything tissue (T4)")
    func emptyAndFallback() throws {
        #expect(throws: TissueDetectionError.emptyThumbnail(width: 0, height: 7)) {
            try SaturationOtsuDetector().detect(in: RGBImage(width: 0, height: 7), frame: Self.frame)
        }
        let image = TissueTestData.canvas(width: 30, height: 20, background: Self.glass)
        let result = try WholeImageTissueDetector().detect(in: image, frame: Self.frame)
        #expect(result.status == .allTissue && result.tissueFraction == 1 && result.method == "whole-image")
        let detectors: [any TissueDetector] = [SaturationOtsuDetector(), WholeImageTissueDetector()]
        #expect(detectors.map(\.name) == ["saturation-otsu", "whole-image"])
    }

    @Test("per-axis frame from region and thumbnail sizes (L7) and a bounds origin (L5)")
    func frames() {
        let frame = ThumbnailFrame(regionX: 40_000, regionY: 60_000, regionWidth: 60_000, regionHeight: 60_001,
                                   thumbnailWidth: 1024, thumbnailHeight: 1023)
        #expect(frame.level0PerPixelX == 60_000.0 / 1024)
        #expect(frame.level0PerPixelY == 60_001.0 / 1023)
        #expect(frame.level0X(thumbnailX: 1024) == 100_000)
        #expect(abs(frame.level0Y(thumbnailY: 1023) - 120_001) < 1e-9)
        #expect(abs(frame.thumbnailX(level0X: 40_000 + 30_000) - 512) < 1e-9)
    }

    @Test("real fluorescence NDPI (DAPI, black background): rejected by default, bright objects on request")
    func realFluorescence() throws {
        let (image, frame) = try TissueTestData.openSlideImage("slides/hamamatsu/stritt-test3-DAPI-2-387.ndpi", level: 5)
        #expect(image.width == 124 && image.height == 152)
        #expect {
            _ = try SaturationOtsuDetector().detect(in: image, frame: frame)
        } throws: { error in
            guard case TissueDetectionError.darkBackground(let median, _) = error else { return false }
            return median < 30
        }
        let result = try SaturationOtsuDetector(darkBackgroundPolicy: .brightObjects).detect(in: image, frame: frame)
        #expect(result.background == .dark)
        // Neither nothing nor everything: the nuclei-dense regions (≈ a quarter of the field).
        #expect(result.tissueFraction > 0.1 && result.tissueFraction < 0.6)
    }

    @Test("real H&E slide thumbnail (CMU-1-Small-Region.svs): tissue found, glass not")
    func realBrightfield() throws {
        let (image, frame) = try TissueTestData.openSlideImage("slides/aperio/CMU-1-Small-Region.svs", associated: "thumbnail")
        let result = try SaturationOtsuDetector().detect(in: image, frame: frame)
        #expect(result.background == .bright && result.status == .partialTissue)
        #expect(result.tissueFraction > 0.25 && result.tissueFraction < 0.45)
        // The top-left and right margins are glass; the lower middle is tissue.
        #expect(fraction(result.mask, 0, 0, 100, 200) < 0.01)
        #expect(fraction(result.mask, image.width - 60, 600, 60, 150) < 0.01)
        #expect(fraction(result.mask, 200, 600, 150, 150) > 0.95)
    }
}
