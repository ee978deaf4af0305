import Compute
import Models

/// The DINOv2 projection head (`dinov2/layers/dino_head.py`, distillation-spec.md §3.1) over rows of features,
/// forward and backward:
///
/// ```
/// forward                                          backward
/// h = mlp.0(x); h = gelu(h)  … (layers − 1 times)  linearBackward, geluBackward
/// z = mlp.{2(n−1)}(h)                              linearBackward → dL/dx
/// y = F.normalize(z, eps 1e-12)                    l2NormalizeBackward
/// W = weight_g ⊙ weight_v / ‖weight_v‖ (rows)      weightNormBackward → weight_g, weight_v
/// logits = y·Wᵀ  [rows, K], chunk by chunk         linearBackward per chunk (dW summed, dy per row)
/// ```
///
/// The logits are made and consumed in row chunks (`logits(rows:output:)`, `backwardLogits(rows:…)`), so a loss
/// over `[2B·256, K]` never materialises them whole. Parameters and gradients are flat buffers in
/// `config.layout` (DINOv2 `state_dict` names without the `dino_head.`/`ibot_head.` prefix); gradients
/// accumulate. Immutable and Sendable; each concurrent caller brings its own activations.
public struct DINOHead: Sendable {
    public let config: HeadConfig
    public let parameters: ParameterBuffer
    /// dL/dθ, same layout; `backward` adds to it.
    public let gradients: ParameterBuffer
    public let backend: any Backend
    /// `F.normalize`'s eps in float32.
    public static let normalizeEps: Float = 1e-12

    /// A head over `parameters`, accumulating into `gradients`.
    /// - Precondition: both have `config.layout`.
    public init(config: HeadConfig, parameters: ParameterBuffer, gradients: ParameterBuffer, backend: any Backend) {
        precondition(parameters.layout == config.layout && gradients.layout == config.layout, "head buffers do not have the config's layout")
        self.config = config
        self.parameters = parameters
        self.gradients = gradients
        self.backend = backend
    }

    /// Buffers for `rows` input rows.
    public func makeActivations(rows: Int) -> DINOHeadActivations {
        DINOHeadActivations(config: config, backend: backend, rows: rows)
    }

    // MARK: Forward

    /// The MLP, `F.normalize` and the weight-normalised last layer's `W`, on `a.input`; then take the logits with
    /// `logits(rows:output:_:)` (or `forward(_:logits:)` for all rows at once).
    public func forwardFeatures(_ a: DINOHeadActivations) {
        var input = a.input
        for i in 0..<config.layers {
            let (inFeatures, outFeatures) = config.mlpLayer(i)
            let last = i == config.layers - 1
            let output = last ? a.bottleneck : a.preActivations[i]
            backend.linear(input: input, weight: parameters["mlp.\(2 * i).weight"], bias: parameters["mlp.\(2 * i).bias"],
                           output: output, rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures)
            if !last {
                backend.gelu(input: output, output: a.activations[i], count: a.rows * outFeatures)
                input = a.activations[i]
            }
        }
        backend.l2Normalize(input: a.bottleneck, output: a.normalized, rows: a.rows, dim: config.bottleneckFeatures, eps: Self.normalizeEps)
        backend.weightNorm(direction: parameters["last_layer.weight_v"], magnitude: parameters["last_layer.weight_g"], weight: a.weight,
                           rows: config.prototypes, columns: config.bottleneckFeatures)
        backend.fill(a.weightGradient, value: 0, count: config.prototypes * config.bottleneckFeatures)
    }

    /// Logits of rows `range` after `forwardFeatures`: `output` `[range.count, K]` = `normalized[range]·Wᵀ`.
    public func logits(rows range: Range<Int>, output: Tensor, _ a: DINOHeadActivations) {
        let n = config.bottleneckFeatures
        backend.linear(input: a.normalized.view(offset: range.lowerBound * n, shape: [range.count, n]), weight: a.weight, bias: nil,
                       output: output, rows: range.count, inFeatures: n, outFeatures: config.prototypes)
    }

    /// `forwardFeatures` then all the logits, `[rows, K]` in `logits`.
    public func forward(_ a: DINOHeadActivations, logits output: Tensor) {
        forwardFeatures(a)
        logits(rows: 0..<a.rows, output: output, a)
    }

    // MARK: Backward

    /// The last layer's backward for rows `range` from `logitsGradient` `[range.count, K]` (dL/dlogits):
    /// dL/dW summed into the activations, dL/d`normalized[range]` written. Call once per chunk, each row once.
    public func backwardLogits(rows range: Range<Int>, logitsGradient: Tensor, _ a: DINOHeadActivations) {
        let n = config.bottleneckFeatures
        backend.linearBackward(input: a.normalized.view(offset: range.lowerBound * n, shape: [range.count, n]), weight: a.weight,
                               outputGradient: logitsGradient,
                               inputGradient: a.normalizedGradient.view(offset: range.lowerBound * n, shape: [range.count, n]),
                               weightGradient: a.weightGradient, biasGradient: nil, rows: range.count, inFeatures: n,
                               outFeatures: config.prototypes)
    }

    /// The rest of the backward once every row's logits gradient went through `backwardLogits`: adds dL/dθ to
    /// `gradients` and writes dL/d`input` into `a.inputGradient`.
    /// - Returns: `a.inputGradient` `[rows, in]`.
    @discardableResult
    public func backward(_ a: DINOHeadActivations) -> Tensor {
        let n = config.bottleneckFeatures
        backend.weightNormBackward(direction: parameters["last_layer.weight_v"], magnitude: parameters["last_layer.weight_g"],
                                   weightGradient: a.weightGradient, directionGradient: gradients["last_layer.weight_v"],
                                   magnitudeGradient: gradients["last_layer.weight_g"], rows: config.prototypes, columns: n)
        var outputGradient = a.scratch.0.view(shape: [a.rows, n])
        backend.l2NormalizeBackward(input: a.bottleneck, output: a.normalized, outputGradient: a.normalizedGradient,
                                    inputGradient: outputGradient, rows: a.rows, dim: n, eps: Self.normalizeEps)
        for i in (0..<config.layers).reversed() {
            let (inFeatures, outFeatures) = config.mlpLayer(i)
            let first = i == 0
            let target = first ? a.inputGradient : other(than: outputGradient, a).view(shape: [a.rows, inFeatures])
            backend.linearBackward(input: first ? a.input : a.activations[i - 1], weight: parameters["mlp.\(2 * i).weight"],
                                   outputGradient: outputGradient, inputGradient: target,
                                   weightGradient: gradients["mlp.\(2 * i).weight"], biasGradient: gradients["mlp.\(2 * i).bias"],
                                   rows: a.rows, inFeatures: inFeatures, outFeatures: outFeatures)
            if !first {
                backend.geluBackward(input: a.preActivations[i - 1], outputGradient: target, inputGradient: target, count: a.rows * inFeatures)
                outputGradient = target
            }
        }
        return a.inputGradient
    }

    /// The scratch buffer that `tensor` does not live in.
    private func other(than tensor: Tensor, _ a: DINOHeadActivations) -> Tensor {
        tensor.storage === a.scratch.0.storage ? a.scratch.1 : a.scratch.0
    }
}
