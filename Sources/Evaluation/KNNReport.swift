/// The result of kNN classification on a held-out split.
public struct KNNReport: Sendable, Equatable, Codable {
    /// Neighbours.
    public var k: Int
    /// Vote temperature (nil: majority vote).
    public var temperature: Double?
    /// The split scored ("test" or "validation").
    public var split: String
    /// Its scores.
    public var scores: ClassificationScores

    /// A report with these values.
    public init(k: Int, temperature: Double?, split: String, scores: ClassificationScores) {
        self.k = k
        self.temperature = temperature
        self.split = split
        self.scores = scores
    }

    /// One line: "kNN (k = 20, T = 0.07) on test: accuracy …, balanced accuracy …".
    public func line() -> String {
        "kNN (k = \(k), " + (temperature.map { "T = \($0)" } ?? "majority vote") + ") on \(split): accuracy "
            + "\(ReportTable.number(scores.accuracy)), balanced accuracy \(ReportTable.number(scores.balancedAccuracy))"
    }
}
