/// One metric aggregated over the pairs of one category, as plismbench reports it (PB
/// `utils/aggregate.py`): mean, population std, median and IQR, each rounded to 3 decimals, and the
/// cell string `"mean (std) ; median (iqr)"` with every number right-padded with zeros to 5 characters.
public struct MetricSummary: Sendable, Equatable, Codable {
    /// "cosine_similarity" or "top_{k}_accuracy".
    public var metric: String
    /// `np.mean`, rounded to 3 decimals.
    public var mean: Double
    /// `np.std` (ddof = 0), rounded.
    public var std: Double
    /// `np.median`, rounded.
    public var median: Double
    /// `np.quantile(.75) − np.quantile(.25)` (linear), rounded.
    public var iqr: Double
    /// `"0.404 (0.110) ; 0.363 (0.193)"`.
    public var formatted: String

    /// The summary of `values` (one per pair) for `metric`; nil when there are no values (plismbench
    /// cannot aggregate an empty category either).
    public init?(metric: String, values: [Double]) {
        guard !values.isEmpty else { return nil }
        self.metric = metric
        mean = NumPyStatistics.round(NumPyStatistics.mean(values), decimals: 3)
        std = NumPyStatistics.round(NumPyStatistics.standardDeviation(values), decimals: 3)
        median = NumPyStatistics.round(NumPyStatistics.median(values), decimals: 3)
        iqr = NumPyStatistics.round(NumPyStatistics.interquartileRange(values), decimals: 3)
        formatted = "\(Self.pad(mean)) (\(Self.pad(std))) ; \(Self.pad(median)) (\(Self.pad(iqr)))"
    }

    /// Python's `str(x)` right-padded with "0" to 5 characters (pandas `str.pad(5, side="right", fillchar="0")`).
    static func pad(_ value: Double) -> String {
        let text = "\(value)"
        return text.count >= 5 ? text : text + String(repeating: "0", count: 5 - text.count)
    }
}
