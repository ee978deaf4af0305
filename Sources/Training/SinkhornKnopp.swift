import Compute
import Foundation

/// Sinkhorn-Knopp normalisation of teacher logits, DINOv2's alternative to softmax centering
/// (`train.centering: "sinkhorn_knopp"`; distillation-spec.md §4.2; DINOv2 `DINOLoss.sinkhorn_knopp_teacher`,
/// `iBOTPatchLoss.sinkhorn_knopp_teacher`). With `Q = exp(T/τ_t)ᵀ` (`[K, n]`), DINOv2 computes
///
///     Q /= ΣQ;  repeat 3×: { Q /= rowsums(Q); Q /= K;  Q /= colsums(Q); Q /= n };  Q *= n;  P = Qᵀ
///
/// so that each of the n sample rows of P sums to 1 and every prototype gets about the same mass. The global
/// factors (ΣQ, K, n) cancel in the next normalisation, so P = exp(z + a_k + c_b) with per-prototype and
/// per-sample log-scalings `a`, `c` found by the same alternating updates; this type runs them in that log form,
/// in `Double` with the maximum subtracted in every log-sum-exp, so large `T/τ_t` neither overflows (PyTorch's
/// `exp` does above 88) nor underflows. `z = T/τ_t` is formed in float32 exactly as PyTorch does.
///
/// Sinkhorn is global over the step's rows (prototype sums run over all samples), so it takes the whole
/// `[n, K]` teacher logits: it is not what H0-mini uses (softmax centering is), and its cost is about
/// 2·iterations + 1 `exp` per element. World size 1 (no all-reduce).
public struct SinkhornKnopp: Sendable, Equatable {
    /// Alternating normalisations (3 in DINOv2).
    public let iterations: Int

    /// - Precondition: `iterations ≥ 1`.
    public init(iterations: Int = 3) {
        precondition(iterations >= 1, "Sinkhorn-Knopp needs at least one iteration")
        self.iterations = iterations
    }

    /// Teacher probabilities `output` `[rows, K]` from teacher logits `teacherLogits` `[rows, K]` at teacher
    /// temperature `temperature`; `output` may be `teacherLogits`.
    /// - Throws: `TrainingError.nonFiniteLogit` naming the first NaN/∞ logit (`name`, row, prototype).
    public func probabilities(teacherLogits: Tensor, rows: Int, prototypes: Int, temperature: Float, output: Tensor,
                              name: String = "teacher logits") throws(TrainingError) {
        let count = rows * prototypes
        precondition(teacherLogits.count >= count && output.count >= count, "Sinkhorn-Knopp on \(rows)×\(prototypes): a tensor is too small")
        guard rows > 0 else { return }
        let t = UnsafePointer(teacherLogits.floats)
        try InputChecks.finiteLogits(t, rows: rows, columns: prototypes, name: name, firstRow: 0)
        var z = [Double](repeating: 0, count: count)
        for index in 0..<count { z[index] = Double(t[index] / temperature) }
        var a = [Double](repeating: 0, count: prototypes)   // per-prototype log-scaling
        var c = [Double](repeating: 0, count: rows)         // per-sample log-scaling
        var columnMaximum = [Double](repeating: 0, count: prototypes)
        var columnSum = [Double](repeating: 0, count: prototypes)
        z.withUnsafeBufferPointer { z in
            for _ in 0..<iterations {
                // a_k = −log Σ_b exp(z[b,k] + c_b): every prototype's mass becomes the same.
                for k in 0..<prototypes { columnMaximum[k] = -.infinity; columnSum[k] = 0 }
                for b in 0..<rows {
                    let row = z.baseAddress! + b * prototypes
                    for k in 0..<prototypes { columnMaximum[k] = max(columnMaximum[k], row[k] + c[b]) }
                }
                for b in 0..<rows {
                    let row = z.baseAddress! + b * prototypes
                    for k in 0..<prototypes { columnSum[k] += Foundation.exp(row[k] + c[b] - columnMaximum[k]) }
                }
                for k in 0..<prototypes { a[k] = -(columnMaximum[k] + Foundation.log(columnSum[k])) }
                // c_b = −log Σ_k exp(z[b,k] + a_k): every sample row sums to 1.
                for b in 0..<rows {
                    let row = z.baseAddress! + b * prototypes
                    var maximum = -Double.infinity
                    for k in 0..<prototypes { maximum = max(maximum, row[k] + a[k]) }
                    var sum = 0.0
                    for k in 0..<prototypes { sum += Foundation.exp(row[k] + a[k] - maximum) }
                    c[b] = -(maximum + Foundation.log(sum))
                }
            }
            let y = output.floats
            for b in 0..<rows {
                let row = z.baseAddress! + b * prototypes
                for k in 0..<prototypes { y[b * prototypes + k] = Float(Foundation.exp(row[k] + a[k] + c[b])) }
            }
        }
    }
}
