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
/// 2·iterations + 1 scalar `Double` `exp` per element. World size 1 (no all-reduce).
public struct SinkhornKnopp: Sendable, Equatable {
    /// Alternating normalisations (3 in DINOv2).
    public let iterations: Int

    /// - Precondition: `iterations ≥ 1`.
    public init(iterations: Int = 3) {
        precondition(iterations >= 1, "Sinkhorn-Knopp needs at least one iteration")
        self.iterations = iterations
    }

    /// Teacher probabilities `output` `[rows, K]` from teacher logits `teacherLogits` `[rows, K]` at teacher
    /// temperature `temperature`; `output` may be `teacherLogits` (each element is read before it is written in
    /// the last pass). Rows and prototypes are split over `threads`; the result does not depend on it. Memory: the
    /// two scalings (`K + rows` doubles) besides the tensors.
    /// - Throws: `TrainingError.nonFiniteLogit` naming the first NaN/∞ logit (`name`, row, prototype).
    public func probabilities(teacherLogits: Tensor, rows: Int, prototypes: Int, temperature: Float, output: Tensor,
                              name: String = "teacher logits", threads: Int = 1) throws(TrainingError) {
        let count = rows * prototypes
        precondition(teacherLogits.count >= count && output.count >= count, "Sinkhorn-Knopp on \(rows)×\(prototypes): a tensor is too small")
        guard rows > 0 else { return }
        let t = UnsafePointer(teacherLogits.floats)
        try InputChecks.finiteLogits(t, rows: rows, columns: prototypes, name: name, firstRow: 0)
        let k = prototypes
        // z = T/τ_t in float32 as PyTorch forms it, then carried in Double.
        @inline(__always) func z(_ index: Int) -> Double { Double(t[index] / temperature) }
        var a = [Double](repeating: 0, count: k)      // per-prototype log-scaling
        var c = [Double](repeating: 0, count: rows)   // per-sample log-scaling
        var columnMaximum = [Double](repeating: 0, count: k)
        a.withUnsafeMutableBufferPointer { a in
            c.withUnsafeMutableBufferPointer { c in
                columnMaximum.withUnsafeMutableBufferPointer { columnMaximum in
                    for _ in 0..<iterations {
                        // a_k = −log Σ_b exp(z[b,k] + c_b): every prototype gets the same mass.
                        RowParallel.forEach(count: k, threads: threads, minimumChunk: 64) { columns in
                            for column in columns { columnMaximum[column] = -.infinity; a[column] = 0 }
                            for b in 0..<rows {
                                for column in columns {
                                    columnMaximum[column] = max(columnMaximum[column], z(b * k + column) + c[b])
                                }
                            }
                            for b in 0..<rows {
                                for column in columns {
                                    a[column] += Foundation.exp(z(b * k + column) + c[b] - columnMaximum[column])
                                }
                            }
                            for column in columns { a[column] = -(columnMaximum[column] + Foundation.log(a[column])) }
                        }
                        // c_b = −log Σ_k exp(z[b,k] + a_k): every sample row sums to 1.
                        RowParallel.forEach(count: rows, threads: threads) { range in
                            for b in range {
                                var maximum = -Double.infinity
                                for column in 0..<k { maximum = max(maximum, z(b * k + column) + a[column]) }
                                var sum = 0.0
                                for column in 0..<k { sum += Foundation.exp(z(b * k + column) + a[column] - maximum) }
                                c[b] = -(maximum + Foundation.log(sum))
                            }
                        }
                    }
                    let y = output.floats
                    RowParallel.forEach(count: rows, threads: threads) { range in
                        for b in range {
                            for column in 0..<k { y[b * k + column] = Float(Foundation.exp(z(b * k + column) + a[column] + c[b])) }
                        }
                    }
                }
            }
        }
    }
}
