/// The result of the HEST-style regression probe over folds: per-fold per-target Pearson r and HEST's task
/// score (mean and population std of the fold means).
public struct RegressionReport: Sendable, Equatable, Codable {
    /// PCA dimension used.
    public var components: Int
    /// Each fold's result.
    public var folds: [HESTRegression.FoldResult]
    /// Mean over folds of the fold means (`pearson_mean`).
    public var pearsonMean: Double
    /// Population std of the fold means (`pearson_std`).
    public var pearsonStd: Double

    /// The report of `folds`.
    public init(components: Int, folds: [HESTRegression.FoldResult]) {
        self.components = components
        self.folds = folds
        (pearsonMean, pearsonStd) = HESTRegression.aggregate(folds)
    }

    /// A readable summary: per fold and target, then the task score.
    public func table() -> String {
        var lines = ["HEST-style regression: standardise, PCA to \(components), ridge (α = 100/(\(components)·T)), Pearson r"]
        for (index, fold) in folds.enumerated() {
            lines.append("fold \(index): train \(fold.trainCount), test \(fold.testCount), α = \(fold.alpha), "
                + "mean r \(ReportTable.number(fold.pearsonMean)) (std \(ReportTable.number(fold.pearsonStd)))")
            lines.append(ReportTable.render(header: ["target", "pearson r"],
                                            rows: zip(fold.targets, fold.pearson).map { [$0, ReportTable.number($1)] }))
        }
        lines.append("pearson mean over folds: \(ReportTable.number(pearsonMean)) ± \(ReportTable.number(pearsonStd))")
        return lines.joined(separator: "\n")
    }
}
