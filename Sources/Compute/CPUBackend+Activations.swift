extension CPUBackend {
    public func gelu(input: Tensor, output: Tensor, count: Int) {
        map(input, output, count, "gelu") { VectorMath.gelu($0) }
    }

    public func silu(input: Tensor, output: Tensor, count: Int) {
        map(input, output, count, "silu") { VectorMath.silu($0) }
    }

    public func swiGLU(input: Tensor, output: Tensor, rows: Int, hidden: Int) {
        let x = floats(input, rows * 2 * hidden, "swiGLU input")
        let y = floats(output, rows * hidden, "swiGLU output")
        let full = hidden & ~7
        let rest = hidden - full
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 8) { range in
            for row in range {
                let gate = x + row * 2 * hidden
                let value = gate + hidden
                let out = y + row * hidden
                var index = 0
                while index < full {
                    out.store(VectorMath.silu(gate.vector(at: index)) * value.vector(at: index), at: index)
                    index += 8
                }
                if rest > 0 {
                    let result = VectorMath.silu(gate.partialVector(at: full, count: rest)) * value.partialVector(at: full, count: rest)
                    out.storePartial(result, at: full, count: rest)
                }
            }
        }
    }

    public func layerScaleResidual(residual: Tensor, branch: Tensor, gamma: Tensor?, rows: Int, dim: Int) {
        let x = floats(residual, rows * dim, "layerScaleResidual residual")
        let y = floats(branch, rows * dim, "layerScaleResidual branch")
        guard let gamma else {
            Parallel.forEachRange(count: rows * dim, threads: threads, minimumChunk: 32_768) { range in
                for index in range { x[index] += y[index] }
            }
            return
        }
        let g = floats(gamma, dim, "layerScaleResidual gamma")
        let full = dim & ~7
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 32) { range in
            for row in range {
                let r = x + row * dim
                let b = y + row * dim
                var index = 0
                while index < full {
                    r.store(r.vector(at: index) + g.vector(at: index) * b.vector(at: index), at: index)
                    index += 8
                }
                for tail in full..<dim { r[tail] += g[tail] * b[tail] }
            }
        }
    }

    /// `output[i] = f(input[i])` for `i < count`, eight lanes at a time, split over the threads.
    @inline(__always)
    func map(_ input: Tensor, _ output: Tensor, _ count: Int, _ name: StaticString, _ function: (SIMD8<Float>) -> SIMD8<Float>) {
        let x = floats(input, count, name)
        let y = floats(output, count, name)
        let vectors = count / 8
        Parallel.forEachRange(count: vectors, threads: threads, minimumChunk: 4096) { range in
            for vector in range { y.store(function(x.vector(at: vector * 8)), at: vector * 8) }
        }
        let rest = count - vectors * 8
        if rest > 0 {
            y.storePartial(function(x.partialVector(at: vectors * 8, count: rest)), at: vectors * 8, count: rest)
        }
    }
}
