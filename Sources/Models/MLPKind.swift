/// The feed-forward layer of a ViT block.
public enum MLPKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// timm `SwiGLUPacked` / DINOv2 `SwiGLUFFN`: `fc2(silu(a) · b)` where `[a, b] = fc1(x)` split in halves,
    /// the **first** half the gate (distillation-spec.md §2.2). `fc1` is `[hidden, D]`, `fc2` `[D, hidden/2]`.
    case swigluPacked = "swiglu-packed"
    /// timm `Mlp`: `fc2(gelu(fc1(x)))`, exact erf GELU. `fc1` is `[hidden, D]`, `fc2` `[D, hidden]`.
    case gelu
}
