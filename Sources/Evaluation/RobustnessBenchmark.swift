/// The PLISM robustness benchmark over a set of slides (`evaluation-spec.md` §1): every unordered pair,
/// its CS and top-k accuracy, aggregated per category (plismbench's protocol, with the slide set and tile
/// subset chosen by the caller).
public struct RobustnessBenchmark: Sendable {
    /// The k values of top-k accuracy (plismbench: [1, 3, 5, 10]).
    public var k: [Int]
    /// Exact retrieval (default) or plismbench's self-exclusion quirk.
    public var mode: RetrievalMode
    /// Memory for one block of similarities (see `SimilarityBlockPlan`).
    public var budgetBytes: Int

    /// A benchmark with the given settings.
    public init(k: [Int] = [1, 3, 5, 10], mode: RetrievalMode = .exact,
                budgetBytes: Int = SimilarityBlockPlan.defaultBudgetBytes) {
        self.k = k
        self.mode = mode
        self.budgetBytes = budgetBytes
    }

    /// Evaluates all pairs of `slides` (rows aligned across slides), in name order.
    /// - Parameter progress: called after each pair with (pairs done, pairs in all).
    /// - Throws: `EvaluationError` when there are fewer than 2 slides, names repeat, shapes differ, or a
    ///   tile's feature vector is zero or non-finite.
    public func evaluate<S: BLASScalar>(_ slides: [RobustnessSlide<S>],
                                        progress: ((Int, Int) -> Void)? = nil) throws(EvaluationError) -> RobustnessReport {
        let sorted = slides.sorted { $0.label.name < $1.label.name }
        guard sorted.count >= 2 else { throw EvaluationError("robustness needs at least 2 slides, got \(sorted.count)") }
        if let repeated = zip(sorted, sorted.dropFirst()).first(where: { $0.label.name == $1.label.name }) {
            throw EvaluationError("slide name \(repeated.0.label.name) appears twice")
        }
        let total = sorted.count * (sorted.count - 1) / 2
        var pairs = [RobustnessReport.Pair]()
        pairs.reserveCapacity(total)
        for i in 0 ..< sorted.count {
            for j in i + 1 ..< sorted.count {
                let a = sorted[i], b = sorted[j]
                let metrics = try SlidePairMetrics.measure(a.features, b.features, k: k, mode: mode,
                                                           budgetBytes: budgetBytes, names: (a.label.name, b.label.name))
                let categories = PairCategory.allCases.filter {
                    $0.contains(stainings: (a.label.staining, b.label.staining), scanners: (a.label.scanner, b.label.scanner))
                }
                pairs.append(RobustnessReport.Pair(slideA: a.label, slideB: b.label, categories: categories, metrics: metrics))
                progress?(pairs.count, total)
            }
        }
        return RobustnessReport(k: k, mode: mode, tiles: sorted[0].features.rows, dimension: sorted[0].features.columns,
                                slides: sorted.map(\.label), pairs: pairs)
    }
}
