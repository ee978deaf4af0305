import Compute
import Training

/// What one device pass of a DINO head over `rows` rows keeps (the counterpart of `DINOHeadActivations`), and,
/// for a trained head, its backward's buffers. bf16 unless noted.
///
/// | tensor | shape | |
/// |---|---|---|
/// | `input` | `[rows, in]` | the selected `x_norm` rows (student) or the teacher's tokens |
/// | `preActivations[i]`, `activations[i]` | `[rows, hidden]` | `mlp.{2i}` before its bias + GELU, after |
/// | `bottleneck` | `[rows, bottleneck]` f32 | `z`, the MLP's output (bias epilogue in f32) |
/// | `normalized`, `normalizedBF16` | `[rows, bottleneck]` | `F.normalize(z)`, f32 and bf16 (the logits GEMM) |
/// | `weight` | `[K, bottleneck]` | `g ⊙ V/‖V‖` |
/// | `weightGradient` | `[K, bottleneck]` f32 | dL/dW summed over the logit chunks |
/// | `normalizedGradient` | `[rows, bottleneck]` f32 | dL/d`normalized`, chunk by chunk |
/// | `inputGradient` | `[rows, in]` f32 | dL/d`input` (into `x_norm`'s gradient) |
final class CUDADINOHeadActivations: @unchecked Sendable {
    let config: HeadConfig
    let rows: Int
    let input: Tensor
    let preActivations: [Tensor]
    let activations: [Tensor]
    let bottleneck: Tensor
    let normalized: Tensor
    let normalizedBF16: Tensor
    let weight: Tensor
    /// The backward's buffers (nil for a frozen head): dW, dnormalized, dinput, dz (f32 and bf16), the hidden
    /// layers' output gradients (bf16, two alternating), column-sum partials.
    let weightGradient: Tensor?
    let normalizedGradient: Tensor?
    let inputGradient: Tensor?
    let bottleneckGradient: Tensor?
    let bottleneckGradientBF16: Tensor?
    let hiddenGradients: [Tensor]
    let partials: Tensor?

    init(config: HeadConfig, backend: CUDABackend, rows: Int, trained: Bool) throws(CUDAError) {
        self.config = config
        self.rows = rows
        func make(_ shape: [Int], _ dtype: DType = .bf16) throws(CUDAError) -> Tensor { try backend.makeTensor(shape: shape, dtype: dtype) }
        let n = config.bottleneckFeatures, hidden = config.hiddenFeatures
        input = try make([rows, config.inFeatures])
        var pre: [Tensor] = [], post: [Tensor] = []
        for _ in 0..<(config.layers - 1) {
            pre.append(try make([rows, hidden]))
            post.append(try make([rows, hidden]))
        }
        preActivations = pre
        activations = post
        bottleneck = try make([rows, n], .f32)
        normalized = try make([rows, n], .f32)
        normalizedBF16 = try make([rows, n])
        weight = try make([config.prototypes, n])
        if trained {
            weightGradient = try make([config.prototypes, n], .f32)
            normalizedGradient = try make([rows, n], .f32)
            inputGradient = try make([rows, config.inFeatures], .f32)
            bottleneckGradient = try make([rows, n], .f32)
            bottleneckGradientBF16 = try make([rows, n])
            hiddenGradients = config.layers > 1 ? [try make([rows, hidden]), try make([rows, hidden])] : []
            partials = try make([LaunchConfiguration.parts(rows: rows) * max(n, hidden, config.inFeatures)], .f32)
        } else {
            (weightGradient, normalizedGradient, inputGradient, bottleneckGradient, bottleneckGradientBF16, partials) = (nil, nil, nil, nil, nil, nil)
            hiddenGradients = []
        }
    }
}
