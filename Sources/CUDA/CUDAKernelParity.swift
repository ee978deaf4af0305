import Compute
import Training
#if canImport(Glibc)
import Glibc
#endif

/// The training kernels (`CUDATrainingKernels`) against their CPU references on the same pseudo-random inputs, the
/// first device check of issue #10 before the whole step exists: each backward kernel against the `CPUBackend`
/// method it mirrors, the optimiser kernels against `GradientClipping`, `AdamW` and `StudentEMA` (same bits
/// expected: the kernels use the CPU's order with rounded intrinsics), and the loss kernels against
/// `SoftmaxCentering`, `SoftmaxCrossEntropy` and `SinkhornKnopp`. Rows are `CUDAParity.Row`s (model `kernels`):
/// relative error `max|a − b| / max|b|` within the row's tolerance (1e-2 where the kernel writes bf16, 1e-4 for f32
/// results, 1e-6 where the CPU's bits are expected), no NaN (outputs are poisoned with NaN first). Shapes are small
/// (ViT-B widths, a few hundred rows, K = 4,096) so the whole check takes seconds.
public enum CUDAKernelParity {
    /// Tolerances: bf16 outputs, f32 outputs, outputs that should carry the CPU's bits.
    public static let bf16Tolerance = 1e-2, f32Tolerance = 1e-4, exactTolerance = 1e-6

    /// Runs every case on `backend`.
    /// - Throws: `CUDAError` from the device; `TrainingError` from the CPU references (not expected on these inputs).
    public static func run(backend: CUDABackend) throws -> [CUDAParity.Row] {
        let h = Harness(backend: backend)
        var rows: [CUDAParity.Row] = []
        rows += try normalization(h)
        rows += try activationsAndAttention(h)
        rows += try fusedAttention(h, batch: 2, heads: 2, tokens: 261, headDim: 64)
        rows += try fusedAttention(h, batch: 1, heads: 3, tokens: 54, headDim: 32)
        rows += try tokens(h)
        rows += try head(h)
        rows += try optimizer(h)
        rows += try loss(h)
        rows += try lossScalarPath(h)
        rows += try centeredCrossEntropy(h, prototypes: 4096)
        rows += try centeredCrossEntropy(h, prototypes: 1001)
        return rows
    }

    /// Host and device buffers of one check.
    struct Harness {
        let backend: CUDABackend
        let kernels: CUDATrainingKernels
        let cpu = CPUBackend(threads: CPUBackend.availableCores)

        init(backend: CUDABackend) {
            self.backend = backend
            kernels = CUDATrainingKernels(backend: backend)
        }

        /// `count` values uniform in `[−scale, scale)`, one stream per `seed` (`ParityRandom`).
        func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] { ParityRandom.uniform(count, seed: seed, scale: scale) }

        /// `values` rounded to bf16 (what a bf16 device buffer holds).
        func rounded(_ values: [Float]) -> [Float] {
            values.map { Float(bitPattern: UInt32(DTypeConversion.bfloat16Bits($0)) << 16) }
        }

