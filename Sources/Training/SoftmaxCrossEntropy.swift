import Compute
import Foundation

/// The cross-entropy between teacher probabilities and a student's tempered softmax, over a chunk of rows, with
/// its closed-form gradient — the kernel under `DINOLoss` and `IBOTPatchLoss` (distillation-spec.md §4.3, §4.4,
/// §4.10; DINOv2 `dino_clstoken_loss.py` / `ibot_patch_loss.py`: `Σ_k t·log_softmax(s/τ)`).
///
/// For each student row `S[r]` (`[rows, K]`) and each teacher row `P_t[r]` (one or more `[rows, K]` tensors,
/// paired row by row):
///
///     z = S[r] / τ,   lse = log Σ_k exp(z_k)   (max subtracted: lse = max(z) − log max_k softmax(z)_k)
///     CE_t[r] = Σ_k P_t[r,k] · (lse − z_k)  =  −Σ_k P_t[r,k] · log_softmax(z)_k
///     gradient[r] = (w / τ) · (softmax(z) · Σ_t Σ_k P_t[r,k]  −  Σ_t P_t[r])      (∂(w·Σ_t CE_t)/∂S[r])
///
/// `w` is the weight of one row's cross-entropy in the caller's loss (1/(B·terms) for DINO, 1/rows for
/// iBOT). The sum over rows is what a caller accumulates, so a batch can be streamed in chunks of any size with
/// the same result. Softmax and log-softmax are float32 with the row maximum subtracted (the backend's
/// `softmax` kernel); per-row sums are carried in `Double`. The gradient uses `Σ_k P` as it is (not 1), which is
/// what autograd gives for `−Σ P·log_softmax`.
public enum SoftmaxCrossEntropy {
    /// Accumulates the chunk's cross-entropies and writes its gradient.
    /// - Parameters:
    ///   - student: student logits `[rows, K]` (host `f32`; a view of a larger tensor is fine).
    ///   - teachers: teacher probabilities, each `[rows, K]`, paired row by row with `student`.
    ///   - gradient: `[rows, K]`, overwritten with `∂(w·Σ CE)/∂student` (also the softmax's scratch).
    ///   - temperature: the student temperature τ (0.1 in DINOv2).
    ///   - weight: `w`, the factor of one row's cross-entropy in the loss.
    ///   - name: what `student` is, for the error; `firstRow`: the row of `student`'s row 0 in that tensor.
    /// - Returns: `Σ_r Σ_t CE_t[r]` (unweighted).
    /// - Throws: `TrainingError.nonFiniteLogit` naming the first NaN/∞ student logit.
    public static func accumulate(student: Tensor, teachers: [Tensor], gradient: Tensor, rows: Int, prototypes: Int,
                                  temperature: Float, weight: Float, backend: any Backend,
                                  name: String, firstRow: Int = 0) throws(TrainingError) -> Double {
        let count = rows * prototypes
        precondition(student.count >= count && gradient.count >= count && teachers.allSatisfy { $0.count >= count },
                     "cross-entropy chunk of \(rows)×\(prototypes): a tensor is too small")
        guard rows > 0 else { return 0 }
        let s = UnsafePointer(student.floats)
        try InputChecks.finiteLogits(s, rows: rows, columns: prototypes, name: name, firstRow: firstRow)
        let g = gradient.floats
        let p = teachers.map { UnsafePointer($0.floats) }
        // z = S/τ as PyTorch computes it (float32 division), then Σ P·z and Σ P per row before the softmax
        // overwrites z in place.
        let threads = RowParallel.threads(backend)
        var crossTerms = [Double](repeating: 0, count: rows), masses = [Double](repeating: 0, count: rows)
        var largest = [Float](repeating: 0, count: rows), rowLoss = [Double](repeating: 0, count: rows)
        crossTerms.withUnsafeMutableBufferPointer { crossTerms in
            masses.withUnsafeMutableBufferPointer { masses in
                largest.withUnsafeMutableBufferPointer { largest in
                    RowParallel.forEach(count: rows, threads: threads) { range in
                        for row in range {
                            let sRow = s + row * prototypes, gRow = g + row * prototypes
                            divide(sRow, by: temperature, into: gRow, prototypes)
                            largest[row] = RowReductions.maximum(UnsafePointer(gRow), prototypes)
                            for teacher in p {
                                let tRow = teacher + row * prototypes
                                masses[row] += RowReductions.sum(tRow, prototypes)
                                crossTerms[row] += RowReductions.dot(tRow, UnsafePointer(gRow), prototypes)
                            }
                        }
                    }
                }
            }
        }
        backend.softmax(input: gradient, output: gradient, rows: rows, columns: prototypes, scale: 1)
        let factor = weight / temperature
        rowLoss.withUnsafeMutableBufferPointer { rowLoss in
            RowParallel.forEach(count: rows, threads: threads) { range in
                for row in range {
                    let gRow = g + row * prototypes
                    // log Σ exp(z) = max(z) − log(softmax(z) at the maximum), since that entry is exp(0)/Σ.
                    let largestProbability = Double(RowReductions.maximum(UnsafePointer(gRow), prototypes))
                    let logSumExp = Double(largest[row]) - Foundation.log(largestProbability)
                    rowLoss[row] = logSumExp * masses[row] - crossTerms[row]
                    scaleRow(gRow, prototypes, by: factor * Float(masses[row]))
                    for teacher in p { subtract(teacher + row * prototypes, times: factor, from: gRow, prototypes) }
                }
            }
        }
        return rowLoss.reduce(0, +)
    }

    /// `y = x / d` element-wise (float32 division, as `tensor / python_float` in PyTorch).
    @inline(__always)
    static func divide(_ x: UnsafePointer<Float>, by d: Float, into y: UnsafeMutablePointer<Float>, _ count: Int) {
        let full = count & ~7
        let dv = SIMD8<Float>(repeating: d)
        var index = 0
        while index < full {
            RowReductions.store(RowReductions.load(x, index) / dv, y, index)
            index += 8
        }
        while index < count {
            y[index] = x[index] / d
            index += 1
        }
    }

    @inline(__always)
    static func scaleRow(_ x: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
        let full = count & ~7
        let f = SIMD8<Float>(repeating: factor)
        var index = 0
        while index < full {
            RowReductions.store(RowReductions.load(x, index) * f, x, index)
            index += 8
        }
        while index < count {
            x[index] *= factor
            index += 1
        }
    }

    /// `y −= factor·x`.
    @inline(__always)
    static func subtract(_ x: UnsafePointer<Float>, times factor: Float, from y: UnsafeMutablePointer<Float>, _ count: Int) {
        let full = count & ~7
        let f = SIMD8<Float>(repeating: factor)
        var index = 0
        while index < full {
            RowReductions.store(RowReductions.load(y, index) - f * RowReductions.load(x, index), y, index)
            index += 8
        }
        while index < count {
            y[index] -= factor * x[index]
            index += 1
        }
    }
}
