import Compute

/// What one pass of a `DINOHead` over `rows` input rows keeps for its backward, and the backward's scratch
/// (reused by every step):
///
/// | tensor | shape | |
/// |---|---|---|
/// | `input` | `[rows, in]` | the head's input (filled by the caller, e.g. `Backend.selectTokens` of the CLS) |
/// | `preActivations[i]` | `[rows, hidden]` | `mlp.{2i}` output before GELU (hidden layers) |
/// | `activations[i]` | `[rows, hidden]` | after GELU, the next layer's input |
/// | `bottleneck` | `[rows, bottleneck]` | the MLP's output `z` |
/// | `normalized` | `[rows, bottleneck]` | `F.normalize(z)` |
/// | `weight` | `[K, bottleneck]` | the weight-normalised last layer `W = g ⊙ V/‖V‖`, made by `forward` |
/// | `weightGradient` | `[K, bottleneck]` | dL/dW, summed over the logit chunks of one pass |
///
/// Logits `[rows, K]` are never kept whole: `DINOHead.logits(rows:…)` makes them chunk by chunk.
public final class DINOHeadActivations {
    public let config: HeadConfig
    public let rows: Int
    /// The head's input `[rows, in]`.
    public let input: Tensor
    let preActivations: [Tensor]
    let activations: [Tensor]
    let bottleneck: Tensor
    /// `F.normalize` of the bottleneck features, `[rows, bottleneck]`.
    public let normalized: Tensor
    let weight: Tensor
    let weightGradient: Tensor
    /// dL/d`normalized` `[rows, bottleneck]`, filled chunk by chunk by `DINOHead.backwardLogits`.
    let normalizedGradient: Tensor
    /// dL/d`input` `[rows, in]`, written by `DINOHead.backward`.
    public let inputGradient: Tensor
    /// Backward scratch: gradients of a hidden layer's output and of its input, `[rows, max(hidden, bottleneck)]`.
    let scratch: (Tensor, Tensor)

    init(config: HeadConfig, backend: any Backend, rows: Int) {
        self.config = config
        self.rows = rows
        func make(_ shape: [Int]) -> Tensor { backend.makeTensor(shape: shape) }
        input = make([rows, config.inFeatures])
        preActivations = (0..<(config.layers - 1)).map { _ in make([rows, config.hiddenFeatures]) }
        activations = (0..<(config.layers - 1)).map { _ in make([rows, config.hiddenFeatures]) }
        bottleneck = make([rows, config.bottleneckFeatures])
        normalized = make([rows, config.bottleneckFeatures])
        weight = make([config.prototypes, config.bottleneckFeatures])
        weightGradient = make([config.prototypes, config.bottleneckFeatures])
        normalizedGradient = make([rows, config.bottleneckFeatures])
        inputGradient = make([rows, config.inFeatures])
        let width = max(config.hiddenFeatures, config.bottleneckFeatures)
        scratch = (make([rows, width]), make([rows, width]))
    }
}
