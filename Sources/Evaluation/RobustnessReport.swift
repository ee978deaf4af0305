/// The result of a robustness evaluation: per-pair metrics, per-category summaries and plismbench's
/// leaderboard score (`evaluation-spec.md` §1.6). Encodes to JSON; `table()` renders it for reading.
public struct RobustnessReport: Sendable, Equatable, Codable {
    /// One slide pair.
    public struct Pair: Sendable, Equatable, Codable {
        /// The two slides (a before b in name order).
        public var slideA: SlideLabel
        /// The second slide.
        public var slideB: SlideLabel
        /// The categories the pair belongs to (always including `all`).
        public var categories: [PairCategory]
        /// CS and top-k.
        public var metrics: SlidePairMetrics
    }

    /// The metrics of one category aggregated over its pairs.
    public struct CategorySummary: Sendable, Equatable, Codable {
        /// The category.
        public var category: PairCategory
        /// How many pairs it has.
        public var pairs: Int
        /// cosine_similarity, then top_{k}_accuracy for each k; empty when the category has no pairs.
        public var metrics: [MetricSummary]
    }

    /// The k values of top-k accuracy.
    public var k: [Int]
    /// Self-exclusion mode of retrieval.
    public var mode: RetrievalMode
    /// Tiles per slide used (after the subset).
    public var tiles: Int
    /// Feature dimension D.
    public var dimension: Int
    /// The slides, in name order.
    public var slides: [SlideLabel]
    /// Every unordered pair, sorted by (a, b).
    public var pairs: [Pair]
    /// inter-scanner, inter-staining, both, all.
    public var categories: [CategorySummary]
    /// mean(median CS [all], median Top-10 [inter-scanner], [inter-staining], [both]) rounded to 3 decimals,
    /// from the rounded medians (PB `utils/metrics.py::get_leaderboard_results`); nil without k = 10 or when a
    /// category has no pairs.
    public var leaderboardScore: Double?

    /// The metric names in column order: cosine_similarity, top_{k}_accuracy….
    public var metricNames: [String] { ["cosine_similarity"] + k.map { "top_\($0)_accuracy" } }

    /// Builds the report from per-pair results: categories, summaries and the leaderboard score.
    public init(k: [Int], mode: RetrievalMode, tiles: Int, dimension: Int, slides: [SlideLabel], pairs: [Pair]) {
        self.k = k
        self.mode = mode
        self.tiles = tiles
        self.dimension = dimension
        self.slides = slides
        self.pairs = pairs
        let names = ["cosine_similarity"] + k.map { "top_\($0)_accuracy" }
        categories = [PairCategory.interScanner, .interStaining, .interScannerInterStaining, .all].map { category in
            let members = pairs.filter { $0.categories.contains(category) }
            let columns = [members.map(\.metrics.cosineSimilarity)]
                + k.indices.map { index in members.map { $0.metrics.topKAccuracy[index] } }
            let metrics = zip(names, columns).compactMap { MetricSummary(metric: $0, values: $1) }
            return CategorySummary(category: category, pairs: members.count, metrics: metrics)
        }
        leaderboardScore = nil
        if let top10 = k.firstIndex(of: 10) {
            func median(_ category: PairCategory, _ column: Int) -> Double? {
                categories.first { $0.category == category }.flatMap { $0.metrics.isEmpty ? nil : $0.metrics[column].median }
            }
            let inputs = [median(.all, 0), median(.interScanner, top10 + 1), median(.interStaining, top10 + 1),
                          median(.interScannerInterStaining, top10 + 1)]
            if inputs.allSatisfy({ $0 != nil }) {
                let values = inputs.compactMap { $0 }
                leaderboardScore = NumPyStatistics.round(NumPyStatistics.mean(values), decimals: 3)
            }
        }
    }

    /// A readable report: the per-pair table, then the per-category table of "mean (std) ; median (iqr)"
    /// cells, then the leaderboard score.
    public func table() -> String {
        var lines = ["PLISM robustness: \(slides.count) slides, \(pairs.count) pairs, \(tiles) tiles per slide, "
            + "D = \(dimension), retrieval \(mode.rawValue)"]
        lines.append("")
        let pairHeader = ["slide a", "slide b", "category", "CS"] + k.map { "top-\($0)" }
        let pairRows = pairs.map { pair -> [String] in
            let category = pair.categories.first { $0 != .all }?.rawValue ?? "all"
            return [pair.slideA.name, pair.slideB.name, category, ReportTable.number(pair.metrics.cosineSimilarity)]
                + pair.metrics.topKAccuracy.map { ReportTable.number($0) }
        }
        lines.append(ReportTable.render(header: pairHeader, rows: pairRows))
        lines.append("")
        let summaryHeader = ["category", "pairs"] + metricNames
        let summaryRows = categories.map { summary -> [String] in
            [summary.category.rawValue, "\(summary.pairs)"]
                + (summary.metrics.isEmpty ? metricNames.map { _ in "–" } : summary.metrics.map(\.formatted))
        }
        lines.append("mean (std) ; median (iqr) over pairs")
        lines.append(ReportTable.render(header: summaryHeader, rows: summaryRows))
        lines.append("")
        lines.append("leaderboard score: " + (leaderboardScore.map { "\($0)" }
            ?? "n/a (needs k = 10 and pairs in every category)"))
        return lines.joined(separator: "\n")
    }
}
