/// The scores of a classifier on one split: accuracy and eva's balanced accuracy
/// (`ConfusionMatrix.balancedAccuracy`: binary balanced accuracy for 2 classes, torchmetrics macro
/// accuracy otherwise).
public struct ClassificationScores: Sendable, Equatable, Codable {
    /// Fraction correct.
    public var accuracy: Double
    /// eva's balanced accuracy (the monitored and reported metric).
    public var balancedAccuracy: Double

    /// The scores with these values.
    public init(accuracy: Double, balancedAccuracy: Double) {
        self.accuracy = accuracy
        self.balancedAccuracy = balancedAccuracy
    }

    /// The scores of a confusion matrix.
    public init(_ matrix: ConfusionMatrix) {
        self.init(accuracy: matrix.accuracy, balancedAccuracy: matrix.balancedAccuracy)
    }
}
