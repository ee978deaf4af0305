import Compute
import Foundation

/// Feature distillation, the mode for a teacher without DINO/iBOT heads (the public H-optimus-0 backbone,
/// distillation-spec.md §3.3 "blocking issue", DESIGN.md §4): the student's CLS or patch features go through a
/// learned `FeatureProjector` to predictions `y` `[rows, D_t]`, which are pulled towards the teacher's
/// normalised features `z = layer_norm(t)` (per row, no affine, eps 1e-6: `F.layer_norm(t, (D_t,))`):
///
///     L = w_cos · (1/rows) Σ_r (1 − cos(y_r, z_r))  +  w_sl1 · (1/(rows·D_t)) Σ_{r,j} smoothL1_β(y_rj − z_rj)
///
/// in PyTorch terms `w_cos·(1 − F.cosine_similarity(y, z, dim=-1, eps=1e-8)).mean() +
/// w_sl1·F.smooth_l1_loss(y, z, beta=β)`. Apply it once to CLS rows and once to patch rows and add the two.
/// The gradient with respect to `y`:
///
///     ∂L/∂y_r = −(w_cos/rows)·(z_r/(‖y_r‖‖z_r‖) − cos_r·y_r/‖y_r‖²)  +  (w_sl1/(rows·D_t))·clamp((y_r − z_r)/β, −1, 1)
///
/// Rows are independent; per-row sums are taken in `Double`.
public struct FeatureDistillationLoss: Sendable, Equatable {
    /// Weights of the cosine and smooth-L1 terms.
    public let cosineWeight: Double, smoothL1Weight: Double
    /// Smooth-L1 threshold β (quadratic below, linear above).
    public let beta: Double
    /// LayerNorm epsilon of the target normalisation.
    public let normEpsilon: Double

    /// The two terms of a loss value.
    public struct Value: Sendable, Equatable {
        /// `w_cos · mean(1 − cos)`.
        public var cosine: Double
        /// `w_sl1 · mean smoothL1`.
        public var smoothL1: Double
        /// Their sum.
        public var total: Double { cosine + smoothL1 }
    }

    /// - Throws: `TrainingError.invalidConfiguration` for negative weights or β ≤ 0.
    public init(cosineWeight: Double = 1, smoothL1Weight: Double = 1, beta: Double = 1,
                normEpsilon: Double = 1e-6) throws(TrainingError) {
        guard cosineWeight >= 0, smoothL1Weight >= 0, beta > 0, normEpsilon > 0 else {
            throw .invalidConfiguration("feature distillation needs non-negative weights, β > 0 and ε > 0")
        }
        self.cosineWeight = cosineWeight
        self.smoothL1Weight = smoothL1Weight
        self.beta = beta
        self.normEpsilon = normEpsilon
    }

    /// The loss (weighted terms) and `gradient` = ∂L/∂predictions.
    /// - Parameters:
    ///   - predictions: projector outputs `[rows, dim]` (host f32); `teacherFeatures` `[rows, dim]`.
    ///   - gradient: `[rows, dim]`, overwritten.
    ///   - name: what the rows are (e.g. "CLS", "patch"), for the error.
    /// - Throws: `TrainingError.nonFiniteFeature` naming the first NaN/∞ prediction or teacher feature.
    public func lossAndGradient(predictions: Tensor, teacherFeatures: Tensor, gradient: Tensor, rows: Int, dim: Int,
                                name: String) throws(TrainingError) -> Value {
        let count = rows * dim
        for (what, tensor) in [("student \(name) predictions", predictions), ("teacher \(name) features", teacherFeatures)] {
            try InputChecks.shape(what, tensor, [rows, dim])
            let x = UnsafePointer(tensor.floats)
            for row in 0..<rows {
                if let column = RowReductions.firstNonFinite(x + row * dim, dim) {
                    throw .nonFiniteFeature(what: what, row: row, column: column, value: x[row * dim + column])
                }
            }
        }
        try InputChecks.shape("\(name) gradient", gradient, [rows, dim])
        let y = UnsafePointer(predictions.floats), t = UnsafePointer(teacherFeatures.floats), g = gradient.floats
        var z = [Double](repeating: 0, count: dim)
        var cosineSum = 0.0, smoothSum = 0.0
        let cosineFactor = cosineWeight / Double(rows), smoothFactor = smoothL1Weight / Double(count)
        for row in 0..<rows {
            let yRow = y + row * dim, tRow = t + row * dim, gRow = g + row * dim
            var mean = 0.0
            for j in 0..<dim { mean += Double(tRow[j]) }
            mean /= Double(dim)
            var variance = 0.0
            for j in 0..<dim { variance += (Double(tRow[j]) - mean) * (Double(tRow[j]) - mean) }
            let inverse = 1 / (variance / Double(dim) + normEpsilon).squareRoot()
            var dot = 0.0, yy = 0.0, zz = 0.0
            for j in 0..<dim {
                z[j] = Double(Float((Double(tRow[j]) - mean) * inverse))
                dot += Double(yRow[j]) * z[j]
                yy += Double(yRow[j]) * Double(yRow[j])
                zz += z[j] * z[j]
            }
            // F.cosine_similarity: x·y / sqrt(max(‖x‖²‖y‖², eps²)), eps = 1e-8.
            let denominator = max(yy * zz, 1e-16).squareRoot()
            let cosine = dot / denominator
            cosineSum += 1 - cosine
            let clamped = yy * zz > 1e-16
            for j in 0..<dim {
                let difference = Double(yRow[j]) - z[j]
                let magnitude = abs(difference)
                smoothSum += magnitude < beta ? 0.5 * difference * difference / beta : magnitude - 0.5 * beta
                let smoothSlope = max(-1, min(1, difference / beta))
                let cosineSlope = clamped ? z[j] / denominator - cosine * Double(yRow[j]) / yy : z[j] / denominator
                gRow[j] = Float(-cosineFactor * cosineSlope + smoothFactor * smoothSlope)
            }
        }
        return Value(cosine: cosineFactor * cosineSum, smoothL1: smoothFactor * smoothSum)
    }
}
