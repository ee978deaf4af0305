extension CPUBackend {
    public func gelu(input: Tensor, output: Tensor, count: Int) {
        map(VectorMath.GELU.self, input, output, count, "gelu")
    }

    public func silu(input: Tensor, output: Tensor, count: Int) {
        map(VectorMath.SiLU.self, input, output, count, "silu")
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

    /// `output[i] = F(input[i])` for `i < count`, two vectors of eight lanes per step, split over the threads.
    /// (Generic over the function's type, so it is specialised and inlined into the loop.)
    @inline(__always)
    func map<F: VectorFunction>(_ function: F.Type, _ input: Tensor, _ output: Tensor, _ count: Int, _ name: StaticString) {
        let x = floats(input, count, name)
        let y = floats(output, count, name)
        let pairs = count / 16
        Parallel.forEachRange(count: pairs, threads: threads, minimumChunk: 2048) { range in
            for pair in range {
                let index = pair * 16
                let a = F.apply(x.vector(at: index))
                let b = F.apply(x.vector(at: index + 8))
                y.store(a, at: index)
                y.store(b, at: index + 8)
            }
        }
        var index = pairs * 16
        while index < count {
            let lanes = min(8, count - index)
            let value = F.apply(x.partialVector(at: index, count: lanes))
            if lanes == 8 { y.store(value, at: index) } else { y.storePartial(value, at: index, count: lanes) }
            index += 8
        }
    }
}
