import Compute
import Models

/// The ViT forward (`ViT` of Models, timm/DINOv2 family) on a `CUDABackend` in bf16: the same parameter layout
/// (`ViTParameters`, timm names), the same steps as `ViT.forward` (distillation-spec.md §2.2), the same outputs —
/// `x_norm` `[B, L, D]` (f32), and the pooled embedding — so CUDA and CPU can be compared element by element.
///
/// Precision (as PyTorch bf16 autocast): GEMM operands bf16 with fp32 accumulation; the residual stream, LayerNorm
/// statistics, softmax and pooling in f32; activations between kernels bf16. Per block:
/// ```
/// normed  = LN1(x)                                  layer_norm_f32_bf16 / residual_layer_norm_bf16 (fused below)
/// qkv     = normed·Wqkvᵀ + b                        cuBLASLt, bias epilogue
/// O       = softmax(q·kᵀ/√hd)·v, heads merged        attention_fused_hd32/64 (FusedAttention: online softmax,
///                                                   tensor cores, no scores in memory); other head dims:
///                                                   qkv_split, cuBLASLt strided batched S (f32), softmax_rows,
///                                                   P·v, merge_heads
/// branch  = O·Wprojᵀ + b                            cuBLASLt, bias epilogue
/// x += ls1 ⊙ branch; normed = LN2(x)                residual_layer_norm_bf16
/// h = act(normed·Wfc1ᵀ + b)                         cuBLASLt + bias_swiglu / bias_gelu
/// branch  = h·Wfc2ᵀ + b                             cuBLASLt, bias epilogue
/// x += ls2 ⊙ branch; normed = next LN1(x)           residual_layer_norm_bf16 (the last block: final norm, f32)
/// ```
/// Patch embedding: im2col (normalising RGB8 on the device, or from planar f32) + GEMM; the token sequence
/// `[cls, registers, patches + pos]`; `pos_embed` resampled on the host (`CPUBackend.resizeGrid`, weights only)
/// when the grid is not the stored one.
///
/// Calls queue work on the stream and return; `tokens`/`embeddings` wait. One pass per activations at a time; from
/// the third pass on the same activations a pass is one CUDA graph launch (`run`).
public final class CUDAViTForward: @unchecked Sendable {
    public let config: ViTConfig
    public let backend: CUDABackend
    /// The parameters that are not GEMM weights (LayerNorm, LayerScale, tokens, positions, biases), f32, packed in
    /// layout order; `offsetsF32` places each. The GEMM weights are only needed in bf16, so a ViT-g/14 holds
    /// 4.5 GB less than with every parameter in f32 as well.
    private let parametersF32: Tensor
    private let offsetsF32: [String: Int]
    /// All parameters, bf16 (GEMM weights and bias-epilogue biases), at the layout's offsets.
    private let parametersBF16: Tensor
    /// Elements converted per upload while filling `parametersBF16` (a 256 MB f32 staging buffer, returned after).
    static let conversionChunk = 1 << 26
    /// `patch_embed.proj.weight` as `[D, kpad]` bf16, columns `3p² ..< kpad` zero.
    private let patchWeight: Tensor
    private let layout: ParameterLayout
    /// The stored `pos_embed` `[N0, D]` on the host, for resampling.
    private let storedPositions: [Float]
    private var resampledPositions: [[Int]: Tensor] = [:]

