import Compute
import Foundation

/// Recognises the two collapses of DINO-style training in a step's probabilities (teacher probabilities, or the
/// student's softmax): field-bug-cases.md N3, dinov2#407 (a loss stuck at ln K = 8.317765 for K = 4096) and the
/// medical-tile report of dinov2#272 (every input mapped to the same output).
///
/// * uniform: the mean row entropy `−Σ_k p log p` is within `uniformTolerance` (relative) of ln K — every row
///   spreads its mass evenly, so the cross-entropy cannot fall below ln K;
/// * dominant: the mean row entropy is below `dominantEntropy` and one prototype is the argmax of at least
///   `dominantShare` of the rows — every input lands on the same prototype.
public struct CollapseDetector: Sendable, Equatable {
    /// A collapse found in a step.
    public enum Collapse: Sendable, Equatable {
        /// Mean entropy (nats) close to ln K.
        case uniform(meanEntropy: Double)
        /// `prototype` is the argmax of `share` of the rows, with mean entropy `meanEntropy`.
        case dominant(prototype: Int, share: Double, meanEntropy: Double)
    }

    /// Relative distance to ln K under which the mean entropy counts as uniform (0.01).
    public let uniformTolerance: Double
    /// Mean entropy (nats) under which a dominant prototype is looked for (0.1).
    public let dominantEntropy: Double
    /// Share of rows one prototype must be the argmax of (0.9).
    public let dominantShare: Double

    /// A detector with these thresholds.
    public init(uniformTolerance: Double = 0.01, dominantEntropy: Double = 0.1, dominantShare: Double = 0.9) {
        self.uniformTolerance = uniformTolerance
        self.dominantEntropy = dominantEntropy
        self.dominantShare = dominantShare
    }

    /// Checks `probabilities` `[rows, K]` (rows summing to 1, host f32); nil when neither collapse is seen.
    public func check(probabilities: Tensor, rows: Int, prototypes: Int) -> Collapse? {
        precondition(probabilities.count >= rows * prototypes && rows > 0, "collapse check of \(rows)×\(prototypes): tensor too small")
        let p = UnsafePointer(probabilities.floats)
        var entropy = 0.0
        var argmaxCounts: [Int: Int] = [:]
        for row in 0..<rows {
            let pRow = p + row * prototypes
            var rowEntropy = 0.0, best = 0
            for k in 0..<prototypes {
                let value = Double(pRow[k])
                if value > 0 { rowEntropy -= value * Foundation.log(value) }
                if pRow[k] > pRow[best] { best = k }
            }
            entropy += rowEntropy
            argmaxCounts[best, default: 0] += 1
        }
        let meanEntropy = entropy / Double(rows)
        if meanEntropy >= (1 - uniformTolerance) * Foundation.log(Double(prototypes)) {
            return .uniform(meanEntropy: meanEntropy)
        }
        if meanEntropy < dominantEntropy, let (prototype, count) = argmaxCounts.max(by: { $0.value < $1.value }),
           Double(count) >= dominantShare * Double(rows) {
            return .dominant(prototype: prototype, share: Double(count) / Double(rows), meanEntropy: meanEntropy)
        }
        return nil
    }
}