        func device(_ values: [Float]) throws(CUDAError) -> Tensor {
            let tensor = try backend.makeTensor(shape: [values.count], dtype: .f32)
            try values.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor) } }.get()
            return tensor
        }

        func deviceBF16(_ values: [Float]) throws(CUDAError) -> Tensor {
            let bits = values.map(DTypeConversion.bfloat16Bits)
            let tensor = try backend.makeTensor(shape: [values.count], dtype: .bf16)
            try bits.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor) } }.get()
            return tensor
        }

        /// A poisoned (NaN) output tensor.
        func output(_ count: Int, _ dtype: DType = .f32) throws(CUDAError) -> Tensor {
            let tensor = try backend.makeTensor(shape: [count], dtype: dtype)
            try backend.poison(tensor)
            return tensor
        }

        /// A zeroed buffer of `count` 8-byte words (f64, u64), as an f32 tensor of `2·count`.
        func words(_ count: Int) throws(CUDAError) -> Tensor {
            let tensor = try backend.makeTensor(shape: [2 * count], dtype: .f32)
            try backend.fillWords(tensor, 0)
            return tensor
        }

        /// A non-finite flag (u64) reset to all ones.
        func flag() throws(CUDAError) -> Tensor {
            let tensor = try words(1)
            try kernels.resetNonFinite(tensor)
            return tensor
        }

        func flagValue(_ tensor: Tensor) throws(CUDAError) -> UInt64 {
            try backend.downloadBytes(tensor).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        }

        func floats(_ tensor: Tensor) throws(CUDAError) -> [Float] {
            if tensor.dtype == .f32 { return try backend.downloadFloats(tensor) }
            let bytes = try backend.downloadBytes(tensor)
            return (0..<tensor.count).map { index in
                Float(bitPattern: UInt32(UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8) << 16)
            }
        }

        func doubles(_ tensor: Tensor, _ count: Int) throws(CUDAError) -> [Double] {
            let bytes = try backend.downloadBytes(tensor)
            return bytes.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) } }
        }

        func host(_ values: [Float]) -> Tensor {
            let tensor = cpu.makeTensor(shape: [values.count])
            values.withUnsafeBufferPointer { cpu.upload($0, to: tensor) }
            return tensor
        }

        func row(_ kernel: String, _ input: String, _ output: String, cuda: [Float], expected: [Float], tolerance: Double) -> CUDAParity.Row {
            CUDAParity.Row(model: "kernels", input: input, output: "\(kernel) \(output)", reference: "cpu", cuda: cuda,
                           expected: expected, tolerance: tolerance)
        }
    }

    // MARK: LayerNorm, LayerScale, column sums

    /// `layer_norm_backward_*` (`_warps_` up to 768 columns) against `CPUBackend.layerNormBackward`, f32 and bf16 `dy`.
    static func layerNormBackward(_ h: Harness, rows: Int, dim: Int) throws -> [CUDAParity.Row] {
        let eps: Float = 1e-6, input = "\(rows)×\(dim)"
        let x = h.random(rows * dim, seed: 11, scale: 2), weight = h.random(dim, seed: 12)
        let start = h.random(rows * dim, seed: 14, scale: 0.1), startW = h.random(dim, seed: 15), startB = h.random(dim, seed: 16)
        var result: [CUDAParity.Row] = []
        for bf16 in [false, true] {
            let dy = bf16 ? h.rounded(h.random(rows * dim, seed: 17)) : h.random(rows * dim, seed: 17)
            let (cx, cw, cb) = (h.host(start), h.host(startW), h.host(startB))
            h.cpu.layerNormBackward(input: h.host(x), weight: h.host(weight), outputGradient: h.host(dy), inputGradient: cx,
                                    weightGradient: cw, biasGradient: cb, rows: rows, dim: dim, eps: eps)
            let (dx, dw, db) = (try h.device(start), try h.device(startW), try h.device(startB))
            let partials = try h.output(2 * LaunchConfiguration.parts(rows: rows) * dim)
            try h.kernels.layerNormBackward(x: try h.device(x), weight: try h.device(weight), dy: bf16 ? try h.deviceBF16(dy) : try h.device(dy),
                                            dx: dx, dWeight: dw, dBias: db, partials: partials, rows: rows, dim: dim, eps: eps)
            let name = "layer_norm_backward_" + (dim <= LaunchConfiguration.layerNormBackwardWarpColumns ? "warps_" : "") + (bf16 ? "bf16" : "f32")
            result.append(h.row(name, input, "dx (+=)", cuda: try h.floats(dx), expected: h.cpu.download(cx), tolerance: f32Tolerance))
            result.append(h.row(name, input, "dweight (+=)", cuda: try h.floats(dw), expected: h.cpu.download(cw), tolerance: f32Tolerance))
            result.append(h.row(name, input, "dbias (+=)", cuda: try h.floats(db), expected: h.cpu.download(cb), tolerance: f32Tolerance))
        }
        return result
    }

    /// `layer_scale_backward` (dres f32, branch bf16) against `CPUBackend.layerScaleResidualBackward`; its bias sums
    /// against the CPU's dbranch summed in Double and against `column_partial_sums_bf16` of the stored dbranch — the
    /// same bits.
    static func layerScaleBackward(_ h: Harness, rows: Int, dim: Int, layerScale: Bool) throws -> [CUDAParity.Row] {
        let input = "\(rows)×\(dim)" + (layerScale ? "" : ", no LayerScale")
        let dres = h.random(rows * dim, seed: 18), branch = h.rounded(h.random(rows * dim, seed: 19)), gamma = h.random(dim, seed: 20)
        let startGamma = h.random(dim, seed: 15), startBias = h.random(dim, seed: 16)
        let cBranch = h.host([Float](repeating: 0, count: rows * dim)), cGamma = h.host(startGamma)
        h.cpu.layerScaleResidualBackward(residualGradient: h.host(dres), branch: h.host(branch), gamma: layerScale ? h.host(gamma) : nil,
                                         branchGradient: cBranch, gammaGradient: layerScale ? cGamma : nil, rows: rows, dim: dim)
        let expectedBranch = h.cpu.download(cBranch), storedBranch = h.rounded(expectedBranch)
        let expectedBias = (0..<dim).map { c in
            Float((0..<rows).reduce(Double(startBias[c])) { $0 + Double(storedBranch[$1 * dim + c]) })
        }
        let dBranch = try h.output(rows * dim, .bf16), dGamma = try h.device(startGamma), dBias = try h.device(startBias)
        let partials = try h.output(2 * LaunchConfiguration.parts(rows: rows) * dim)
        try h.kernels.layerScaleBackward(dres: try h.device(dres), branch: try h.deviceBF16(branch), gamma: layerScale ? try h.device(gamma) : nil,
                                         dBranch: dBranch, dGamma: layerScale ? dGamma : nil, biasGradient: dBias, partials: partials,
                                         rows: rows, dim: dim)
        let summed = try h.device(startBias)
        try h.kernels.addColumnSums(of: dBranch, rows: rows, cols: dim, into: summed, partials: try h.output(LaunchConfiguration.parts(rows: rows) * dim))
        let bias = try h.floats(dBias)
        var result = [
            h.row("layer_scale_backward", input, "dbranch", cuda: try h.floats(dBranch), expected: expectedBranch, tolerance: bf16Tolerance),
            h.row("layer_scale_backward", input, "bias gradient (+=, Σ rows of the rounded CPU dbranch)", cuda: bias, expected: expectedBias,
                  tolerance: f32Tolerance),
            h.row("layer_scale_backward", input, "bias gradient = column_partial_sums_bf16 of the stored dbranch", cuda: bias,
                  expected: try h.floats(summed), tolerance: 0),
        ]
        if layerScale {
            result.append(h.row("layer_scale_backward", input, "dgamma (+=)", cuda: try h.floats(dGamma), expected: h.cpu.download(cGamma),
                                tolerance: f32Tolerance))
        }
        return result
    }

    static func normalization(_ h: Harness) throws -> [CUDAParity.Row] {
        let rows = 200, dim = 768
        // LayerNorm backward at the student's width (the warp-per-row kernel, four columns per access), at a width
        // that is not a multiple of 4 (the same kernel, one column per access) and wider (the block-per-part kernel).
        var result = try layerNormBackward(h, rows: rows, dim: dim) + layerNormBackward(h, rows: 50, dim: 766)
            + layerNormBackward(h, rows: 130, dim: 1024)
        // LayerScale backward (with the next GEMM's bias sums) at the student's width (four columns per access), at
        // one that is not a multiple of 4 (one column) and without LayerScale (a copy).
        result += try layerScaleBackward(h, rows: rows, dim: dim, layerScale: true)
            + layerScaleBackward(h, rows: 50, dim: 766, layerScale: true) + layerScaleBackward(h, rows: 70, dim: dim, layerScale: false)
        // Column sums of a bf16 matrix (every bias gradient), reference in Double: four columns per access, then one
        // (501 columns; a matrix one element past an 8-byte boundary).
        for (cols, offset) in [(500, 0), (501, 0), (500, 1)] {
            let sumRows = 300
            let matrix = h.rounded(h.random(sumRows * cols, seed: 21))
            let startSum = h.random(cols, seed: 22)
            var expected = [Float](repeating: 0, count: cols)
            for c in 0..<cols {
                var sum = 0.0
                for r in 0..<sumRows { sum += Double(matrix[r * cols + c]) }
                expected[c] = Float(Double(startSum[c]) + sum)
            }
            let target = try h.device(startSum)
            let source = try h.deviceBF16([Float](repeating: 0, count: offset) + matrix)
            try h.kernels.addColumnSums(of: source.view(offset: offset, shape: [sumRows, cols]), rows: sumRows, cols: cols, into: target,
                                        partials: try h.output(LaunchConfiguration.parts(rows: sumRows) * cols))
            result.append(h.row("column_partial_sums_bf16 + accumulate_partials", "\(sumRows)×\(cols)\(offset > 0 ? ", 2-byte aligned" : "")",
                                "sums (+=)", cuda: try h.floats(target), expected: expected, tolerance: f32Tolerance))
        }
        return result
    }

    // MARK: MLP activations, attention

    /// `bias_swiglu_backward` on `x [rows, 2·hidden]` (bf16 values) and `bias`: dx against `CPUBackend.swiGLUBackward`,
    /// the bias gradient (starting from 1) against the CPU's column sums of its dx, and against `addColumnSums` of the
    /// stored dx — the same bits (hidden a multiple of 4: four columns per access; else one).
    static func swiGLUBackward(_ h: Harness, rows: Int, hidden: Int, x: [Float], bias: [Float], seed: UInt64) throws -> [CUDAParity.Row] {
        let width = 2 * hidden, input = "\(rows)×2·\(hidden)"
        let biased = (0..<x.count).map { x[$0] + bias[$0 % width] }
        let dy = h.rounded(h.random(rows * hidden, seed: seed))
        let cDx = h.host([Float](repeating: 0, count: x.count))
        h.cpu.swiGLUBackward(input: h.host(biased), outputGradient: h.host(dy), inputGradient: cDx, rows: rows, hidden: hidden)
        let expectedDx = h.cpu.download(cDx)
        let expectedBias = (0..<width).map { c in 1 + (0..<rows).reduce(Float(0)) { $0 + expectedDx[$1 * width + c] } }
        let dx = try h.output(x.count, .bf16), biasGradient = try h.device([Float](repeating: 1, count: width))
        let partials = try h.output(LaunchConfiguration.parts(rows: rows) * width)
        try h.kernels.biasSwiGLUBackward(x: try h.deviceBF16(x), bias: try h.device(bias), dy: try h.deviceBF16(dy), dx: dx,
                                         biasGradient: biasGradient, partials: partials, rows: rows, hidden: hidden)
        let summed = try h.device([Float](repeating: 1, count: width))
        try h.kernels.addColumnSums(of: dx, rows: rows, cols: width, into: summed, partials: try h.output(LaunchConfiguration.parts(rows: rows) * width))
        let fused = try h.floats(biasGradient)
        return [
            h.row("bias_swiglu_backward", input, "dx", cuda: try h.floats(dx), expected: expectedDx, tolerance: bf16Tolerance),
            h.row("bias_swiglu_backward", input, "fc1 bias gradient (Σ rows of the CPU's dx)", cuda: fused, expected: expectedBias,
                  tolerance: bf16Tolerance),
            h.row("bias_swiglu_backward", input, "fc1 bias gradient = column_partial_sums_bf16 of the stored dx", cuda: fused,
                  expected: try h.floats(summed), tolerance: 0),
        ]
    }

    static func activationsAndAttention(_ h: Harness) throws -> [CUDAParity.Row] {
        var result: [CUDAParity.Row] = []
        let rows = 150, hidden = 1024
        let x = h.rounded(h.random(rows * 2 * hidden, seed: 31, scale: 3)), bias = h.random(2 * hidden, seed: 32)
        let dy = h.rounded(h.random(rows * 2 * hidden, seed: 33))
        let biased = zip(x, (0..<x.count).map { bias[$0 % (2 * hidden)] }).map { $0 + $1 }
        // GELU over [rows, 2·hidden].
        let cols = 2 * hidden, input = "\(rows)×\(cols)"
        let cGELU = h.host([Float](repeating: 0, count: x.count)), cGrad = h.host([Float](repeating: 0, count: x.count))
        h.cpu.gelu(input: h.host(biased), output: cGELU, count: x.count)
        h.cpu.geluBackward(input: h.host(biased), outputGradient: h.host(dy), inputGradient: cGrad, count: x.count)
        let y = try h.output(x.count, .bf16), dx = try h.output(x.count, .bf16)
        let dx16 = try h.deviceBF16(x), dBias = try h.device(bias)
        try h.kernels.biasGELUStore(x: dx16, bias: dBias, y: y, rows: rows, cols: cols)
        try h.kernels.biasGELUBackward(x: dx16, bias: dBias, dy: try h.deviceBF16(dy), dx: dx, rows: rows, cols: cols)
        result.append(h.row("bias_gelu_store", input, "y", cuda: try h.floats(y), expected: h.cpu.download(cGELU), tolerance: bf16Tolerance))
        result.append(h.row("bias_gelu_backward", input, "dx", cuda: try h.floats(dx), expected: h.cpu.download(cGrad), tolerance: bf16Tolerance))
        // SwiGLU: x [rows, 2·hidden] → y [rows, hidden]; its backward also sums fc1's bias gradient.
        result += try swiGLUBackward(h, rows: rows, hidden: hidden, x: x, bias: bias, seed: 34)
        let (oddRows, oddHidden) = (70, 1022)
        result += try swiGLUBackward(h, rows: oddRows, hidden: oddHidden,
                                     x: h.rounded(h.random(oddRows * 2 * oddHidden, seed: 36, scale: 3)),
                                     bias: h.random(2 * oddHidden, seed: 37), seed: 38)
        // Softmax backward over rows of ld = 264 with 261 columns (ViT-B at 224 px), reference in Double.
        let (softRows, columns, ld) = (96, 261, 264)
        var probabilities = [Float](repeating: 0, count: softRows * ld)
        let logits = h.random(softRows * ld, seed: 35, scale: 4)
        for r in 0..<softRows {
            let row = (0..<columns).map { Double(logits[r * ld + $0]) }
            let maximum = row.max()!
            let e = row.map { exp($0 - maximum) }
            let sum = e.reduce(0, +)
            for j in 0..<columns { probabilities[r * ld + j] = Float(e[j] / sum) }
        }
        probabilities = h.rounded(probabilities)
        let dP = h.random(softRows * ld, seed: 36), scale: Float = 0.125
        var expected = [Float](repeating: 0, count: softRows * ld)
        for r in 0..<softRows {
            var dot = 0.0
            for j in 0..<columns { dot += Double(probabilities[r * ld + j]) * Double(dP[r * ld + j]) }
            for j in 0..<columns { expected[r * ld + j] = Float(Double(scale) * Double(probabilities[r * ld + j]) * (Double(dP[r * ld + j]) - dot)) }
        }
        let dS = try h.output(softRows * ld, .bf16)
        try h.kernels.softmaxBackward(probabilities: try h.deviceBF16(probabilities), dProbabilities: try h.device(dP), dScores: dS,
                                      rows: softRows, columns: columns, ld: ld, scale: scale)
        result.append(h.row("softmax_backward_rows", "\(softRows)×\(columns) (ld \(ld))", "dscores", cuda: try h.floats(dS),
                            expected: expected, tolerance: bf16Tolerance))
        // The permutations: qkv_split then qkv_split_backward, merge_heads_backward then merge_heads give the input back.
        let (batch, tokens, heads, headDim) = (2, 54, 12, 64)
        let dim = heads * headDim
        let qkv = h.rounded(h.random(batch * tokens * 3 * dim, seed: 37))
        let each = batch * tokens * dim
        let (q, k, v) = (try h.output(each, .bf16), try h.output(each, .bf16), try h.output(each, .bf16))
        try h.kernels.qkvSplit(qkv: try h.deviceBF16(qkv), q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        let back = try h.output(qkv.count, .bf16)
        try h.kernels.qkvSplitBackward(dq: q, dk: k, dv: v, dqkv: back, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        result.append(h.row("qkv_split_backward", "\(batch)×\(tokens)×3×\(heads)×\(headDim)", "∘ qkv_split = identity",
                            cuda: try h.floats(back), expected: qkv, tolerance: 0))
        let merged = h.rounded(h.random(each, seed: 38))
        let split = try h.output(each, .bf16), again = try h.output(each, .bf16)
        try h.kernels.mergeHeadsBackward(dout: try h.deviceBF16(merged), dheads: split, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        try h.kernels.mergeHeads(o: split, out: again, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        result.append(h.row("merge_heads_backward", "\(batch)×\(tokens)×\(dim)", "then merge_heads = identity",
                            cuda: try h.floats(again), expected: merged, tolerance: 0))
        return result
    }

    /// The fused attention of training (`FusedAttention.forward` with its log-sum-exp, then `FusedAttention.backward`)
    /// against softmax(Q·Kᵀ/√hd)·V and its gradients computed in Double from the same bf16 inputs: O, dQ, dK, dV
    /// (δ from the exact O). `tokens` not a multiple of 64 exercises the masked last tiles.
    static func fusedAttention(_ h: Harness, batch: Int, heads: Int, tokens: Int, headDim: Int) throws -> [CUDAParity.Row] {
        let dim = heads * headDim, rows = batch * tokens, stride = LaunchConfiguration.padded(tokens), pairs = batch * heads
        let qkv = h.rounded(h.random(rows * 3 * dim, seed: 41, scale: 2)), dO = h.rounded(h.random(rows * dim, seed: 42))
        var o = [Float](repeating: 0, count: rows * dim), dqkv = [Float](repeating: 0, count: rows * 3 * dim)
        let scale = 1 / Double(headDim).squareRoot()
        for b in 0..<batch {
            for head in 0..<heads {
                func at(_ part: Int, _ token: Int, _ e: Int) -> Double { Double(qkv[(b * tokens + token) * 3 * dim + part * dim + head * headDim + e]) }
                func gradient(_ token: Int, _ e: Int) -> Double { Double(dO[(b * tokens + token) * dim + head * headDim + e]) }
                var p = [Double](repeating: 0, count: tokens * tokens), outputs = [Double](repeating: 0, count: tokens * headDim)
                for i in 0..<tokens {
                    let s = (0..<tokens).map { j in (0..<headDim).reduce(0.0) { $0 + at(0, i, $1) * at(1, j, $1) } * scale }
                    let maximum = s.max()!, e = s.map { exp($0 - maximum) }, sum = e.reduce(0, +)
                    for j in 0..<tokens { p[i * tokens + j] = e[j] / sum }
                    for c in 0..<headDim {
                        outputs[i * headDim + c] = (0..<tokens).reduce(0.0) { $0 + p[i * tokens + $1] * at(2, $1, c) }
                        o[(b * tokens + i) * dim + head * headDim + c] = Float(outputs[i * headDim + c])
                    }
                }
                var dS = [Double](repeating: 0, count: tokens * tokens)
                for i in 0..<tokens {
                    let delta = (0..<headDim).reduce(0.0) { $0 + gradient(i, $1) * outputs[i * headDim + $1] }
                    for j in 0..<tokens {
                        let dP = (0..<headDim).reduce(0.0) { $0 + gradient(i, $1) * at(2, j, $1) }
                        dS[i * tokens + j] = p[i * tokens + j] * (dP - delta)
                    }
                }
                for token in 0..<tokens {
                    for c in 0..<headDim {
                        let base = (b * tokens + token) * 3 * dim + head * headDim + c
                        dqkv[base] = Float(scale * (0..<tokens).reduce(0.0) { $0 + dS[token * tokens + $1] * at(1, $1, c) })
                        dqkv[base + dim] = Float(scale * (0..<tokens).reduce(0.0) { $0 + dS[$1 * tokens + token] * at(0, $1, c) })
                        dqkv[base + 2 * dim] = Float((0..<tokens).reduce(0.0) { $0 + p[$1 * tokens + token] * gradient($1, c) })
                    }
                }
            }
        }
        let output = try h.output(rows * dim, .bf16), lse = try h.output(pairs * stride), delta = try h.output(pairs * stride)
        let qkvGradient = try h.output(rows * 3 * dim, .bf16), qkvDevice = try h.deviceBF16(qkv)
        try FusedAttention.forward(h.backend, qkv: qkvDevice, output: output, lse: lse, lseStride: stride, batch: batch, tokens: tokens,
                                   heads: heads, headDim: headDim)
        try FusedAttention.backward(h.backend, qkv: qkvDevice, output: output, outputGradient: try h.deviceBF16(dO), lse: lse, delta: delta,
                                    stride: stride, qkvGradient: qkvGradient, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
        let cuda = try h.floats(qkvGradient), input = "\(batch)×\(tokens)×3×\(heads)×\(headDim)"
        func part(_ values: [Float], _ index: Int) -> [Float] {
            (0..<rows).flatMap { r in values[(r * 3 + index) * dim..<(r * 3 + index + 1) * dim] }
        }
        return [h.row("attention_fused_hd\(headDim)", input, "O (with lse)", cuda: try h.floats(output), expected: o, tolerance: bf16Tolerance)]
            + ["dq", "dk", "dv"].enumerated().map { index, name in
                h.row("attention_backward_*_hd\(headDim)", input, name, cuda: part(cuda, index), expected: part(dqkv, index),
                      tolerance: bf16Tolerance)
            }
    }

    // MARK: token sequence

    static func tokens(_ h: Harness) throws -> [CUDAParity.Row] {
        let (batch, patches, registers, dim) = (3, 49, 4, 768)
        let length = 1 + registers + patches
        let dres = h.random(batch * length * dim, seed: 41)
        let startCls = h.random(dim, seed: 42), startReg = h.random(registers * dim, seed: 43), startPos = h.random(patches * dim, seed: 44)
        let cPatch = h.host([Float](repeating: 0, count: batch * patches * dim))
        let (cCls, cReg, cPos) = (h.host(startCls), h.host(startReg), h.host(startPos))
        h.cpu.assembleTokensBackward(outputGradient: h.host(dres), patchTokensGradient: cPatch, classTokenGradient: cCls,
                                     registerTokensGradient: cReg, positionsGradient: cPos, batch: batch, patches: patches,
                                     registers: registers, dim: dim)
        let dPatch = try h.output(batch * patches * dim, .bf16)
        let (dCls, dReg, dPos) = (try h.device(startCls), try h.device(startReg), try h.device(startPos))
        try h.kernels.assembleTokensBackward(dres: try h.device(dres), dPatch: dPatch, dCls: dCls, dRegisters: dReg, dPositions: dPos,
                                             batch: batch, patches: patches, registers: registers, dim: dim)
        let input = "\(batch)×(1+\(registers)+\(patches))×\(dim)"
        var result = [
            h.row("patch_tokens_backward", input, "dpatch", cuda: try h.floats(dPatch), expected: h.cpu.download(cPatch), tolerance: bf16Tolerance),
            h.row("token_parameters_backward", input, "dcls (+=)", cuda: try h.floats(dCls), expected: h.cpu.download(cCls), tolerance: f32Tolerance),
            h.row("token_parameters_backward", input, "dreg (+=)", cuda: try h.floats(dReg), expected: h.cpu.download(cReg), tolerance: f32Tolerance),
            h.row("token_parameters_backward", input, "dpos (+=)", cuda: try h.floats(dPos), expected: h.cpu.download(cPos), tolerance: f32Tolerance),
        ]
        let (first, count) = (1 + registers, patches)
        let selected = h.random(batch * count * dim, seed: 45)
        let cTokens = h.host(dres)
        h.cpu.selectTokensBackward(outputGradient: h.host(selected), tokensGradient: cTokens, batch: batch, length: length, first: first,
                                   count: count, dim: dim)
        let dTokens = try h.device(dres)
        try h.kernels.selectTokensBackward(dSelected: try h.device(selected), dTokens: dTokens, batch: batch, length: length, first: first,
                                           count: count, dim: dim)
        result.append(h.row("select_tokens_backward", input, "dtokens (+=)", cuda: try h.floats(dTokens), expected: h.cpu.download(cTokens),
                            tolerance: f32Tolerance))
        return result
    }

    // MARK: head normalisations

    static func head(_ h: Harness) throws -> [CUDAParity.Row] {
        var result: [CUDAParity.Row] = []
        let (rows, dim, eps) = (100, 256, DINOHead.normalizeEps)
        let x = h.random(rows * dim, seed: 51), dy = h.random(rows * dim, seed: 52)
        let cY = h.host([Float](repeating: 0, count: x.count)), cDx = h.host([Float](repeating: 0, count: x.count))
        h.cpu.l2Normalize(input: h.host(x), output: cY, rows: rows, dim: dim, eps: eps)
        h.cpu.l2NormalizeBackward(input: h.host(x), output: cY, outputGradient: h.host(dy), inputGradient: cDx, rows: rows, dim: dim, eps: eps)
        let dX = try h.device(x), y = try h.output(x.count), y16 = try h.output(x.count, .bf16), dx = try h.output(x.count)
        try h.kernels.l2Normalize(x: dX, y: y, yBF16: y16, rows: rows, dim: dim, eps: eps)
        try h.kernels.l2NormalizeBackward(x: dX, y: y, dy: try h.device(dy), dx: dx, rows: rows, dim: dim, eps: eps)
        let input = "\(rows)×\(dim)"
        result.append(h.row("l2_normalize_rows", input, "y", cuda: try h.floats(y), expected: h.cpu.download(cY), tolerance: f32Tolerance))
        result.append(h.row("l2_normalize_rows", input, "y bf16", cuda: try h.floats(y16), expected: h.cpu.download(cY), tolerance: bf16Tolerance))
        result.append(h.row("l2_normalize_backward", input, "dx", cuda: try h.floats(dx), expected: h.cpu.download(cDx), tolerance: f32Tolerance))
        let (k, n) = (1000, 256)
        let v = h.random(k * n, seed: 53), g = h.random(k, seed: 54, scale: 2), dW = h.random(k * n, seed: 55)
        let startV = h.random(k * n, seed: 56, scale: 0.1), startG = h.random(k, seed: 57, scale: 0.1)
        let cW = h.host([Float](repeating: 0, count: k * n)), (cDv, cDg) = (h.host(startV), h.host(startG))
        h.cpu.weightNorm(direction: h.host(v), magnitude: h.host(g), weight: cW, rows: k, columns: n)
        h.cpu.weightNormBackward(direction: h.host(v), magnitude: h.host(g), weightGradient: h.host(dW), directionGradient: cDv,
                                 magnitudeGradient: cDg, rows: k, columns: n)
        let (dV, dG) = (try h.device(v), try h.device(g))
        let w = try h.output(k * n, .bf16), dv = try h.device(startV), dg = try h.device(startG)
        try h.kernels.weightNorm(direction: dV, magnitude: dG, weight: w, rows: k, cols: n)
        try h.kernels.weightNormBackward(direction: dV, magnitude: dG, dWeight: try h.device(dW), dDirection: dv, dMagnitude: dg, rows: k, cols: n)
        result.append(h.row("weight_norm_rows", "\(k)×\(n)", "W bf16", cuda: try h.floats(w), expected: h.cpu.download(cW), tolerance: bf16Tolerance))
        result.append(h.row("weight_norm_backward", "\(k)×\(n)", "dv (+=)", cuda: try h.floats(dv), expected: h.cpu.download(cDv), tolerance: f32Tolerance))
        result.append(h.row("weight_norm_backward", "\(k)×\(n)", "dg (+=)", cuda: try h.floats(dg), expected: h.cpu.download(cDg), tolerance: f32Tolerance))
        return result
    }

    // MARK: optimiser

    static func optimizer(_ h: Harness) throws -> [CUDAParity.Row] {
        var table = ParameterTable()
        for (name, shape) in [("cls_token", [1, 1, 64]), ("patch_embed.proj.weight", [64, 3, 14, 14]), ("blocks.0.attn.qkv.weight", [192, 64]),
                              ("blocks.0.norm1.weight", [64]), ("blocks.0.mlp.fc1.bias", [128]), ("norm.bias", [64]),
                              ("dino_head.mlp.0.weight", [64, 64]), ("dino_head.last_layer.weight_g", [1024, 1]),
                              ("ibot_head.mlp.0.bias", [64]), ("ibot_head.last_layer.weight_v", [1024, 16])] {
            try table.append(name, shape: shape)
        }
        let groups = ParameterGroups(table: table, depth: 1)
        let schedules = try TrainingSchedules(.init(epochs: 40, batchSize: 64))  // holds the 10 warm-up and 30 τ_t warm-up epochs
        let modules = table.modules
        let plan = OptimizerChunkPlan(ranges: table.entries.enumerated().map { index, entry in
            .init(elements: entry.range, group: index, module: modules.firstIndex(of: entry.module)!)
        }, moduleCount: modules.count, chunkElements: 1000)
        let count = table.count
        var parameters = h.random(count, seed: 61, scale: 0.5)
        let cParameters = h.host(parameters)
        var adamW = AdamW(count: count)
        var ema = StudentEMA(parameters: parameters)
        let device = try h.kernels.upload(plan)
        let dP = try h.device(parameters), dM = try h.device([Float](repeating: 0, count: count)), dV = try h.device([Float](repeating: 0, count: count))
        let dEMA = try h.device(parameters), dBF16 = try h.output(count, .bf16)
        var result: [CUDAParity.Row] = []
        for step in 1...2 {
            let iteration = 1300 + step
            let values = schedules[iteration]
            // Module scales: the backbone far above the clip norm, the heads near it and below.
            let gradients = table.entries.flatMap { entry in
                h.random(entry.count, seed: UInt64(100 * step + entry.offset), scale: entry.module == .backbone ? 0.5 : 0.02)
            }
            let cGradients = h.host(gradients)
            let norms = GradientClipping.clipPerModule(gradients: cGradients, table: table)
            adamW.update(parameters: cParameters, gradients: cGradients, table: table, groups: groups, values: values)
            parameters = h.cpu.download(cParameters)
            parameters.withUnsafeBufferPointer { ema.update(student: $0, momentum: values.momentum) }
            let dG = try h.device(gradients)
            let settings = table.entries.indices.map { groups.settings($0, values) }
            let bias1 = 1 - pow(adamW.beta1, Double(step))
            let decay = try h.device(settings.map { Float(1 - $0.lr * $0.weightDecay) })
            let stepSize = try h.device(settings.map { Float(-($0.lr / bias1)) })
            try h.kernels.clipScales(gradients: dG, plan: device)
            try h.kernels.adamW(parameters: dP, gradients: dG, m: dM, v: dV, parametersBF16: dBF16, plan: device, decay: decay,
                                stepSize: stepSize, clipped: true, step: step)
            try h.kernels.emaUpdate(ema: dEMA, student: dP, count: count, momentum: values.momentum)
            let input = "\(count) params, step \(step)"
            let deviceNorms = try h.kernels.norms(device)
            result.append(h.row("gradient_square_partials + clip_scales", input, "module norms",
                                cuda: deviceNorms.map { Float($0) }, expected: modules.map { Float(norms[$0]!) }, tolerance: exactTolerance))
            result.append(h.row("adamw_step", input, "clipped gradients", cuda: try h.floats(dG), expected: h.cpu.download(cGradients),
                                tolerance: exactTolerance))
            result.append(h.row("adamw_step", input, "parameters", cuda: try h.floats(dP), expected: parameters, tolerance: exactTolerance))
            result.append(h.row("adamw_step", input, "moments m", cuda: try h.floats(dM), expected: adamW.m, tolerance: exactTolerance))
            result.append(h.row("adamw_step", input, "moments v", cuda: try h.floats(dV), expected: adamW.v, tolerance: exactTolerance))
            result.append(h.row("adamw_step", input, "bf16 copy", cuda: try h.floats(dBF16), expected: h.rounded(parameters), tolerance: 0))
            result.append(h.row("ema_update", input, "ema", cuda: try h.floats(dEMA), expected: ema.parameters, tolerance: exactTolerance))
        }
        return result
    }

    // MARK: loss

    static func loss(_ h: Harness) throws -> [CUDAParity.Row] {
        var result: [CUDAParity.Row] = []
        let (rows, k, chunk) = (40, 4096, 16)
        // The bottleneck per step: 64 (four bf16 per access in center_accumulate_projected), then 62 (one).
        let bottlenecks = [64, 62, 64]
        let temperature: Float = 0.055
        var centering = SoftmaxCentering(prototypes: k)
        let center = try h.device([Float](repeating: 0, count: k)), pending = try h.words(k)
        let partials = try h.output(LaunchConfiguration.parts(rows: chunk) * bottlenecks.max()!)
        var pendingRows = 0
        var probabilities: [Float] = []
        for (step, bottleneck) in bottlenecks.enumerated() {
            // The logits of a head's last layer, T = y·Wᵀ (bf16 operands, f32 products): the CPU centres T, the
            // device's centre sums come from y and W.
            let y = h.rounded(h.random(rows * bottleneck, seed: UInt64(70 + step), scale: 2))
            let w = h.rounded(h.random(k * bottleneck, seed: UInt64(72 + step)))
            var logits = [Float](repeating: 0, count: rows * k)
            for r in 0..<rows {
                for column in 0..<k {
                    var dot: Float = 0
                    for j in 0..<bottleneck { dot += y[r * bottleneck + j] * w[column * bottleneck + j] }
                    logits[r * k + column] = dot
                }
            }
            let dY = try h.deviceBF16(y), dW = try h.deviceBF16(w)
            centering.beginStep()
            let cOut = h.host([Float](repeating: 0, count: rows * k))
            try centering.teacherProbabilities(teacherLogits: h.host(logits), rows: rows, temperature: temperature, output: cOut,
                                               backend: h.cpu, chunkRows: chunk)
            try h.kernels.centerUpdate(center: center, pending: pending, prototypes: k, pendingRows: pendingRows)
            pendingRows = 0
            let dLogits = try h.device(logits), flag = try h.flag()
            let output = try h.output(rows * k)
            for start in stride(from: 0, to: rows, by: chunk) {
                let n = min(chunk, rows - start)
                let view = dLogits.view(offset: start * k, shape: [n, k])
                try h.kernels.centerAccumulate(normalized: dY.view(offset: start * bottleneck, shape: [n * bottleneck]), weight: dW,
                                               pending: pending, partials: partials, rows: n, bottleneck: bottleneck, prototypes: k)
                try h.kernels.centeredSoftmax(logits: view, center: center, output: output.view(offset: start * k, shape: [n, k]),
                                              firstNonFinite: flag, rows: n, prototypes: k, temperature: temperature, rowOffset: start)
                pendingRows += n
            }
            probabilities = h.cpu.download(cOut)
            result.append(h.row("center_update + centered_softmax_rows", "\(rows)×\(k), chunks of \(chunk), step \(step)",
                                "probabilities", cuda: try h.floats(output), expected: probabilities, tolerance: f32Tolerance))
            if step > 0 {
                let previous = bottlenecks[step - 1]
                result.append(h.row("center_accumulate_projected + center_update", "y \(rows)×\(previous), W \(k)×\(previous) (step \(step - 1))",
                                    "centre at step \(step) (Σ y·Wᵀ against Σ T)", cuda: try h.floats(center), expected: centering.center,
                                    tolerance: f32Tolerance))
            }
        }
        // Cross-entropy against two teachers (a DINO local crop's pairing), weight 1/(rows·2).
        let student = h.random(rows * k, seed: 80, scale: 4)
        let other = h.random(rows * k, seed: 81, scale: 3)
        let cOther = h.host([Float](repeating: 0, count: rows * k))
        h.cpu.softmax(input: h.host(other), output: cOther, rows: rows, columns: k, scale: 1 / temperature)
        let teachers = [probabilities, h.cpu.download(cOther)]
        let weight = Float(1 / Double(rows * 2)), studentTemperature: Float = 0.1
        let cGradient = h.host([Float](repeating: 0, count: rows * k))
        let cpuLoss = try SoftmaxCrossEntropy.accumulate(student: h.host(student), teachers: teachers.map(h.host), gradient: cGradient,
                                                         rows: rows, prototypes: k, temperature: studentTemperature, weight: weight,
                                                         backend: h.cpu, name: "student")
        let dTeachers = try teachers.map { try h.device($0) }
        let pointers = try h.words(2)
        try dTeachers.map(\.address).withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try h.backend.upload(bytes, to: pointers) }
        }.get()
        let gradient = try h.output(rows * k, .bf16), rowLoss = try h.words(rows), flag = try h.flag()
        try h.kernels.crossEntropy(student: try h.device(student), teachers: pointers, teacherCount: 2, gradient: gradient, rowLoss: rowLoss,
                                   firstNonFinite: flag, rows: rows, prototypes: k, temperature: studentTemperature, weight: weight,
                                   rowOffset: 0)
        let deviceLoss = try h.doubles(rowLoss, rows).reduce(0, +)
        let input = "\(rows)×\(k), 2 teachers"
        result.append(h.row("cross_entropy_rows", input, "Σ row loss", cuda: [Float(deviceLoss)], expected: [Float(cpuLoss)], tolerance: f32Tolerance))
        result.append(h.row("cross_entropy_rows", input, "gradient bf16", cuda: try h.floats(gradient), expected: h.cpu.download(cGradient),
                            tolerance: bf16Tolerance))
        result.append(h.row("cross_entropy_rows", input, "non-finite flag untouched (0 = yes)",
                            cuda: [try h.flagValue(flag) == UInt64.max ? 0 : 1], expected: [0], tolerance: 0))
        // A NaN logit is reported by its flat index.
        var poisoned = student
        poisoned[3 * k + 17] = .nan
        let nanFlag = try h.flag()
        try h.kernels.crossEntropy(student: try h.device(poisoned), teachers: pointers, teacherCount: 2, gradient: gradient, rowLoss: rowLoss,
                                   firstNonFinite: nanFlag, rows: rows, prototypes: k, temperature: studentTemperature, weight: weight,
                                   rowOffset: 100)
        let index = try h.flagValue(nanFlag)
        result.append(h.row("cross_entropy_rows", "NaN at row 103, prototype 17", "first non-finite index",
                            cuda: [Float(index)], expected: [Float(103 * k + 17)], tolerance: 0))
        // `pointers` holds the teachers' raw addresses: their storage must outlive every launch that reads them
        // (released earlier, the pool hands it to the next allocation).
        withExtendedLifetime(dTeachers) {}
        // Sinkhorn-Knopp: the logits whole (made once), then in chunks made again for every pass (a copy stands in for
        // the logits GEMM), then a NaN logit reported by its flat index over the chunks.
        let logits = h.random(rows * k, seed: 90, scale: 3)
        let cSinkhorn = h.host([Float](repeating: 0, count: rows * k))
        try SinkhornKnopp().probabilities(teacherLogits: h.host(logits), rows: rows, prototypes: k, temperature: temperature, output: cSinkhorn)
        let sinkhorn = try CUDASinkhorn(kernels: h.kernels, rows: rows, prototypes: k)
        for chunkRows in [rows, chunk] {
            let source = try h.device(logits), buffer = try h.output(chunkRows * k), output = try h.output(rows * k), flag = try h.flag()
            let chunks = stride(from: 0, to: rows, by: chunkRows).map { $0..<min($0 + chunkRows, rows) }
            var made = 0
            try sinkhorn.run(chunks: chunks, temperature: temperature, firstNonFinite: flag, logits: { range throws(CUDAError) in
                made += 1
                let view = buffer.view(shape: [range.count, k])
                try h.backend.copy(from: source.view(offset: range.lowerBound * k, shape: [range.count * k]), to: view.view(shape: [range.count * k]))
                return view
            }, use: { range, probabilities throws(CUDAError) in
                try h.backend.copy(from: probabilities.view(shape: [range.count * k]), to: output.view(offset: range.lowerBound * k, shape: [range.count * k]))
            })
            let input = "\(rows)×\(k), 3 iterations, \(chunks.count) chunk\(chunks.count == 1 ? "" : "s") (logits made \(made)×)"
            result.append(h.row("sinkhorn_*", input, "probabilities", cuda: try h.floats(output), expected: h.cpu.download(cSinkhorn),
                                tolerance: f32Tolerance))
            result.append(h.row("sinkhorn_*", input, "logits made (iterations + 1 per chunk, once for one chunk)", cuda: [Float(made)],
                                expected: [Float(chunks.count == 1 ? 1 : 4 * chunks.count)], tolerance: 0))
        }
        var poisonedTeacher = logits
        poisonedTeacher[21 * k + 5] = .infinity
        let source = try h.device(poisonedTeacher), buffer = try h.output(chunk * k), sinkhornFlag = try h.flag()
        try sinkhorn.run(chunks: stride(from: 0, to: rows, by: chunk).map { $0..<min($0 + chunk, rows) }, temperature: temperature,
                         firstNonFinite: sinkhornFlag, logits: { range throws(CUDAError) in
            let view = buffer.view(shape: [range.count, k])
            try h.backend.copy(from: source.view(offset: range.lowerBound * k, shape: [range.count * k]), to: view.view(shape: [range.count * k]))
            return view
        }, use: { _, _ throws(CUDAError) in })
        result.append(h.row("sinkhorn_column_partial", "∞ at row 21, prototype 5, chunks of \(chunk)", "first non-finite index",
                            cuda: [Float(try h.flagValue(sinkhornFlag))], expected: [Float(21 * k + 5)], tolerance: 0))
        return result
    }

    /// `centered_cross_entropy_rows` against `centered_softmax_rows` then `cross_entropy_rows` (one teacher) on the same
    /// logits and centre (K = 4096: four columns per access; 1001: one): the same P, but `ΣP` is 1 in the one kernel
    /// and the f64 sum of the stored f32 P (1 ± 1e-7) in the two, so the gradient may round to a neighbouring bf16
    /// (≤ 2⁻⁸ of the largest) and the row losses agree to 1e-6; and the same first non-finite indices for a NaN
    /// teacher logit and an ∞ student logit.
    static func centeredCrossEntropy(_ h: Harness, prototypes k: Int) throws -> [CUDAParity.Row] {
        let rows = 24, teacherTemperature: Float = 0.06, temperature: Float = 0.1, weight = Float(1 / Double(rows))
        let center = try h.device(h.random(k, seed: 95, scale: 0.5))
        func run(teacher: [Float], student: [Float], fused: Bool) throws -> (gradient: [Float], losses: [Double], flags: [UInt64]) {
            let t = try h.device(teacher), s = try h.device(student), gradient = try h.output(rows * k, .bf16), rowLoss = try h.words(rows)
            let teacherFlag = try h.flag(), studentFlag = try h.flag()
            if fused {
                try h.kernels.centeredCrossEntropy(teacher: t, center: center, student: s, gradient: gradient, rowLoss: rowLoss,
                                                   teacherNonFinite: teacherFlag, studentNonFinite: studentFlag, rows: rows, prototypes: k,
                                                   teacherTemperature: teacherTemperature, temperature: temperature, weight: weight,
                                                   rowOffset: 7)
            } else {
                let probabilities = try h.output(rows * k), pointer = try h.words(1)
                try [probabilities.address].withUnsafeBytes { bytes in
                    Swift.Result { () throws(CUDAError) in try h.backend.upload(bytes, to: pointer) }
                }.get()
                try h.kernels.centeredSoftmax(logits: t, center: center, output: probabilities, firstNonFinite: teacherFlag, rows: rows,
                                              prototypes: k, temperature: teacherTemperature, rowOffset: 7)
                try h.kernels.crossEntropy(student: s, teachers: pointer, teacherCount: 1, gradient: gradient, rowLoss: rowLoss,
                                           firstNonFinite: studentFlag, rows: rows, prototypes: k, temperature: temperature, weight: weight,
                                           rowOffset: 7)
                withExtendedLifetime(probabilities) {}
            }
            return (try h.floats(gradient), try h.doubles(rowLoss, rows), [try h.flagValue(teacherFlag), try h.flagValue(studentFlag)])
        }
        let teacher = h.random(rows * k, seed: 96, scale: 3), student = h.random(rows * k, seed: 97, scale: 4)
        let fused = try run(teacher: teacher, student: student, fused: true)
        let separate = try run(teacher: teacher, student: student, fused: false)
        var poisonedTeacher = teacher, poisonedStudent = student
        poisonedTeacher[5 * k + 9] = .nan
        poisonedStudent[11 * k + 3] = .infinity
        let fusedFlags = try run(teacher: poisonedTeacher, student: poisonedStudent, fused: true).flags
        let separateFlags = try run(teacher: poisonedTeacher, student: poisonedStudent, fused: false).flags
        let input = "\(rows)×\(k), 1 teacher, centre ≠ 0"
        return [
            h.row("centered_cross_entropy_rows", input, "gradient against centered_softmax_rows + cross_entropy_rows", cuda: fused.gradient,
                  expected: separate.gradient, tolerance: 0x1p-8),
            h.row("centered_cross_entropy_rows", input, "row losses against the two kernels'", cuda: fused.losses.map { Float($0) },
                  expected: separate.losses.map { Float($0) }, tolerance: exactTolerance),
            h.row("centered_cross_entropy_rows", "NaN teacher (row 12, prototype 9), ∞ student (row 18, prototype 3)",
                  "first non-finite indices (as the two kernels')", cuda: fusedFlags.map(Float.init),
                  expected: [Float(12 * k + 9), Float(18 * k + 3)], tolerance: 0),
            h.row("centered_cross_entropy_rows", "NaN teacher (row 12, prototype 9), ∞ student (row 18, prototype 3)",
                  "the two kernels' first non-finite indices", cuda: separateFlags.map(Float.init),
                  expected: [Float(12 * k + 9), Float(18 * k + 3)], tolerance: 0),
        ]
    }

    /// The loss rows' one-column-per-access path (K not a multiple of 4: the 16-byte path needs aligned rows):
    /// `centered_softmax_rows` (zero centre) and `cross_entropy_rows` (one teacher) at K = 1001, and
    /// `centered_softmax_rows` on rows that are not 16-byte aligned (K = 1004, one element past the allocation).
    static func lossScalarPath(_ h: Harness) throws -> [CUDAParity.Row] {
        let (rows, k) = (12, 1001)
        let temperature: Float = 0.055, studentTemperature: Float = 0.1
        let logits = h.random(rows * k, seed: 95, scale: 3), student = h.random(rows * k, seed: 96, scale: 4)
        let input = "\(rows)×\(k) (K mod 4 ≠ 0)"
        var centering = SoftmaxCentering(prototypes: k)
        centering.beginStep()
        let cProbabilities = h.host([Float](repeating: 0, count: rows * k))
        try centering.teacherProbabilities(teacherLogits: h.host(logits), rows: rows, temperature: temperature, output: cProbabilities,
                                           backend: h.cpu, chunkRows: rows)
        let probabilities = try h.output(rows * k)
        try h.kernels.centeredSoftmax(logits: try h.device(logits), center: try h.device([Float](repeating: 0, count: k)),
                                      output: probabilities, firstNonFinite: try h.flag(), rows: rows, prototypes: k,
                                      temperature: temperature, rowOffset: 0)
        let teacher = h.cpu.download(cProbabilities)
        let cGradient = h.host([Float](repeating: 0, count: rows * k))
        let cpuLoss = try SoftmaxCrossEntropy.accumulate(student: h.host(student), teachers: [h.host(teacher)], gradient: cGradient,
                                                         rows: rows, prototypes: k, temperature: studentTemperature,
                                                         weight: Float(1 / Double(rows)), backend: h.cpu, name: "student")
        let pointers = try h.words(1)
        try [probabilities.address].withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try h.backend.upload(bytes, to: pointers) }
        }.get()
        let gradient = try h.output(rows * k, .bf16), rowLoss = try h.words(rows)
        try h.kernels.crossEntropy(student: try h.device(student), teachers: pointers, teacherCount: 1, gradient: gradient, rowLoss: rowLoss,
                                   firstNonFinite: try h.flag(), rows: rows, prototypes: k, temperature: studentTemperature,
                                   weight: Float(1 / Double(rows)), rowOffset: 0)
        // K a multiple of 4 but the rows 4 bytes past a 16-byte boundary: one column per access too.
        let k4 = 1004, shifted = h.random(rows * k4, seed: 97, scale: 3)
        let cShifted = h.host([Float](repeating: 0, count: rows * k4))
        var shiftedCentering = SoftmaxCentering(prototypes: k4)
        shiftedCentering.beginStep()
        try shiftedCentering.teacherProbabilities(teacherLogits: h.host(shifted), rows: rows, temperature: temperature, output: cShifted,
                                                  backend: h.cpu, chunkRows: rows)
        let shiftedOutput = try h.output(rows * k4 + 1)
        try h.kernels.centeredSoftmax(logits: try h.device([0] + shifted).view(offset: 1, shape: [rows, k4]),
                                      center: try h.device([Float](repeating: 0, count: k4)),
                                      output: shiftedOutput.view(offset: 1, shape: [rows, k4]), firstNonFinite: try h.flag(), rows: rows,
                                      prototypes: k4, temperature: temperature, rowOffset: 0)
        return [
            h.row("centered_softmax_rows", "\(rows)×\(k4), rows 4 bytes off 16-byte alignment", "probabilities",
                  cuda: Array(try h.floats(shiftedOutput).dropFirst()), expected: h.cpu.download(cShifted), tolerance: f32Tolerance),
            h.row("centered_softmax_rows", input, "probabilities", cuda: try h.floats(probabilities), expected: teacher, tolerance: f32Tolerance),
            h.row("cross_entropy_rows", input + ", 1 teacher", "Σ row loss", cuda: [Float(try h.doubles(rowLoss, rows).reduce(0, +))],
                  expected: [Float(cpuLoss)], tolerance: f32Tolerance),
            h.row("cross_entropy_rows", input + ", 1 teacher", "gradient bf16", cuda: try h.floats(gradient), expected: h.cpu.download(cGradient),
                  tolerance: bf16Tolerance),
        ]
    }
}