    /// Uploads `parameters` (host, f32, `config`'s layout) to the device: all of them in bf16 (converted on the
    /// device, `conversionChunk` elements at a time), and those that are not GEMM weights in f32 as well.
    /// - Throws: `CUDAError` from the upload or the conversion kernel.
    public init(config: ViTConfig, parameters: ViTParameters, backend: CUDABackend) throws(CUDAError) {
        precondition(parameters.layout == ParameterLayout(config: config), "parameters do not have \(config.name)'s layout")
        precondition(parameters.flat.device == .cpu && parameters.flat.dtype == .f32, "host f32 parameters expected")
        self.config = config
        self.backend = backend
        layout = parameters.layout
        let count = layout.count
        parametersBF16 = try backend.makeTensor(shape: [count], dtype: .bf16)
        let staging = try backend.makeTensor(shape: [min(count, Self.conversionChunk)], dtype: .f32)
        for start in stride(from: 0, to: count, by: Self.conversionChunk) {
            let n = min(Self.conversionChunk, count - start)
            try backend.upload(UnsafeRawBufferPointer(start: parameters.flat.rawPointer + 4 * start, count: 4 * n),
                               to: staging.view(shape: [n]))
            try backend.launch("convert_f32_to_bf16", .elementwise(count: n),
                               [.pointer(staging.address), .pointer(parametersBF16.address + UInt64(2 * start)), .long(n)])
        }
        var packed: [Float] = [], offsets: [String: Int] = [:]
        let flat = UnsafeBufferPointer(start: parameters.flat.floats, count: count)
        for parameter in layout.parameters where !(parameter.name.hasSuffix(".weight") && parameter.shape.count >= 2) {
            offsets[parameter.name] = packed.count
            packed += flat[parameter.offset..<parameter.offset + parameter.count]
        }
        offsetsF32 = offsets
        parametersF32 = try backend.makeTensor(shape: [max(packed.count, 1)], dtype: .f32)
        let packedTensor = parametersF32
        try packed.withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: packedTensor.view(shape: [packed.count])) }
        }.get()
        let d = config.embedDim, p = config.patchSize, k = 3 * p * p, kpad = LaunchConfiguration.padded(k)
        let weight = parameters["patch_embed.proj.weight"].scalars()
        var padded = [UInt16](repeating: 0, count: d * kpad)
        for row in 0..<d {
            for column in 0..<k { padded[row * kpad + column] = DTypeConversion.bfloat16Bits(weight[row * k + column]) }
        }
        patchWeight = try backend.makeTensor(shape: [d, kpad], dtype: .bf16)
        let weightTensor = patchWeight
        try padded.withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: weightTensor) }
        }.get()
        storedPositions = parameters["pos_embed"].scalars()
        try backend.synchronize()
    }

    /// Buffers for inputs of `[batch, 3, height, width]`.
    /// - Throws: `CUDAError.unsupported` for a size that is not a multiple of the patch, `.driver` when out of memory.
    public func makeActivations(batch: Int, height: Int, width: Int) throws(CUDAError) -> CUDAViTActivations {
        try CUDAViTActivations(config: config, backend: backend, batch: batch, height: height, width: width)
    }

    /// Queues the upload of RGB8 pixels `[B, H, W, 3]` and the forward (normalisation on the device with
    /// `config.normalization`).
    /// - Precondition: `pixels.count == B·H·W·3` for the activations.
    public func enqueue(pixels: UnsafeBufferPointer<UInt8>, activations a: CUDAViTActivations) throws(CUDAError) {
        precondition(pixels.count == a.batch * a.height * a.width * 3,
                     "\(pixels.count) bytes for \(a.batch) images of \(a.height)×\(a.width)")
        try backend.staging.upload(UnsafeRawBufferPointer(pixels), to: a.pixels.deviceAddress)
        let n = config.normalization
        try run(a, .rgb8) { () throws(CUDAError) in
            try backend.launch("im2col_rgb8", .rowLoop(a.batch * a.patches), [
                .pointer(a.pixels.deviceAddress), .pointer(a.columns.address), .int(a.batch), .int(a.height), .int(a.width),
                .int(config.patchSize), .int(a.paddedPatchColumns), .float(n.mean[0]), .float(n.mean[1]), .float(n.mean[2]),
                .float(n.std[0]), .float(n.std[1]), .float(n.std[2]),
            ])
            try body(a)
        }
    }

    /// Queues the upload of normalised planar images `[B, 3, H, W]` f32 and the forward.
    /// - Precondition: `images.count == B·3·H·W` for the activations.
    public func enqueue(images: UnsafeBufferPointer<Float>, activations a: CUDAViTActivations) throws(CUDAError) {
        precondition(images.count == a.images.count, "\(images.count) values for images \(a.images.shape)")
        try backend.upload(UnsafeRawBufferPointer(images), to: a.images)
        try forward(a)
    }

    /// Queues the forward on the images already on the device in `activations.images` (a benchmark's resident input,
    /// as PyTorch's `model(x)` on a CUDA tensor).
    public func forward(_ a: CUDAViTActivations) throws(CUDAError) {
        try run(a, .f32) { () throws(CUDAError) in
            try backend.launch("im2col_f32", .rowLoop(a.batch * a.patches), [
                .pointer(a.images.address), .pointer(a.columns.address), .int(a.batch), .int(a.height), .int(a.width),
                .int(config.patchSize), .int(a.paddedPatchColumns),
            ])
            try body(a)
        }
    }

    /// Queues `pass` (everything after the input's upload) through the activations' `CUDAGraphedPass` of that input
    /// form: call by call the first time (the pos-embed resampling and the matmul plans are made then), captured the
    /// second, replayed from then on — one launch instead of ≈ 15 per block.
    private func run(_ a: CUDAViTActivations, _ input: CUDAViTActivations.Input,
                     _ pass: () throws(CUDAError) -> Void) throws(CUDAError) {
        try a.passes[input]!.run(on: backend, pass)
    }

    /// Waits for the pass and returns `x_norm` `[B, L, D]` row-major.
    public func tokens(_ activations: CUDAViTActivations) throws(CUDAError) -> [Float] {
        try backend.downloadFloats(activations.output)
    }

    /// Pools `x_norm` on the device and returns `[B, pooling.width(D)]` (waits for the pass).
    public func embeddings(_ a: CUDAViTActivations, pooling: Pooling) throws(CUDAError) -> [Float] {
        let d = config.embedDim
        let pooled = try backend.makeTensor(shape: [a.batch, pooling.width(dim: d)], dtype: .f32)
        try backend.poison(pooled)  // pool memory is reused: an element the kernel missed must not look valid
        try backend.launch("pool_tokens", .elementwise(count: a.batch * d), [
            .pointer(a.output.address), .pointer(pooled.address), .int(a.batch), .int(a.length), .int(config.prefixTokens),
            .int(d), .int(pooling == .clsMean ? 1 : 0),
        ])
        return try backend.downloadFloats(pooled)
    }

    /// Fills every buffer the pass writes with NaN (parity runs: an unwritten element stays NaN).
    public func poison(_ activations: CUDAViTActivations) throws(CUDAError) {
        for tensor in activations.written { try backend.poison(tensor) }
    }

    /// `ViT.classAndPatchTokens` on the GPU: normalised planar images in, `x_norm` CLS `[B, D]` and patch tokens
    /// `[B, N, D]` out (registers dropped).
    public func classAndPatchTokens(images: UnsafeBufferPointer<Float>,
                                    activations: CUDAViTActivations) throws(CUDAError) -> (cls: [Float], patches: [Float]) {
        try enqueue(images: images, activations: activations)
        return Self.split(try tokens(activations), batch: activations.batch, length: activations.length,
                          prefix: config.prefixTokens, dim: config.embedDim)
    }

    /// Splits `x_norm` `[B, L, D]` into CLS `[B, D]` and patch tokens `[B, L − prefix, D]`.
    public static func split(_ tokens: [Float], batch: Int, length: Int, prefix: Int, dim: Int) -> (cls: [Float], patches: [Float]) {
        let patches = length - prefix
        var cls = [Float](repeating: 0, count: batch * dim)
        var patchTokens = [Float](repeating: 0, count: batch * patches * dim)
        for image in 0..<batch {
            let start = image * length * dim
            for d in 0..<dim { cls[image * dim + d] = tokens[start + d] }
            let first = start + prefix * dim
            for index in 0..<(patches * dim) { patchTokens[image * patches * dim + index] = tokens[first + index] }
        }
        return (cls, patchTokens)
    }

    // MARK: the pass

    private func f32(_ name: String) -> Tensor {
        guard let parameter = layout.parameter(name), let offset = offsetsF32[name] else { preconditionFailure("no f32 parameter \(name)") }
        return parametersF32.view(offset: offset, shape: parameter.shape)
    }
    private func bf16(_ name: String) -> Tensor {
        guard let parameter = layout.parameter(name) else { preconditionFailure("no parameter \(name)") }
        return parametersBF16.view(offset: parameter.offset, shape: parameter.shape)
    }
    private func optionalF32(_ name: String) -> Tensor? { layout.parameter(name) == nil ? nil : f32(name) }

    /// From the im2col columns to `x_norm`.
    private func body(_ a: CUDAViTActivations) throws(CUDAError) {
        let d = config.embedDim, b = a.batch, length = a.length, rows = b * length
        let heads = config.numHeads, hd = config.headDim
        let eps = config.normEps
        try backend.matmul(.linear(rows: b * a.patches, inFeatures: a.paddedPatchColumns, outFeatures: d, bias: true),
                           a: patchWeight, b: a.columns, d: a.patchTokens, bias: bf16("patch_embed.proj.bias"))
        let positions = try positionalEmbedding(a)
        let registers = config.regTokens > 0 ? f32("reg_token") : f32("cls_token")
        try backend.launch("assemble_tokens", .rowLoop(rows), [
            .pointer(a.patchTokens.address), .pointer(f32("cls_token").address), .pointer(registers.address),
            .pointer(positions.address), .pointer(a.residual.address), .int(b), .int(a.patches), .int(config.regTokens), .int(d),
        ])
        try backend.launch("layer_norm_f32_bf16", .rows(rows, dim: d), [
            .pointer(a.residual.address), .pointer(f32("blocks.0.norm1.weight").address),
            .pointer(f32("blocks.0.norm1.bias").address), .pointer(a.normed.address), .int(rows), .int(d), .float(eps),
        ])
        for block in 0..<config.depth {
            let prefix = "blocks.\(block)."
            // Attention branch.
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: 3 * d, bias: config.qkvBias),
                               a: bf16(prefix + "attn.qkv.weight"), b: a.normed, d: a.qkv,
                               bias: config.qkvBias ? bf16(prefix + "attn.qkv.bias") : nil)
            if let unfused = a.unfused {
                try unfusedAttention(a, unfused)
            } else {
                try FusedAttention.forward(backend, qkv: a.qkv, output: a.normed, lse: nil, lseStride: 0, batch: b, tokens: length,
                                           heads: heads, headDim: hd)
            }
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: d, bias: true),
                               a: bf16(prefix + "attn.proj.weight"), b: a.normed, d: a.branch, bias: bf16(prefix + "attn.proj.bias"))
            try residualLayerNorm(a, gamma: optionalF32(prefix + "ls1.gamma"), norm: prefix + "norm2", output: a.normed)
            // MLP branch.
            let hidden = config.mlpHiddenFeatures
            try backend.matmul(.linear(rows: rows, inFeatures: d, outFeatures: hidden, bias: false),
                               a: bf16(prefix + "mlp.fc1.weight"), b: a.normed, d: a.hidden)
            let activated: Tensor
            switch config.mlpLayer {
            case .swigluPacked:
                activated = a.gated!
                try backend.launch("bias_swiglu", .rowLoop(rows), [
                    .pointer(a.hidden.address), .pointer(f32(prefix + "mlp.fc1.bias").address), .pointer(activated.address),
                    .int(rows), .int(hidden / 2),
                ])
            case .gelu:
                activated = a.hidden
                try backend.launch("bias_gelu", .rowLoop(rows), [
                    .pointer(a.hidden.address), .pointer(f32(prefix + "mlp.fc1.bias").address), .int(rows), .int(hidden),
                ])
            }
            try backend.matmul(.linear(rows: rows, inFeatures: config.mlpOutputInFeatures, outFeatures: d, bias: true),
                               a: bf16(prefix + "mlp.fc2.weight"), b: activated, d: a.branch, bias: bf16(prefix + "mlp.fc2.bias"))
            let last = block == config.depth - 1
            try residualLayerNorm(a, gamma: optionalF32(prefix + "ls2.gamma"),
                                  norm: last ? "norm" : "blocks.\(block + 1).norm1", output: last ? a.output : a.normed)
        }
    }

    /// `qkv` → merged heads in `normed` through q, k, v `[B, H, L, hd]`, the scores and probabilities in memory.
    private func unfusedAttention(_ a: CUDAViTActivations, _ u: CUDAViTActivations.UnfusedAttention) throws(CUDAError) {
        let b = a.batch, length = a.length, rows = b * length
        let heads = config.numHeads, hd = config.headDim, pairs = b * heads
        let headSize = b * heads * length * hd
        let q = u.heads.view(offset: 0, shape: [headSize]), k = u.heads.view(offset: headSize, shape: [headSize])
        let v = u.heads.view(offset: 2 * headSize, shape: [headSize])
        try backend.launch("qkv_split", .rowLoop(rows), [
            .pointer(a.qkv.address), .pointer(q.address), .pointer(k.address), .pointer(v.address),
            .int(b), .int(length), .int(heads), .int(hd),
        ])
        try backend.matmul(.attentionScores(tokens: length, headDim: hd, ldScores: a.paddedLength, pairs: pairs),
                           a: k, b: q, d: u.scores, alpha: 1 / Float(hd).squareRoot())
        try backend.launch("softmax_rows", .softmax(rows: pairs * length), [
            .pointer(u.scores.address), .pointer(u.probabilities.address), .long(pairs * length), .int(length),
            .int(a.paddedLength), .float(1),
        ])
        try backend.matmul(.attentionValues(tokens: length, headDim: hd, ldProbabilities: a.paddedLength, pairs: pairs),
                           a: v, b: u.probabilities, d: u.attended)
        try backend.launch("merge_heads", .rowLoop(rows), [
            .pointer(u.attended.address), .pointer(a.normed.address), .int(b), .int(length), .int(heads), .int(hd),
        ])
    }

    /// `residual += gamma ⊙ branch; output = LayerNorm_norm(residual)` (bf16 `normed`, or f32 `x_norm`).
    private func residualLayerNorm(_ a: CUDAViTActivations, gamma: Tensor?, norm: String, output: Tensor) throws(CUDAError) {
        let rows = a.batch * a.length, d = config.embedDim
        try backend.launch(output.dtype == .f32 ? "residual_layer_norm_f32" : "residual_layer_norm_bf16", .rows(rows, dim: d), [
            .pointer(a.residual.address), .pointer(a.residual.address), .pointer(a.branch.address), .pointer(gamma?.address ?? 0),
            .pointer(f32(norm + ".weight").address), .pointer(f32(norm + ".bias").address), .pointer(output.address),
            .int(rows), .int(d), .float(config.normEps),
        ])
    }

    /// `pos_embed` `[N, D]` f32 for the activations' grid: the stored one, or its resampling (host, once per grid).
    private func positionalEmbedding(_ a: CUDAViTActivations) throws(CUDAError) -> Tensor {
        let grid = config.gridSize, rows = a.height / config.patchSize, columns = a.width / config.patchSize
        if rows == grid && columns == grid { return f32("pos_embed").reshaped([grid * grid, config.embedDim]) }
        if let cached = resampledPositions[[rows, columns]] { return cached }
        let mode = config.posEmbedInterpolation
        let rowResize = mode.resize(stored: grid, target: rows), columnResize = mode.resize(stored: grid, target: columns)
        for (resize, target) in [(rowResize, rows), (columnResize, columns)] {
            if let factor = resize.scaleFactor, BicubicResize.outputSize(inputSize: grid, scaleFactor: factor) != target {
                throw .unsupported("\(config.name): a \(grid)×\(grid) pos_embed grid cannot be resampled to \(target) (scale factor \(factor))")
            }
        }
        let host = CPUBackend(threads: 1)
        let input = Tensor(shape: [grid * grid, config.embedDim], values: storedPositions)
        let output = host.makeTensor(shape: [rows * columns, config.embedDim])
        host.resizeGrid(input: input, output: output, inputHeight: grid, inputWidth: grid, outputHeight: rows,
                        outputWidth: columns, dim: config.embedDim, rows: rowResize, columns: columnResize)
        let device = try backend.makeTensor(shape: [rows * columns, config.embedDim], dtype: .f32)
        try backend.upload(UnsafeRawBufferPointer(start: output.rawPointer, count: output.byteCount), to: device)
        try backend.synchronize()
        resampledPositions[[rows, columns]] = device
        return device
    }
}
