import Foundation
import ImageOps
import Testing

@testable import SlideIO

/// The 25 labelled histolab tiles (../shared/data/tiles/histolab-tissue-vs-background: 18 tissue, 7 background),
/// each treated as a slide thumbnail at 32 level-0 px per px (a typical thumbnail scale; it sets the cleanup
/// areas: specks under 256 px removed, holes under 16 px filled). A tile is called tissue when its detected tissue fraction reaches the CLI default
/// `--min-tissue 0.5`.
@Suite("Tissue detection on the histolab tissue-vs-background tiles")
struct TissueHistolabTests {
    struct Outcome {
        let tile: TissueTestData.HistolabTile
        let fraction: Double
        let threshold: Int
    }

    static func outcomes() throws -> [Outcome] {
        let detector = SaturationOtsuDetector()
        return try TissueTestData.histolabTiles().map { tile in
            let image = try PNGImage.read(path: TissueTestData.histolabDirectory.appendingPathComponent(tile.file).path)
            let result = try detector.detect(in: image, frame: ThumbnailFrame(level0PerPixel: 32))
            return Outcome(tile: tile, fraction: result.tissueFraction, threshold: result.threshold ?? -1)
        }
    }

    @Test("confusion matrix with the defaults (cut 0.5): 14 TP, 4 FN, 7 TN, 0 FP; pen and glass behave")
    func confusion() throws {
        let outcomes = try Self.outcomes()
        #expect(outcomes.count == 25)
        #expect(outcomes.filter(\.tile.isTissue).count == 18)
        for outcome in outcomes {
            let line = "\(outcome.tile.file.padding(toLength: 42, withPad: " ", startingAt: 0))"
                + " \(outcome.tile.isTissue ? "tissue    " : "background") pen=\(outcome.tile.hasPen ? "yes" : "no ")"
                + " fraction=\(String(format: "%.3f", outcome.fraction)) threshold=\(outcome.threshold)"
            print(line)
        }
        let cut = 0.5
        let truePositive = outcomes.filter { $0.tile.isTissue && $0.fraction >= cut }.count
        let falseNegative = outcomes.filter { $0.tile.isTissue && $0.fraction < cut }.count
        let trueNegative = outcomes.filter { !$0.tile.isTissue && $0.fraction < cut }.count
        let falsePositive = outcomes.filter { !$0.tile.isTissue && $0.fraction >= cut }.count
        print("confusion at \(cut): TP \(truePositive) FN \(falseNegative) TN \(trueNegative) FP \(falsePositive)")
        #expect(truePositive == 14 && falseNegative == 4 && trueNegative == 7 && falsePositive == 0)
        // The four misses are tiles that are mostly glass or fat, or half covered by pen.
        let missed = Set(outcomes.filter { $0.tile.isTissue && $0.fraction < cut }.map(\.tile.file))
        #expect(missed == ["high-nuclei-score-level2.png", "low-nuclei-score-level1.png",
                           "medium-nuclei-score-green-pen-level1.png", "very-low-nuclei-score-red-pen-level1.png"])

        func fraction(_ file: String) -> Double { outcomes.first { $0.tile.file == file }!.fraction }
        // White glass (and a scratch line) is background.
        for file in ["almost-white-1.png", "no-tissue.png", "no-tissue2.png", "no-tissue-line.png"] {
            #expect(fraction(file) < 0.01, "\(file)")
        }
        #expect(fraction("almost-white-2.png") < 0.1)  // a sliver of real tissue in one corner
        // Pen on glass is background.
        #expect(fraction("no-tissue-green-pen.png") < 0.05)
        #expect(fraction("no-tissue-red-pen.png") < 0.45)  // red ink's pink halo is the hardest case
        // Tissue with pen marks keeps its tissue.
        #expect(fraction("high-nuclei-score-red-pen-level1.png") > 0.85)
        #expect(fraction("medium-nuclei-score-green-pen-level1.png") > 0.4)
        #expect(fraction("very-low-nuclei-score-red-pen-level1.png") > 0.25)
        // Every tissue tile has some tissue; the least (a tile mostly of glass) still over 10 %.
        #expect(outcomes.filter(\.tile.isTissue).allSatisfy { $0.fraction > 0.1 })
    }
}
