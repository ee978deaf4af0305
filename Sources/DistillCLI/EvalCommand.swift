import ArgumentParser
import Distillery
import Foundation

/// `distill eval …`: evaluate embeddings in feature files (docs/evaluation.md).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate embeddings: PLISM robustness, eva linear probe and kNN, HEST-style regression.",
        discussion: """
            Feature files are HDF5 in the TRIDENT/CLAM layout (features [N, D], coords [N, 2], optional tile_names) or \
            plismbench's .npy layout ([N, 3 + D]: level, x, y, features). Reports print as tables, or as JSON with --json.
            Exit codes: 0 done, 1 a file or metric error (one line naming the file, column, tile or slide), 64 bad options.
            """,
        subcommands: [EvalRobustness.self, EvalProbe.self, EvalRegression.self])
}

/// Parses "1,3,5,10".
private func integers(_ text: String, option: String) throws -> [Int] {
    let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw ValidationError("\(option) takes positive integers separated by commas, got '\(text)'")
    }
    return values.map { $0! }
}

/// Prints a report (JSON or table), or the error as one line and exits 1.
private func report(json: Bool, _ body: () throws -> EvaluationReport) throws {
    do {
        let result = try body()
        Console.out(json ? try result.json() : result.table())
    } catch let error as FeatureFileError {
        Console.error("error: \(error)")
        throw ExitCode(1)
    } catch let error as EvaluationError {
        Console.error("error: \(error)")
        throw ExitCode(1)
    }
}

/// `distill eval robustness FEATURES_DIR`: every slide pair's CS and top-k, per-category summaries and
/// plismbench's leaderboard score.
struct EvalRobustness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "PLISM robustness: cosine similarity and top-k retrieval of matched tiles over every slide pair.",
        discussion: """
            FEATURES_DIR holds one feature file per slide: NAME.h5 (TRIDENT layout), NAME.npy or NAME/features.npy \
            (plismbench layout). NAME is STAINING_SCANNER[_…], e.g. GMH_S60_to_GMH_S60.tif. Rows are matched across \
            slides by coordinate (files without coordinates by row order). Pairs where the staining is the same are \
            inter-scanner, where the scanner is the same inter-staining.
            """)

    @Argument(help: "Folder of per-slide feature files.")
    var featuresDirectory: String

    @Option(help: "k values of top-k accuracy.")
    var k = "1,3,5,10"

    @Option(help: "exact (default) or plismbench (its self-exclusion quirk: identical slides score 0.5).")
    var mode: String = "exact"

    @Option(name: .customLong("tile-subset"), help: "plismbench tile subset .npy (e.g. tiles_subset_8139.npy).")
    var tileSubset: String?

    @Option(help: "Keep only these stainings (comma-separated).")
    var stainings: String?

    @Option(help: "Keep only these scanners (comma-separated).")
    var scanners: String?

    @Option(name: .customLong("name-contains"), help: "Keep only slides whose name contains this (plismbench: _to_GMH_S60).")
    var nameContains: String?

    @Option(name: .customLong("memory-mib"), help: "Memory for one block of similarities, MiB.")
    var memoryMiB: Int = 64

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard RetrievalMode(rawValue: mode) != nil else { throw ValidationError("--mode must be exact or plismbench") }
        _ = try integers(k, option: "--k")
        guard memoryMiB >= 1 else { throw ValidationError("--memory-mib must be ≥ 1") }
    }

    func run() throws {
        try report(json: json) {
            let set = { (text: String?) in text.map { Set($0.split(separator: ",").map(String.init)) } }
            let subset = try tileSubset.map { try TileSubset.load(path: $0) }
            let slides = try RobustnessSlide.load(directory: featuresDirectory, stainings: set(stainings),
                                                  scanners: set(scanners), nameContains: nameContains, tileSubset: subset)
            let benchmark = RobustnessBenchmark(k: try integers(k, option: "--k"), mode: RetrievalMode(rawValue: mode)!,
                                                budgetBytes: memoryMiB << 20)
            let live = Console.stderrIsTerminal
            var result = EvaluationReport()
            result.robustness = try benchmark.evaluate(slides) { done, total in
                if live {  // one line rewritten in place on a terminal
                    FileHandle.standardError.write(Data(("\r\u{1B}[Kpair \(done)/\(total)" + (done == total ? "\n" : "")).utf8))
                }
            }
            return result
        }
    }
}

