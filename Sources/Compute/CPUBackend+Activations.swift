extension CPUBackend {
    public func gelu(input: Tensor, output: Tensor, count: Int) {
        map(VectorMath.GELU.self, input, output, count, "gelu")
    }

    /// `dx = dy·(Φ(x) + x·φ(x))` with the vectorised `erf` and `exp` of the forward.
    public func geluBackward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor, count: Int) {
        let x = floats(input, count, "geluBackward input")
        let dy = floats(outputGradient, count, "geluBackward outputGradient")
        let dx = floats(inputGradient, count, "geluBackward inputGradient")
        let full = count & ~7
        Parallel.forEachRange(count: full / 8, threads: threads, minimumChunk: 1024) { range in
            for vector in range {
                let index = vector * 8
                dx.store(dy.vector(at: index) * VectorMath.geluDerivative(x.vector(at: index)), at: index)
            }
        }
        if full < count {
            let rest = count - full
            let value = dy.partialVector(at: full, count: rest) * VectorMath.geluDerivative(x.partialVector(at: full, count: rest))
            dx.storePartial(value, at: full, count: rest)
        }
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

    /// Per row, gate `a` and value `b`: `da = dy·b·σ(a)(1 + a(1 − σ(a)))`, `db = dy·a·σ(a)`.
    public func swiGLUBackward(input: Tensor, outputGradient: Tensor, inputGradient: Tensor, rows: Int, hidden: Int) {
        let x = floats(input, rows * 2 * hidden, "swiGLUBackward input")
        let dy = floats(outputGradient, rows * hidden, "swiGLUBackward outputGradient")
        let dx = floats(inputGradient, rows * 2 * hidden, "swiGLUBackward inputGradient")
        let one = SIMD8<Float>(repeating: 1)
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 8) { range in
            for row in range {
                let gate = x + row * 2 * hidden, value = gate + hidden
                let gradient = dy + row * hidden
                let gateGradient = dx + row * 2 * hidden, valueGradient = gateGradient + hidden
                for index in stride(from: 0, to: hidden, by: 8) {
                    let lanes = min(8, hidden - index)
                    let a = lanes == 8 ? gate.vector(at: index) : gate.partialVector(at: index, count: lanes)
                    let b = lanes == 8 ? value.vector(at: index) : value.partialVector(at: index, count: lanes)
                    let g = lanes == 8 ? gradient.vector(at: index) : gradient.partialVector(at: index, count: lanes)
                    let sigmoid = one / (one + VectorMath.exp(-a))
                    let da = g * b * sigmoid * (one + a * (one - sigmoid))
                    let db = g * a * sigmoid
                    if lanes == 8 {
                        gateGradient.store(da, at: index)
                        valueGradient.store(db, at: index)
                    } else {
                        gateGradient.storePartial(da, at: index, count: lanes)
                        valueGradient.storePartial(db, at: index, count: lanes)
                    }
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

    /// `branchGradient = gamma ⊙ residualGradient` by rows, then `gammaGradient += Σ_rows residualGradient ⊙ branch`
    /// by columns.
    public func layerScaleResidualBackward(residualGradient: Tensor, branch: Tensor, gamma: Tensor?, branchGradient: Tensor,
                                           gammaGradient: Tensor?, rows: Int, dim: Int) {
        let dr = floats(residualGradient, rows * dim, "layerScaleResidualBackward residualGradient")
        let b = floats(branch, rows * dim, "layerScaleResidualBackward branch")
        let db = floats(branchGradient, rows * dim, "layerScaleResidualBackward branchGradient")
        guard let gamma else {
            copy(from: residualGradient, to: branchGradient, count: rows * dim)
            return
        }
        let g = floats(gamma, dim, "layerScaleResidualBackward gamma")
        Parallel.forEachRange(count: rows, threads: threads, minimumChunk: 32) { range in
            for row in range {
                let source = dr + row * dim, target = db + row * dim
                for d in 0..<dim { target[d] = g[d] * source[d] }
            }
        }
        if let gammaGradient {
            let dg = floats(gammaGradient, dim, "layerScaleResidualBackward gammaGradient")
            addColumnSums(rows: rows, columns: dim, into: dg) { row, d, lanes in
                dr.vector(at: row * dim + d, lanes: lanes) * b.vector(at: row * dim + d, lanes: lanes)
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
