#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The projection heads' normalisations, forward beside backward: `F.normalize` of the bottleneck features and
/// the weight-normalised last layer (distillation-spec.md §3.1, gradients §4.10).
extension CPUBackend {
    public func l2Normalize(input: Tensor, output: Tensor, rows: Int, dim: Int, eps: Float) {
        let x = floats(input, rows * dim, "l2Normalize input")
        let y = floats(output, rows * dim, "l2Normalize output")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 16) { range in
            for row in range {
                let xr = x + row * dim, yr = y + row * dim
                let denominator = max(Self.norm(xr, dim), eps)
                for d in 0..<dim { yr[d] = xr[d] / denominator }
            }
        }
    }

    public func l2NormalizeBackward(input: Tensor, output: Tensor, outputGradient: Tensor, inputGradient: Tensor,
                                    rows: Int, dim: Int, eps: Float) {
        let x = floats(input, rows * dim, "l2NormalizeBackward input")
        let y = floats(output, rows * dim, "l2NormalizeBackward output")
        let dy = floats(outputGradient, rows * dim, "l2NormalizeBackward outputGradient")
        let dx = floats(inputGradient, rows * dim, "l2NormalizeBackward inputGradient")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 16) { range in
            for row in range {
                let yr = y + row * dim, dyr = dy + row * dim, dxr = dx + row * dim
                let norm = Self.norm(x + row * dim, dim)
                if norm > eps {
                    var projection: Float = 0
                    for d in 0..<dim { projection += dyr[d] * yr[d] }
                    for d in 0..<dim { dxr[d] = (dyr[d] - projection * yr[d]) / norm }
                } else {
                    for d in 0..<dim { dxr[d] = dyr[d] / eps }
                }
            }
        }
    }

    public func weightNorm(direction: Tensor, magnitude: Tensor, weight: Tensor, rows: Int, columns: Int) {
        let v = floats(direction, rows * columns, "weightNorm direction")
        let g = floats(magnitude, rows, "weightNorm magnitude")
        let w = floats(weight, rows * columns, "weightNorm weight")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 64) { range in
            for row in range {
                let vr = v + row * columns, wr = w + row * columns
                let factor = g[row] / Self.norm(vr, columns)
                for c in 0..<columns { wr[c] = vr[c] * factor }
            }
        }
    }

    public func weightNormBackward(direction: Tensor, magnitude: Tensor, weightGradient: Tensor, directionGradient: Tensor,
                                   magnitudeGradient: Tensor, rows: Int, columns: Int) {
        let v = floats(direction, rows * columns, "weightNormBackward direction")
        let g = floats(magnitude, rows, "weightNormBackward magnitude")
        let dw = floats(weightGradient, rows * columns, "weightNormBackward weightGradient")
        let dv = floats(directionGradient, rows * columns, "weightNormBackward directionGradient")
        let dg = floats(magnitudeGradient, rows, "weightNormBackward magnitudeGradient")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 64) { range in
            for row in range {
                let vr = v + row * columns, dwr = dw + row * columns, dvr = dv + row * columns
                let norm = Self.norm(vr, columns)
                var projection: Float = 0   // G·v̂
                for c in 0..<columns { projection += dwr[c] * vr[c] }
                projection /= norm
                dg[row] += projection
                let factor = g[row] / norm
                for c in 0..<columns { dvr[c] += factor * (dwr[c] - projection * vr[c] / norm) }
            }
        }
    }

    /// ‖x‖₂ of `count` elements.
    @inline(__always)
    static func norm(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var sum: Float = 0
        for index in 0..<count { sum += x[index] * x[index] }
        return sqrtf(sum)
    }
}
