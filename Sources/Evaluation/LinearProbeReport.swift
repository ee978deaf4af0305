/// The result of `LinearProbe.fit`: every run and the mean ± sample std (ddof = 1, Python's
/// `statistics.stdev`, as eva's `_recorder.py` reports) of each score over runs.
public struct LinearProbeReport: Sendable, Equatable, Codable {
    /// Mean and sample standard deviation over runs (std 0 for a single run).
    public struct Statistic: Sendable, Equatable, Codable {
        /// Mean over runs.
        public var mean: Double
        /// Sample standard deviation (ddof = 1).
        public var std: Double

        /// The statistic of `values`.
        public init(_ values: [Double]) {
            mean = values.reduce(0, +) / Double(values.count)
            let average = mean
            std = values.count < 2 ? 0
                : (values.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(values.count - 1)).squareRoot()
        }
    }

    /// The settings used.
    public var configuration: LinearProbe.Configuration
    /// Number of classes.
    public var classes: Int
    /// Embedding dimension D.
    public var dimension: Int
    /// Train samples.
    public var trainCount: Int
    /// Validation samples.
    public var validationCount: Int
    /// Test samples (nil without a test split).
    public var testCount: Int?
    /// Every run.
    public var runs: [LinearProbe.Run]
    /// Validation balanced accuracy of the best checkpoints.
    public var validationBalancedAccuracy: Statistic
    /// Validation accuracy of the best checkpoints.
    public var validationAccuracy: Statistic
    /// Test balanced accuracy (nil without a test split).
    public var testBalancedAccuracy: Statistic?
    /// Test accuracy (nil without a test split).
    public var testAccuracy: Statistic?

    /// The report of `runs`.
    public init(configuration: LinearProbe.Configuration, classes: Int, dimension: Int, trainCount: Int,
                validationCount: Int, testCount: Int?, runs: [LinearProbe.Run]) {
        self.configuration = configuration
        self.classes = classes
        self.dimension = dimension
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.testCount = testCount
        self.runs = runs
        validationBalancedAccuracy = Statistic(runs.map(\.validation.balancedAccuracy))
        validationAccuracy = Statistic(runs.map(\.validation.accuracy))
        let tests = runs.compactMap(\.test)
        testBalancedAccuracy = tests.count == runs.count && !tests.isEmpty ? Statistic(tests.map(\.balancedAccuracy)) : nil
        testAccuracy = tests.count == runs.count && !tests.isEmpty ? Statistic(tests.map(\.accuracy)) : nil
    }

    /// A readable summary: one line per run and the mean ± std lines.
    public func table() -> String {
        let metric = classes == 2 ? "binary balanced accuracy" : "balanced (macro) accuracy"
        var lines = ["Linear probe (eva protocol): \(classes) classes, D = \(dimension), train \(trainCount), "
            + "validation \(validationCount)" + (testCount.map { ", test \($0)" } ?? "")
            + "; \(runs.count) runs, monitor: \(metric)"]
        let header = ["run", "seed", "steps", "epochs", "best epoch", "val bal. acc", "val acc"]
            + (testCount == nil ? [] : ["test bal. acc", "test acc"])
        let rows = runs.map { run -> [String] in
            ["\(run.run)", "\(run.seed)", "\(run.steps)", "\(run.epochs)", "\(run.bestEpoch)",
             ReportTable.number(run.validation.balancedAccuracy), ReportTable.number(run.validation.accuracy)]
                + (run.test.map { [ReportTable.number($0.balancedAccuracy), ReportTable.number($0.accuracy)] } ?? [])
        }
        lines.append(ReportTable.render(header: header, rows: rows))
        func line(_ name: String, _ statistic: Statistic?) {
            if let statistic {
                lines.append("\(name): \(ReportTable.number(statistic.mean)) ± \(ReportTable.number(statistic.std))")
            }
        }
        line("validation balanced accuracy", validationBalancedAccuracy)
        line("validation accuracy", validationAccuracy)
        line("test balanced accuracy", testBalancedAccuracy)
        line("test accuracy", testAccuracy)
        return lines.joined(separator: "\n")
    }
}