/// `distill eval probe --train A --test B`: eva's linear probe (several runs, mean ± std) and kNN.
struct EvalProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Linear probe with eva's protocol (AdamW, early stopping, best checkpoint, runs) and kNN.",
        discussion: """
            Labels come from CSV files with a label column; rows are joined to tiles by the key column when the feature \
            file has tile_names, otherwise by row order. Without --val the test split is used for early stopping and \
            the scores are reported on it (as eva does for tasks without a separate validation split).
            """)

    @Option(help: "Train feature file.")
    var train: String

    @Option(help: "Test feature file.")
    var test: String

    @Option(help: "Validation feature file (early stopping); default: the test split.")
    var val: String?

    @Option(help: "Labels CSV for every split (or give --train-labels, --test-labels, --val-labels).")
    var labels: String?

    @Option(name: .customLong("train-labels"), help: "Labels CSV of the train split.")
    var trainLabels: String?

    @Option(name: .customLong("test-labels"), help: "Labels CSV of the test split.")
    var testLabels: String?

    @Option(name: .customLong("val-labels"), help: "Labels CSV of the validation split.")
    var valLabels: String?

    @Option(name: .customLong("key-column"), help: "CSV column of tile names.")
    var keyColumn = "file"

    @Option(name: .customLong("label-column"), help: "CSV column of class names.")
    var labelColumn = "label"

    @Option(help: "Independent fits.")
    var runs = 5

    @Option(help: "Seed of the first run (run r uses seed + r).")
    var seed: UInt64 = 42

    @Option(help: "Early-stopping patience, epochs.")
    var patience = 24

    @Option(name: .customLong("max-steps"), help: "Optimizer steps at most.")
    var maxSteps = 12_500

    @Option(name: .customLong("batch-size"), help: "Batch size.")
    var batchSize = 256

    @Option(name: .customLong("learning-rate"), help: "AdamW learning rate.")
    var learningRate = 3e-4

    @Option(help: "Learning-rate schedule: ev25 (cosine per epoch, T_max 12500: eva at the paper's time) or evh (1/3 for 5 epochs).")
    var schedule = "ev25"

    @Option(help: "kNN neighbours (0: no kNN).")
    var knn = 20

    @Option(name: .customLong("knn-temperature"), help: "kNN vote temperature, or 'none' for a majority vote.")
    var knnTemperature = "0.07"

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard labels != nil || (trainLabels != nil && testLabels != nil) else {
            throw ValidationError("give --labels, or --train-labels and --test-labels")
        }
        guard ["ev25", "evh"].contains(schedule) else { throw ValidationError("--schedule must be ev25 or evh") }
        guard knnTemperature == "none" || (Double(knnTemperature) ?? 0) > 0 else {
            throw ValidationError("--knn-temperature must be a positive number or none")
        }
        guard runs >= 1, patience >= 1, maxSteps >= 1, batchSize >= 1, knn >= 0, learningRate > 0 else {
            throw ValidationError("--runs, --patience, --max-steps, --batch-size must be ≥ 1, --knn ≥ 0, --learning-rate > 0")
        }
    }

    func run() throws {
        try report(json: json) {
            let labelsOf = { (specific: String?) in specific ?? labels! }
            let task = try ClassificationTask.load(
                train: (train, labelsOf(trainLabels)), validation: val.map { ($0, labelsOf(valLabels)) },
                test: (test, labelsOf(testLabels)), keyColumn: keyColumn, labelColumn: labelColumn)
            var configuration = LinearProbe.Configuration()
            configuration.runs = runs
            configuration.seed = seed
            configuration.patience = patience
            configuration.maxSteps = maxSteps
            configuration.batchSize = batchSize
            configuration.learningRate = learningRate
            configuration.schedule = schedule == "ev25" ? .ev25 : .evh
            var request = EmbeddingEvaluator.Request()
            request.classification = task
            request.linearProbe = LinearProbe(configuration: configuration)
            request.knn = knn == 0 ? nil : KNNClassifier(k: knn, temperature: Double(knnTemperature))
            return try EmbeddingEvaluator().evaluate(request)
        }
    }
}

/// `distill eval regression --train A --train-targets CSV --test B --test-targets CSV`: HEST-style probe.
struct EvalRegression: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "HEST-style regression: standardise, exact PCA, ridge (α = 100/(PCA dim · targets)), Pearson r per target.",
        discussion: """
            Target CSVs have one numeric column per target (HEST: log1p expression of 50 genes) and optionally a key column \
            of tile names (--key-column) to join on the feature file's tile_names; otherwise rows are matched by order.
            """)

    @Option(help: "Train feature file.")
    var train: String

    @Option(name: .customLong("train-targets"), help: "Targets CSV of the train split.")
    var trainTargets: String

    @Option(help: "Test feature file.")
    var test: String

    @Option(name: .customLong("test-targets"), help: "Targets CSV of the test split.")
    var testTargets: String

    @Option(name: .customLong("key-column"), help: "CSV column of tile names (not a target).")
    var keyColumn: String?

    @Option(help: "PCA dimension (HEST: 256).")
    var components = 256

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard components >= 1 else { throw ValidationError("--components must be ≥ 1") }
    }

    func run() throws {
        try report(json: json) {
            var request = EmbeddingEvaluator.Request()
            request.regression = try RegressionTask.load(train: (train, trainTargets), test: (test, testTargets),
                                                         keyColumn: keyColumn)
            request.hest = HESTRegression(components: components)
            return try EmbeddingEvaluator().evaluate(request)
        }
    }
}
