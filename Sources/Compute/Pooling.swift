/// How a ViT's token sequence `[B, L, D]` (after the final norm) becomes one embedding per image.
public enum Pooling: String, Sendable, Hashable, CaseIterable, Codable {
    /// The CLS token, `x_norm[:, 0]` → `[B, D]` (H-optimus-0's `global_pool: token`).
    case cls
    /// CLS ⊕ mean of the patch tokens, registers excluded: `cat(x_norm[:, 0], x_norm[:, 1+R:].mean(1))` →
    /// `[B, 2D]` (H0-mini card; distillation-spec.md §2.4).
    case clsMean = "cls+mean"

    /// Embedding width for a model of width `dim`.
    public func width(dim: Int) -> Int { self == .cls ? dim : 2 * dim }
}
