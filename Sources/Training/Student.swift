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
    public let backend: any Backend

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
