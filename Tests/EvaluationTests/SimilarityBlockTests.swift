import Foundation
import Testing
@testable import Evaluation

/// Robustness memory stays bounded: the block plan for plismbench's 16,278 tiles per slide, and metrics
/// that do not depend on how the similarity matrix is split.
@Suite struct SimilarityBlockTests {
    @Test func planForFullPLISMSlides() {
        let n = PLISMProtocol.tilesPerSlide
        let plan = SimilarityBlockPlan(rows: 2 * n, candidates: 2 * n, scalarBytes: 4)
        #expect(plan.rowsPerBlock == 515)
        #expect(plan.blocks == 64)
        #expect(plan.bytesPerBlock <= SimilarityBlockPlan.defaultBudgetBytes)
        #expect(plan.bytesPerBlock == 515 * 32_556 * 4)
        // The whole matrix would be 4.2 GB: 64 times the block.
        #expect(2 * n * 2 * n * 4 > 60 * plan.bytesPerBlock)
        let ranges = plan.blockRanges
        #expect(ranges.count == plan.blocks && ranges.first == 0 ..< 515 && ranges.last?.upperBound == 2 * n)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // A budget smaller than one row still computes one row at a time.
        let tiny = SimilarityBlockPlan(rows: 10, candidates: 10, scalarBytes: 8, budgetBytes: 1)
        #expect(tiny.rowsPerBlock == 1 && tiny.blocks == 10)
    }

    @Test func metricsDoNotDependOnTheBlockSize() throws {
        let (a, b) = ParityInputs.slidePair(seed: 7, n: 128, d: 32, noise: 2.0)
        let whole = try SlidePairMetrics.measure(a, b, k: [1, 3, 5, 10])
        for budget in [1, 8 * 256 * 3, 8 * 256 * 100] {
            for mode in RetrievalMode.allCases {
                let blocked = try SlidePairMetrics.measure(a, b, k: [1, 3, 5, 10], mode: mode, budgetBytes: budget)
                #expect(blocked.topKAccuracy == whole.topKAccuracy)
                #expect(blocked.cosineSimilarity == whole.cosineSimilarity)
            }
        }
    }

    @Test func zeroVectorIsAnErrorNamingTheTile() throws {
        var a = FeatureMatrix<Double>(rowsOf: [[1, 0], [0, 1], [1, 1]])
        let b = a
        a[1, 0] = 0
        a[1, 1] = 0
        #expect(throws: EvaluationError("slide GMH_AT2, tile row 1: feature vector norm is 0.0; cosine similarity "
            + "needs a finite non-zero vector")) {
            try SlidePairMetrics.measure(a, b, k: [1], names: ("GMH_AT2", "GMH_S60"))
        }
    }
}
