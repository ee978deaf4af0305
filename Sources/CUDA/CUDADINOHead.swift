import Compute
import Training

/// A DINOv2 projection head on the device (the counterpart of `DINOHead`, docs/cuda.md "The step on the device"):
///
/// ```
/// forward                                               backward
/// h = gelu(x·W0ᵀ + b0) … (layers − 1)   GEMM + bias_gelu_store      bias_gelu_backward, GEMMs, column sums
/// z = h·Wᵀ + b  (f32, bias epilogue)                                  GEMMs (dz in bf16), column sums of dz (f32)
/// y = F.normalize(z)  (f32 + bf16)      l2_normalize_rows            l2_normalize_backward
/// W = g ⊙ V/‖V‖  (bf16)                 weight_norm_rows             weight_norm_backward → g, V
/// logits = y·Wᵀ per row chunk (f32)     GEMM                         dy = dlogits·W, dW += dlogitsᵀ·y (β = 1)
/// teacher centre: Σ logits = (Σ y)·Wᵀ   center_accumulate_projected
/// ```
///
/// Parameters in `parameters` (DINOv2 names without the module prefix); a frozen head (the teacher's) has no
/// gradients. Calls queue work on the stream.
struct CUDADINOHead: @unchecked Sendable {
    let config: HeadConfig
    let parameters: CUDAParameterViews
    let kernels: CUDATrainingKernels
    var backend: CUDABackend { kernels.backend }

    func makeActivations(rows: Int) throws(CUDAError) -> CUDADINOHeadActivations {
        try CUDADINOHeadActivations(config: config, backend: backend, rows: rows, trained: parameters.gradients != nil)
    }

    /// The MLP, `F.normalize` and the weight-normalised last layer on `a.input`; zeroes dW for the chunks to add to.
    func forwardFeatures(_ a: CUDADINOHeadActivations) throws(CUDAError) {
        var input = a.input
        for i in 0..<config.layers {
            let (inFeatures, outFeatures) = config.mlpLayer(i)
            let weight = parameters.bf16("mlp.\(2 * i).weight"), bias = "mlp.\(2 * i).bias"
            if i == config.layers - 1 {
                try backend.matmul(.linear(rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures, bias: true, outputF32: true),
                                   a: weight, b: input, d: a.bottleneck, bias: parameters.f32(bias))
            } else {
                try backend.matmul(.linear(rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures, bias: false),
                                   a: weight, b: input, d: a.preActivations[i])
                try kernels.biasGELUStore(x: a.preActivations[i], bias: parameters.f32(bias), y: a.activations[i], rows: a.rows,
                                          cols: outFeatures)
                input = a.activations[i]
            }
        }
        let n = config.bottleneckFeatures
        try kernels.l2Normalize(x: a.bottleneck, y: a.normalized, yBF16: a.normalizedBF16, rows: a.rows, dim: n, eps: DINOHead.normalizeEps)
        try kernels.weightNorm(direction: parameters.f32("last_layer.weight_v"), magnitude: parameters.f32("last_layer.weight_g"),
                               weight: a.weight, rows: config.prototypes, cols: n)
        if let weightGradient = a.weightGradient { try backend.fillWords(weightGradient, 0) }
    }

    /// Logits of rows `range` into `output` `[range.count, K]` f32.
    func logits(rows range: Range<Int>, output: Tensor, _ a: CUDADINOHeadActivations) throws(CUDAError) {
        let n = config.bottleneckFeatures
        try backend.matmul(.linear(rows: range.count, inFeatures: n, outFeatures: config.prototypes, bias: false, outputF32: true),
                           a: a.weight, b: a.normalizedBF16.view(offset: range.lowerBound * n, shape: [range.count, n]), d: output)
    }

