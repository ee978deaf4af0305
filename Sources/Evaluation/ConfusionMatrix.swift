/// Counts of (true class, predicted class) and the classification metrics eva reports from them
/// (`evaluation-spec.md` §2.4).
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    /// Number of classes C.
    public let classes: Int
    /// counts[t · C + p]: samples of true class t predicted as p.
    public private(set) var counts: [Int]

    /// An empty matrix for `classes` classes.
    public init(classes: Int) {
        precondition(classes >= 1, "ConfusionMatrix: needs a class")
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
    }

    /// The matrix of `truth` against `predicted` (class indices in 0..<classes).
    /// - Precondition: equal lengths and indices in range.
    public init(truth: [Int], predicted: [Int], classes: Int) {
        precondition(truth.count == predicted.count, "ConfusionMatrix: \(truth.count) labels, \(predicted.count) predictions")
        self.init(classes: classes)
        for (t, p) in zip(truth, predicted) { add(truth: t, predicted: p) }
    }

    /// Counts one sample.
    public mutating func add(truth: Int, predicted: Int) {
        precondition((0 ..< classes).contains(truth) && (0 ..< classes).contains(predicted), "ConfusionMatrix: class out of range")
        counts[truth * classes + predicted] += 1
    }

    /// Samples counted.
    public var total: Int { counts.reduce(0, +) }

    /// Fraction predicted correctly (micro accuracy); 0 for no samples.
    public var accuracy: Double {
        let correct = (0 ..< classes).reduce(0) { $0 + counts[$1 * classes + $1] }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }

    /// torchmetrics `MulticlassAccuracy(average="macro")` (eva's multiclass "balanced accuracy"): the mean of
    /// per-class recall TP/(TP+FN) over the classes with TP + FP + FN > 0. A class predicted but absent from
    /// the targets counts with recall 0; a class absent from both is skipped; 0/0 is 0.
    public var macroAccuracy: Double {
        var sum = 0.0
        var weight = 0
        for c in 0 ..< classes {
            let tp = counts[c * classes + c]
            let support = (0 ..< classes).reduce(0) { $0 + counts[c * classes + $1] }  // TP + FN
            let predicted = (0 ..< classes).reduce(0) { $0 + counts[$1 * classes + c] }  // TP + FP
            let fn = support - tp, fp = predicted - tp
            guard tp + fp + fn > 0 else { continue }
            weight += 1
            sum += support == 0 ? 0 : Double(tp) / Double(support)
        }
        return weight == 0 ? 0 : sum / Double(weight)
    }

    /// eva's `BinaryBalancedAccuracy` with class 1 positive: ½ (TP/(TP+FN) + TN/(TN+FP)), each ratio 0 when
    /// its denominator is 0.
    /// - Precondition: `classes == 2`.
    public var binaryBalancedAccuracy: Double {
        precondition(classes == 2, "binary balanced accuracy needs 2 classes")
        let tn = counts[0], fp = counts[1], fn = counts[2], tp = counts[3]
        let tpr = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        let tnr = tn + fp == 0 ? 0 : Double(tn) / Double(tn + fp)
        return (tpr + tnr) / 2
    }

    /// eva's reported metric: binary balanced accuracy for 2 classes, macro accuracy otherwise.
    public var balancedAccuracy: Double { classes == 2 ? binaryBalancedAccuracy : macroAccuracy }
}
