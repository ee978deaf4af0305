#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CPUBackend {
    public func layerNorm(input: Tensor, weight: Tensor, bias: Tensor, output: Tensor, rows: Int, dim: Int, eps: Float) {
        let x = floats(input, rows * dim, "layerNorm input")
        let y = floats(output, rows * dim, "layerNorm output")
        let w = floats(weight, dim, "layerNorm weight")
        let b = floats(bias, dim, "layerNorm bias")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 16) { range in
            for row in range {
                Self.layerNormRow(x + row * dim, y + row * dim, w, b, dim, eps)
            }
        }
    }

    /// One row of LayerNorm: two passes (mean, then biased variance about it, `layerNormStatistics`), then the
    /// affine map.
    @inline(__always)
    static func layerNormRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             _ w: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ dim: Int, _ eps: Float) {
        let (mean, inverse) = layerNormStatistics(x, dim, eps)
        let full = dim & ~7
        let meanVector = SIMD8<Float>(repeating: mean)
        let inverseVector = SIMD8<Float>(repeating: inverse)
        var index = 0
        while index < full {
            y.store((x.vector(at: index) - meanVector) * inverseVector * w.vector(at: index) + b.vector(at: index), at: index)
            index += 8
        }
        for tail in full..<dim { y[tail] = (x[tail] - mean) * inverse * w[tail] + b[tail] }
    }

    /// Two passes: by rows, μ and 1/σ recomputed as `layerNormRow` computes them (kept per row) and the input
    /// gradient; then by columns, the weight and bias gradients.
    public func layerNormBackward(input: Tensor, weight: Tensor, outputGradient: Tensor, inputGradient: Tensor,
                                  weightGradient: Tensor, biasGradient: Tensor, rows: Int, dim: Int, eps: Float) {
        let x = floats(input, rows * dim, "layerNormBackward input")
        let w = floats(weight, dim, "layerNormBackward weight")
        let dy = floats(outputGradient, rows * dim, "layerNormBackward outputGradient")
        let dx = floats(inputGradient, rows * dim, "layerNormBackward inputGradient")
        let dw = floats(weightGradient, dim, "layerNormBackward weightGradient")
        let db = floats(biasGradient, dim, "layerNormBackward biasGradient")
        let statistics = UnsafeMutablePointer<Float>.allocate(capacity: 2 * rows)
        defer { statistics.deallocate() }
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 16) { range in
            for row in range {
                let xr = x + row * dim, dyr = dy + row * dim, dxr = dx + row * dim
                let (mean, inverse) = Self.layerNormStatistics(xr, dim, eps)
                statistics[2 * row] = mean
                statistics[2 * row + 1] = inverse
                var sumG: Float = 0, sumGX: Float = 0
                for d in 0..<dim {
                    let g = dyr[d] * w[d]
                    sumG += g
                    sumGX += g * (xr[d] - mean) * inverse
                }
                let meanG = sumG / Float(dim), meanGX = sumGX / Float(dim)
                for d in 0..<dim {
                    let normalized = (xr[d] - mean) * inverse
                    dxr[d] += (dyr[d] * w[d] - meanG - normalized * meanGX) * inverse
                }
            }
        }
        addColumnSums(rows: rows, columns: dim, into: dw) { row, d, lanes in
            let mean = SIMD8<Float>(repeating: statistics[2 * row]), inverse = SIMD8<Float>(repeating: statistics[2 * row + 1])
            return dy.vector(at: row * dim + d, lanes: lanes) * (x.vector(at: row * dim + d, lanes: lanes) - mean) * inverse
        }
        addColumnSums(of: dy, rows: rows, columns: dim, into: db)
    }

    /// μ and 1/√(σ² + eps) of one row, with the same operations in the same order as `layerNormRow`.
    @inline(__always)
    static func layerNormStatistics(_ x: UnsafeMutablePointer<Float>, _ dim: Int, _ eps: Float) -> (mean: Float, inverse: Float) {
        let full = dim & ~7
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var index = 0
        while index + 16 <= full {
            sum0 += x.vector(at: index)
            sum1 += x.vector(at: index + 8)
            index += 16
        }
        if index < full { sum0 += x.vector(at: index) }
        var sum = (sum0 + sum1).sum()
        for tail in full..<dim { sum += x[tail] }
        let mean = sum / Float(dim)
        let meanVector = SIMD8<Float>(repeating: mean)
        var square0 = SIMD8<Float>(), square1 = SIMD8<Float>()
        index = 0
        while index + 16 <= full {
            let d0 = x.vector(at: index) - meanVector
            let d1 = x.vector(at: index + 8) - meanVector
            square0 += d0 * d0
            square1 += d1 * d1
            index += 16
        }
        if index < full {
            let d0 = x.vector(at: index) - meanVector
            square0 += d0 * d0
        }
        var squares = (square0 + square1).sum()
        for tail in full..<dim {
            let d = x[tail] - mean
            squares += d * d
        }
        return (mean, 1 / sqrtf(squares / Float(dim) + eps))
    }

    public func softmax(input: Tensor, output: Tensor, rows: Int, columns: Int, scale: Float) {
        let x = floats(input, rows * columns, "softmax input")
        let y = floats(output, rows * columns, "softmax output")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 16) { range in
            for row in range { Self.softmaxRow(x + row * columns, y + row * columns, columns, scale) }
        }
    }

    /// One row of `softmax(scale·x)`, with the maximum subtracted first.
    @inline(__always)
    static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ scale: Float) {
        let full = count & ~7
        let rest = count - full
        var maximumVector = SIMD8<Float>(repeating: -.infinity)
        var index = 0
        while index < full {
            maximumVector = VectorMath.maximum(maximumVector, x.vector(at: index))
            index += 8
        }
        var maximum = maximumVector.max()
        for tail in full..<count { maximum = max(maximum, x[tail]) }
        let shift = SIMD8<Float>(repeating: maximum)
        let scaleVector = SIMD8<Float>(repeating: scale)
        var sumVector = SIMD8<Float>()
        index = 0
        while index < full {
            let e = VectorMath.exp((x.vector(at: index) - shift) * scaleVector)
            y.store(e, at: index)
            sumVector += e
            index += 8
        }
        var sum = sumVector.sum()
        if rest > 0 {
            let e = VectorMath.exp((x.partialVector(at: full, count: rest) - shift) * scaleVector)
            y.storePartial(e, at: full, count: rest)
            for lane in 0..<rest { sum += e[lane] }
        }
        let inverse = SIMD8<Float>(repeating: 1 / sum)
        index = 0
        while index < full {
            y.store(y.vector(at: index) * inverse, at: index)
            index += 8
        }
        for tail in full..<count { y[tail] *= inverse[0] }
    }
}
