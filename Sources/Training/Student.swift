import Compute
import Models

/// The student being trained: one flat parameter buffer and one flat gradient buffer in `StudentLayout`, and
/// the training views over them — `backbone` (`ViTTraining`) and one `DINOHead` per head, all writing their
/// gradients into `gradients`. Zero `gradients` once per step (`zeroGradients`), run the passes, then hand the
/// two flat buffers to the optimiser.
public struct Student: Sendable {
    public let layout: StudentLayout
    /// All parameters `[layout.count]`.
    public let parameters: Tensor
    /// dL/dθ `[layout.count]`, element `i` the gradient of `parameters` element `i`.
    public let gradients: Tensor
    public let backbone: ViTTraining
    /// The heads by module name (`dino_head`, `ibot_head`).
    public let heads: [String: DINOHead]
    /// The feature-distillation projector's parameters and gradients, when the layout has one.
    public let projector: ProjectorParameters?
    public let backend: any Backend

    /// Views of the projector's `weight [D_t, D_s]` and `bias [D_t]` in `parameters`, and of their gradients.
    public struct ProjectorParameters: Sendable {
        public let projector: FeatureProjector
        public let weight: Tensor, bias: Tensor
        public let weightGradient: Tensor, biasGradient: Tensor
    }

    /// Views over `parameters` and `gradients`.
    /// - Precondition: both hold `layout.count` elements.
    public init(layout: StudentLayout, parameters: Tensor, gradients: Tensor, backend: any Backend) {
        precondition(parameters.count == layout.count && gradients.count == layout.count,
                     "student buffers of \(parameters.count) and \(gradients.count) elements for \(layout.count) parameters")
        self.layout = layout
        self.parameters = parameters
        self.gradients = gradients
        self.backend = backend
        let backboneCount = layout.backboneLayout.count
        backbone = ViTTraining(config: layout.backbone,
                               parameters: ViTParameters(layout: layout.backboneLayout, flat: parameters.view(shape: [backboneCount])),
                               gradients: ViTParameters(layout: layout.backboneLayout, flat: gradients.view(shape: [backboneCount])),
                               backend: backend)
        var heads: [String: DINOHead] = [:]
        for head in layout.heads {
            let range = layout.range(of: head.name)
            let headLayout = head.config.layout
            heads[head.name] = DINOHead(config: head.config,
                                        parameters: ParameterBuffer(layout: headLayout, flat: parameters.view(offset: range.lowerBound, shape: [range.count])),
                                        gradients: ParameterBuffer(layout: headLayout, flat: gradients.view(offset: range.lowerBound, shape: [range.count])),
                                        backend: backend)
        }
        self.heads = heads
        projector = layout.projector.map { projector in
            let start = layout.range(of: "projector").lowerBound, weights = projector.inFeatures * projector.outFeatures
            return ProjectorParameters(projector: projector,
                                       weight: parameters.view(offset: start, shape: [projector.outFeatures, projector.inFeatures]),
                                       bias: parameters.view(offset: start + weights, shape: [projector.outFeatures]),
                                       weightGradient: gradients.view(offset: start, shape: [projector.outFeatures, projector.inFeatures]),
                                       biasGradient: gradients.view(offset: start + weights, shape: [projector.outFeatures]))
        }
    }

    /// A student with new buffers on `backend`: parameters from `StudentInitialization.dinov2` with `seed`,
    /// gradients zero.
    public static func initialized(layout: StudentLayout, backend: any Backend, seed: UInt64) -> Student {
        let parameters = backend.makeTensor(shape: [layout.count])
        StudentInitialization.dinov2(layout, seed: seed).withUnsafeBufferPointer { backend.upload($0, to: parameters) }
        let gradients = backend.makeTensor(shape: [layout.count])
        backend.fill(gradients, value: 0, count: layout.count)
        return Student(layout: layout, parameters: parameters, gradients: gradients, backend: backend)
    }

    /// Sets every gradient to zero (once per step, before the passes).
    public func zeroGradients() { backend.fill(gradients, value: 0, count: layout.count) }
}

