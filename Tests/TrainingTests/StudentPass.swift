import Compute
import Models
@testable import Training

/// One pass of the student side of a DINOv2 distillation step (distillation-spec.md §4.11) for the tests, written
/// from the library's pieces: both crops' training forward, the DINO head on `[local CLS; global CLS]`, the iBOT
/// head on the global patch tokens (logits in chunks of `ibotChunk` rows), upstream gradients given for the logits
/// and for `x_norm`, the heads' input gradients scattered back to their tokens, and both crops' backward.
struct StudentPass {
    let vit: ViTTraining
    let dino: DINOHead?
    let ibot: DINOHead?
    var backend: any Backend { vit.backend }

    struct Upstream {
        /// dL/d(DINO logits) `[2B, K]`, dL/d(iBOT logits) `[B·N, K]`, dL/d`x_norm` of each crop size (nil: 0).
        var dino, ibot, globalFeatures, localFeatures: Tensor?
    }

    /// Runs the pass; gradients accumulate into the models' gradient buffers.
    /// - Returns: the DINO and iBOT logits.
    func run(global: ViTTrainingActivations, local: ViTTrainingActivations, upstream: Upstream, ibotChunk: Int) throws -> (dino: Tensor?, ibot: Tensor?) {
        let b = global.batch, d = vit.config.embedDim, prefix = vit.config.prefixTokens
        try vit.forward(global)
        try vit.forward(local)
        for (activations, gradient) in [(global, upstream.globalFeatures), (local, upstream.localFeatures)] {
            if let gradient {
                backend.copy(from: gradient, to: activations.outputGradient, count: activations.outputGradient.count)
            } else {
                backend.fill(activations.outputGradient, value: 0, count: activations.outputGradient.count)
            }
        }
        var dinoLogits: Tensor?, ibotLogits: Tensor?
        if let dino, let gradient = upstream.dino {
            let a = dino.makeActivations(rows: 2 * b)
            backend.selectTokens(tokens: local.output, output: a.input.view(shape: [b, d]), batch: b, length: local.length, first: 0, count: 1, dim: d)
            backend.selectTokens(tokens: global.output, output: a.input.view(offset: b * d, shape: [b, d]), batch: b, length: global.length,
                                 first: 0, count: 1, dim: d)
            let logits = backend.makeTensor(shape: [2 * b, dino.config.prototypes])
            dino.forward(a, logits: logits)
            dino.backwardLogits(rows: 0..<(2 * b), logitsGradient: gradient, a)
            dino.backward(a)
            backend.selectTokensBackward(outputGradient: a.inputGradient.view(shape: [b, d]), tokensGradient: local.outputGradient, batch: b,
                                         length: local.length, first: 0, count: 1, dim: d)
            backend.selectTokensBackward(outputGradient: a.inputGradient.view(offset: b * d, shape: [b, d]), tokensGradient: global.outputGradient,
                                         batch: b, length: global.length, first: 0, count: 1, dim: d)
            dinoLogits = logits
        }
        if let ibot, let gradient = upstream.ibot {
            let rows = b * global.patches, k = ibot.config.prototypes
            let a = ibot.makeActivations(rows: rows)
            backend.selectTokens(tokens: global.output, output: a.input, batch: b, length: global.length, first: prefix,
                                 count: global.patches, dim: d)
            ibot.forwardFeatures(a)
            let logits = backend.makeTensor(shape: [rows, k])
            for start in stride(from: 0, to: rows, by: ibotChunk) {
                let range = start..<min(rows, start + ibotChunk)
                ibot.logits(rows: range, output: logits.view(offset: start * k, shape: [range.count, k]), a)
                ibot.backwardLogits(rows: range, logitsGradient: gradient.view(offset: start * k, shape: [range.count, k]), a)
            }
            ibot.backward(a)
            backend.selectTokensBackward(outputGradient: a.inputGradient, tokensGradient: global.outputGradient, batch: b, length: global.length,
                                         first: prefix, count: global.patches, dim: d)
            ibotLogits = logits
        }
        vit.backward(global)
        vit.backward(local)
        return (dinoLogits, ibotLogits)
    }
}
