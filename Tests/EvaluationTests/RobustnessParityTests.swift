import Foundation
import Testing
@testable import Evaluation

/// PLISM robustness metrics against `../shared/reference/eval-parity/plism_expected.json` (plismbench's
/// metric classes run on gen.py inputs) and the values of `evaluation-spec.md` §5 (P1–P9).
@Suite struct RobustnessParityTests {
    let expected: [String: Any]
    let cases: [String: [String: Any]]

    init() throws {
        expected = try loadJSON(evalParity.appendingPathComponent("plism_expected.json"))
        cases = expected["cases"] as! [String: [String: Any]]
    }

    @Test func generatorMatchesGenPy() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xe220_a839_7b1d_cdaf)
    }

    /// P1: plismbench's own cosine test (A, B of §1.8) in Float64.
    @Test func cosineFixture() throws {
        let a = FeatureMatrix<Double>(rowsOf: [[0, 1], [1, 0], [1, 1], [1, 1]])
        let b = FeatureMatrix<Double>(rowsOf: [[0, 2], [2, 0], [-1, -1], [0, 1]])
        let metrics = try SlidePairMetrics.measure(a, b, k: [1])
        let reference = try #require(cases["repo_cosine_fixture"]?["expected_fp32"] as? Double)
        #expect(abs(metrics.cosineSimilarity - reference) < 1e-12)
    }

    /// P2: plismbench's top-k test: [0.125, 1.0] for k = [1, 7].
    @Test func topKFixture() throws {
        let a = FeatureMatrix<Double>(rowsOf: [[0, 1], [1, 0], [0, -1], [-1, 0]])
        let b = FeatureMatrix<Double>(rowsOf: [[0.1, 1.1], [0.2, 1.1], [0.3, 1.1], [0.4, 1.1]])
        let reference = try #require(cases["repo_topk_fixture"]?["expected_fp16"] as? [Double])
        for mode in RetrievalMode.allCases {
            #expect(try SlidePairMetrics.measure(a, b, k: [1, 7], mode: mode).topKAccuracy == reference)
        }
    }

    /// P3: with k = 2n − 1 every match is found.
    @Test func kTwoNMinusOneIsAlwaysOne() throws {
        var rng = SplitMix64(seed: 3)
        let a = rng.symmetricMatrix(rows: 5, columns: 100), b = rng.symmetricMatrix(rows: 5, columns: 100)
        for mode in RetrievalMode.allCases {
            #expect(try SlidePairMetrics.measure(a, b, k: [9], mode: mode).topKAccuracy == [1.0])
        }
    }

    /// P4, P5: slide pairs of gen.py: CS to 1e-12 and top-k exactly in Float64; in Float32 the ranks are the
    /// same (tie margins ≥ 1.5e-4) and CS agrees to 1e-6.
    @Test(arguments: ["pair_seed7_n128_d32_noise1.5", "pair_seed7_n128_d32_noise2.0"])
    func slidePair(name: String) throws {
        let entry = try #require(cases[name])
        let noise = name.hasSuffix("1.5") ? 1.5 : 2.0
        let (a, b) = ParityInputs.slidePair(seed: 7, n: 128, d: 32, noise: noise)
        let k = expected["k"] as! [Int]
        let cosine = try #require(entry["cos_f64_exact"] as? Double)
        let topK = try #require(entry["topk_f64_exact"] as? [Double])
        #expect(topK == (entry["topk_fp32_ref"] as? [Double]))
        let metrics = try SlidePairMetrics.measure(a, b, k: k)
        #expect(abs(metrics.cosineSimilarity - cosine) < 1e-12)
        #expect(metrics.topKAccuracy == topK)
        let single = try SlidePairMetrics.measure(a.converted(to: Float.self), b.converted(to: Float.self), k: k)
        #expect(abs(single.cosineSimilarity - cosine) < 1e-6)
        #expect(single.topKAccuracy == topK)
        // plismbench's self-exclusion changes nothing here: no match beats a self-similarity.
        #expect(try SlidePairMetrics.measure(a, b, k: k, mode: .plismbench).topKAccuracy == topK)
    }

    /// P6: seed 11, n = 300, d = 64, noise 3.0 (spec table: Float32/Float64 reference values to 6 decimals).
    @Test func slidePairWithNearTies() throws {
        let (a, b) = ParityInputs.slidePair(seed: 11, n: 300, d: 64, noise: 3.0)
        let metrics = try SlidePairMetrics.measure(a, b, k: [1, 3, 5, 10])
        #expect(abs(metrics.cosineSimilarity - 0.32527881) < 5e-9)
        for (value, reference) in zip(metrics.topKAccuracy, [0.331667, 0.513333, 0.58, 0.721667]) {
            #expect(abs(value - reference) < 5e-7)
        }
    }

    /// P7: identical slides. The exact definition finds every match (1.0); plismbench's position-0 drop
    /// discards the match of every row of B (it ties self and has the lower index), giving 0.5.
    @Test func identicalSlidesDocumentTheQuirk() throws {
        let entry = try #require(cases["identical_pair_seed5_n64_d16"])
        let (a, _) = ParityInputs.slidePair(seed: 5, n: 64, d: 16, noise: 0)
        let k = expected["k"] as! [Int]
        #expect(try SlidePairMetrics.measure(a, a, k: k).topKAccuracy == entry["topk_f64_exact"] as? [Double])
        #expect(try SlidePairMetrics.measure(a, a, k: k, mode: .plismbench).topKAccuracy
            == entry["topk_fp32_ref"] as? [Double])
        let single = a.converted(to: Float.self)
        #expect(try SlidePairMetrics.measure(single, single, k: k, mode: .plismbench).topKAccuracy
            == entry["topk_fp32_ref"] as? [Double])
    }

    /// P8: 2 stainings × 3 scanners of `plism_like(123, …)`: pair counts per category, rounded medians,
    /// the leaderboard score and the `all` row's CS string, as plismbench's aggregator gives them.
    @Test func multiSlideAggregation() throws {
        let slides = ParityInputs.plismLike(seed: 123, stainings: ["GMH", "GVH"], scanners: ["AT2", "S60", "SQ"],
                                            n: 96, d: 24, scannerScale: 0.6, stainingScale: 1.0, noise: 1.2)
        let report = try RobustnessBenchmark().evaluate(slides)
        let byCategory = Dictionary(uniqueKeysWithValues: report.categories.map { ($0.category, $0) })
        #expect(byCategory[.interScanner]?.pairs == 6)
        #expect(byCategory[.interStaining]?.pairs == 3)
        #expect(byCategory[.interScannerInterStaining]?.pairs == 6)
        #expect(byCategory[.all]?.pairs == 15)
        let top10 = report.metricNames.firstIndex(of: "top_10_accuracy")!
        #expect(byCategory[.all]?.metrics[0].median == 0.363)
        #expect(byCategory[.interScanner]?.metrics[top10].median == 0.411)
        #expect(byCategory[.interStaining]?.metrics[top10].median == 0.161)
        #expect(byCategory[.interScannerInterStaining]?.metrics[top10].median == 0.102)
        #expect(report.leaderboardScore == 0.259)
        #expect(byCategory[.all]?.metrics[0].formatted == "0.404 (0.110) ; 0.363 (0.193)")
        // JSON and the table carry the same figures.
        let decoded = try JSONDecoder().decode(RobustnessReport.self, from: JSONEncoder().encode(report))
        #expect(decoded == report)
        #expect(report.table().contains("0.404 (0.110) ; 0.363 (0.193)"))
        #expect(report.table().contains("leaderboard score: 0.259"))
    }

    /// P9: pair categories of the paper's 21 slides and plismbench's 91.
    @Test func pairCategoryCounts() throws {
        func counts(_ names: [String]) throws -> [PairCategory: Int] {
            let labels = try names.map { name throws(EvaluationError) in try SlideLabel(name: name) }
            var result = [PairCategory: Int]()
            for i in labels.indices {
                for j in labels.indices where j > i {
                    for category in PairCategory.allCases where category.contains(
                        stainings: (labels[i].staining, labels[j].staining), scanners: (labels[i].scanner, labels[j].scanner)) {
                        result[category, default: 0] += 1
                    }
                }
            }
            return result
        }
        let paper = try counts(PLISMProtocol.slideNames(stainings: ["GMH", "GM", "GV"]))
        #expect(paper == [.all: 210, .interScanner: 63, .interStaining: 21, .interScannerInterStaining: 126])
        let code = try counts(PLISMProtocol.slideNames())
        #expect(code == [.all: 4095, .interScanner: 273, .interStaining: 546, .interScannerInterStaining: 3276])
        let label = try SlideLabel(name: "GMH_S60_to_GMH_S60.tif")
        #expect(label.staining == "GMH" && label.scanner == "S60")
        #expect(throws: EvaluationError.self) { try SlideLabel(name: "nounderscore") }
    }

    /// Numpy's statistics, checked on values whose NumPy results are exact binary fractions.
    @Test func numpyStatistics() {
        let values = [0.5, 0.25, 1.0, 0.75, 0.0]
        #expect(NumPyStatistics.median(values) == 0.5)
        #expect(NumPyStatistics.median([0.25, 1.0, 0.5, 0.0]) == 0.375)
        #expect(NumPyStatistics.quantile(values, 0.25) == 0.25)
        #expect(NumPyStatistics.quantile([0.0, 1.0, 2.0, 4.0], 0.75) == 2.5)
        #expect(NumPyStatistics.quantile([0.0, 1.0, 2.0, 4.0], 0.25) == 0.75)
        #expect(NumPyStatistics.standardDeviation([1, 3]) == 1)
        #expect(NumPyStatistics.round(0.0625, decimals: 3) == 0.062)  // half to even
        #expect(NumPyStatistics.round(0.0635, decimals: 3) == 0.064)
        #expect(MetricSummary.pad(0.8) == "0.800" && MetricSummary.pad(1.0) == "1.000" && MetricSummary.pad(0.123) == "0.123")
        // Pairwise summation beyond one block agrees with a plain sum on exactly representable values.
        let many = (0 ..< 1000).map { Double($0) / 8 }
        #expect(NumPyStatistics.sum(many) == many.reduce(0, +))
    }
}