/// One pass of the student side of a distillation step, around the losses (distillation-spec.md §4.11):
///
/// ```
/// student.zeroGradients()
/// try student.forward(a)                      # backbone on both crop sizes, heads up to their features
/// for each head and row chunk:                # the loss code (never the whole [rows, K] logits)
///     head.logits(rows:output:_:) → loss → dL/dlogits → head.backwardLogits(rows:logitsGradient:_:)
/// feature losses add dL/dx_norm into a.global.outputGradient / a.local.outputGradient
/// student.backward(a)                         # heads, then the backbone passes → student.gradients
/// ```
extension Student {
    /// Buffers for `globalBatch` crops of `globalSize` px and `localBatch` crops of `localSize` px (0: none), with
    /// the `dino_head` on every CLS and the `ibot_head` on the global patches when the layout has them.
    public func makeActivations(globalBatch: Int, globalSize: Int, localBatch: Int = 0, localSize: Int = 98) -> StudentActivations {
        let global = backbone.makeActivations(batch: globalBatch, height: globalSize, width: globalSize)
        let local = localBatch > 0 ? backbone.makeActivations(batch: localBatch, height: localSize, width: localSize) : nil
        return StudentActivations(global: global, local: local,
                                  dino: heads["dino_head"]?.makeActivations(rows: localBatch + globalBatch),
                                  ibot: heads["ibot_head"]?.makeActivations(rows: globalBatch * global.patches))
    }

    /// The backbone on both crop sizes (images already in `a.global.images` / `a.local.images`), the heads' inputs
    /// gathered and their features computed, and both `x_norm` gradients zeroed for feature losses to add to.
    /// - Throws: as `ViTTraining.forward`.
    public func forward(_ a: StudentActivations) throws(ViTError) {
        let d = layout.backbone.embedDim
        for pass in [a.global, a.local].compactMap({ $0 }) {
            try backbone.forward(pass)
            backend.fill(pass.outputGradient, value: 0, count: pass.outputGradient.count)
        }
        if let dino = heads["dino_head"], let rows = a.dino {
            var offset = 0
            for pass in [a.local, a.global].compactMap({ $0 }) {
                backend.selectTokens(tokens: pass.output, output: rows.input.view(offset: offset * d, shape: [pass.batch, d]),
                                     batch: pass.batch, length: pass.length, first: 0, count: 1, dim: d)
                offset += pass.batch
            }
            dino.forwardFeatures(rows)
        }
        if let ibot = heads["ibot_head"], let rows = a.ibot {
            backend.selectTokens(tokens: a.global.output, output: rows.input, batch: a.global.batch, length: a.global.length,
                                 first: layout.backbone.prefixTokens, count: a.global.patches, dim: d)
            ibot.forwardFeatures(rows)
        }
    }

    /// After every head row's logits gradient went through `backwardLogits`: the heads' backward, their input
    /// gradients added into the `x_norm` gradients, then both backbone passes; every gradient lands in
    /// `gradients` (accumulating).
    public func backward(_ a: StudentActivations) {
        let d = layout.backbone.embedDim
        if let dino = heads["dino_head"], let rows = a.dino {
            dino.backward(rows)
            var offset = 0
            for pass in [a.local, a.global].compactMap({ $0 }) {
                backend.selectTokensBackward(outputGradient: rows.inputGradient.view(offset: offset * d, shape: [pass.batch, d]),
                                             tokensGradient: pass.outputGradient, batch: pass.batch, length: pass.length, first: 0,
                                             count: 1, dim: d)
                offset += pass.batch
            }
        }
        if let ibot = heads["ibot_head"], let rows = a.ibot {
            ibot.backward(rows)
            backend.selectTokensBackward(outputGradient: rows.inputGradient, tokensGradient: a.global.outputGradient, batch: a.global.batch,
                                         length: a.global.length, first: layout.backbone.prefixTokens, count: a.global.patches, dim: d)
        }
        for pass in [a.global, a.local].compactMap({ $0 }) { backbone.backward(pass) }
    }
}
