import Models

/// What one `DistillationTrainer` step holds in memory, in bytes, from the sizes alone (no allocation): what
/// `distill run --dry-run` prints. Float32 throughout, as the CPU path keeps it; a bf16 GPU path halves the
/// activations and logits.
///
/// - state: parameters, gradients and AdamW's two moments of the whole student (`4 · P`), the spare EMA of the
///   backbone, the frozen teacher heads;
/// - activations: per token and block `10·D + H + H′` floats (docs/training.md, "Cached activations"), over
///   `Ng·B` global crops of `1 + R + (S/p)²` tokens and `Nl·B` local crops of `1 + R + (s/p)²` tokens;
/// - logits: the student's DINO logits `(Nl + Ng)·B × K` and their gradient, the teacher's `Ng·B × K`, and for
///   iBOT the student logits, the teacher logits and the gradient, `3 · Ng·B·Np × K` — the step holds them whole.
///
/// Feature distillation (a layout with a projector): no teacher heads; activations of the global crops only (the
/// local crops are not used); `logits` counts the projector's rows instead, `Ng·B·(1 + Np)` rows of input and
/// input gradient (`D_s`) and of prediction, its gradient and the teacher target (`D_t`).
public struct TrainingMemoryEstimate: Sendable, Equatable {
    public var state: Int, activations: Int, logits: Int
    /// All three.
    public var total: Int { state + activations + logits }

    /// The estimate for `layout` (student with its heads) trained with `settings` against teacher heads of
    /// `teacherHeadParameters` parameters (not counted for a feature-distillation layout, which has no teacher heads).
    public init(layout: StudentLayout, settings: DistillationTrainer.Settings, teacherHeadParameters: Int) {
        let floats = MemoryLayout<Float>.size
        let config = layout.backbone, b = settings.batch
        let k = layout.heads.first?.config.prototypes ?? 0
        let features = layout.projector != nil
        state = (4 * layout.count + layout.backboneLayout.count + (features ? 0 : teacherHeadParameters)) * floats
        func tokens(_ size: Int) -> Int { config.prefixTokens + (size / config.patchSize) * (size / config.patchSize) }
        let perToken = 10 * config.embedDim + config.mlpHiddenFeatures + config.mlpOutputInFeatures
        let cropTokens = settings.globalCrops * b * tokens(settings.globalSize) + (features ? 0 : settings.localCrops * b * tokens(settings.localSize))
        activations = perToken * config.depth * cropTokens * floats
        let patches = (settings.globalSize / config.patchSize) * (settings.globalSize / config.patchSize)
        let dinoRows = 2 * (settings.globalCrops + settings.localCrops) * b + settings.globalCrops * b
        if let projector = layout.projector {
            logits = settings.globalCrops * b * (1 + patches) * (2 * projector.inFeatures + 3 * projector.outFeatures) * floats
        } else {
            logits = (dinoRows + 3 * settings.globalCrops * b * patches) * k * floats
        }
    }
}
