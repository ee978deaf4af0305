import Dataflow

/// What `teacher-inference` emits for one sample: its crops (passed through, for the student) and the teacher
/// backbone's final-LayerNorm tokens (`x_norm`, timm `forward_features`) of its global crops, the inputs of the
/// DINO and iBOT targets (distillation-spec.md §2.3, §4.2).
///
/// Registers are dropped: the CLS token and the patch tokens are what the heads and the feature-distillation
/// projector consume.
public struct TeacherOutput: ByteSized {
    /// The sample's crops, unchanged.
    public let crops: CropSet
    /// The teacher's width D.
    public let dim: Int
    /// Patch tokens per global crop, N = (S / patch)².
    public let patchTokens: Int
    /// `x_norm` CLS token of each global crop, `[G, D]` flat (G = `crops.globalShape[0]`, crop order kept).
    public let cls: [Float]
    /// `x_norm` patch tokens of each global crop, `[G, N, D]` flat, row-major patches as in timm.
    public let patches: [Float]

    /// - Precondition: `cls.count == G·D` and `patches.count == G·N·D`.
    public init(crops: CropSet, dim: Int, patchTokens: Int, cls: [Float], patches: [Float]) {
        let globals = crops.globalShape[0]
        precondition(cls.count == globals * dim && patches.count == globals * patchTokens * dim,
                     "teacher output sizes \(cls.count), \(patches.count) for \(globals) crops of \(patchTokens) patches × \(dim)")
        self.crops = crops
        self.dim = dim
        self.patchTokens = patchTokens
        self.cls = cls
        self.patches = patches
    }

    /// Bytes held: the crops plus `(G + G·N)·D` floats.
    public var byteCount: Int { crops.byteCount + (cls.count + patches.count) * MemoryLayout<Float>.size }
}