    /// Adds the column sums of the logits of all `a.rows` rows to a centre's `pending` f64 `[K]`, from `y` and `W`
    /// (`CUDATrainingKernels.centerAccumulate`: the logits themselves are not read); `partials` f32 scratch of
    /// `LaunchConfiguration.parts(rows: a.rows)·bottleneck` elements. After `forwardFeatures`.
    func accumulateCenter(pending: Tensor, partials: Tensor, _ a: CUDADINOHeadActivations) throws(CUDAError) {
        try kernels.centerAccumulate(normalized: a.normalizedBF16, weight: a.weight, pending: pending, partials: partials, rows: a.rows,
                                     bottleneck: config.bottleneckFeatures, prototypes: config.prototypes)
    }

    /// The last layer's backward for rows `range` from `logitsGradient` `[range.count, K]` bf16: dL/d`normalized`
    /// of those rows written (f32), dL/dW added.
    func backwardLogits(rows range: Range<Int>, logitsGradient: Tensor, _ a: CUDADINOHeadActivations) throws(CUDAError) {
        let n = config.bottleneckFeatures, k = config.prototypes
        guard let normalizedGradient = a.normalizedGradient, let weightGradient = a.weightGradient else {
            preconditionFailure("backward through a frozen head")
        }
        try backend.matmul(.linearInputGradient(rows: range.count, inFeatures: n, outFeatures: k, outputF32: true), a: a.weight,
                           b: logitsGradient, d: normalizedGradient.view(offset: range.lowerBound * n, shape: [range.count, n]))
        try backend.matmul(.linearWeightGradient(rows: range.count, inFeatures: n, outFeatures: k),
                           a: a.normalizedBF16.view(offset: range.lowerBound * n, shape: [range.count, n]), b: logitsGradient,
                           d: weightGradient, beta: 1)
    }

    /// The rest of the backward after every row went through `backwardLogits`: dL/dθ added to the gradients,
    /// dL/d`input` written into `a.inputGradient` (f32).
    func backward(_ a: CUDADINOHeadActivations) throws(CUDAError) {
        guard let weightGradient = a.weightGradient, let normalizedGradient = a.normalizedGradient, let dz = a.bottleneckGradient,
              let dzBF16 = a.bottleneckGradientBF16, let inputGradient = a.inputGradient, let partials = a.partials else {
            preconditionFailure("backward through a frozen head")
        }
        let n = config.bottleneckFeatures, p = parameters
        try kernels.weightNormBackward(direction: p.f32("last_layer.weight_v"), magnitude: p.f32("last_layer.weight_g"),
                                       dWeight: weightGradient, dDirection: p.gradient("last_layer.weight_v"),
                                       dMagnitude: p.gradient("last_layer.weight_g"), rows: config.prototypes, cols: n)
        try kernels.l2NormalizeBackward(x: a.bottleneck, y: a.normalized, dy: normalizedGradient, dx: dz, rows: a.rows, dim: n,
                                        eps: DINOHead.normalizeEps)
        try backend.launch("convert_f32_to_bf16", .elementwise(count: a.rows * n),
                           [.pointer(dz.address), .pointer(dzBF16.address), .long(a.rows * n)])
        var dy = dzBF16, dyF32: Tensor? = dz
        for i in (0..<config.layers).reversed() {
            let (inFeatures, outFeatures) = config.mlpLayer(i)
            let first = i == 0
            let x = first ? a.input : a.activations[i - 1]
            let dx = first ? inputGradient : a.hiddenGradients[i % 2]
            try backend.matmul(.linearInputGradient(rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures, outputF32: first),
                               a: p.bf16("mlp.\(2 * i).weight"), b: dy, d: dx)
            try backend.matmul(.linearWeightGradient(rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures),
                               a: x, b: dy, d: p.gradient("mlp.\(2 * i).weight"), beta: 1)
            try kernels.addColumnSums(of: dyF32 ?? dy, rows: a.rows, cols: outFeatures, into: p.gradient("mlp.\(2 * i).bias"),
                                      partials: partials)
            if !first {
                try kernels.biasGELUBackward(x: a.preActivations[i - 1], bias: p.f32("mlp.\(2 * (i - 1)).bias"), dy: dx, dx: dx,
                                             rows: a.rows, cols: inFeatures)
                dy = dx
                dyF32 = nil
            }
        }
    }
}
