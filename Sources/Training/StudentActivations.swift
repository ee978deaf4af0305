import Compute

/// The activations of one student pass over a multi-crop batch (distillation-spec.md §4.1, §4.11): the global
/// crops' and the local crops' backbone passes, the DINO head's rows (`[local CLS; global CLS]`, `localBatch +
/// globalBatch` rows) and the iBOT head's rows (the global crops' patch tokens, image by image, `globalBatch·N`
/// rows). Made by `Student.makeActivations`, reused by every step. Not shareable between concurrent passes.
public final class StudentActivations {
    /// Global crops `[globalBatch, 3, S, S]`, crop-major as DINOv2 collates them.
    public let global: ViTTrainingActivations
    /// Local crops `[localBatch, 3, s, s]`, or nil without local crops.
    public let local: ViTTrainingActivations?
    /// The `dino_head` rows: local CLS rows first (`0 ..< localBatch`), then global CLS rows.
    public let dino: DINOHeadActivations?
    /// The `ibot_head` rows: global patch tokens, row `b·N + n` = patch `n` of global crop `b`.
    public let ibot: DINOHeadActivations?

    init(global: ViTTrainingActivations, local: ViTTrainingActivations?, dino: DINOHeadActivations?, ibot: DINOHeadActivations?) {
        self.global = global
        self.local = local
        self.dino = dino
        self.ibot = ibot
    }
}
