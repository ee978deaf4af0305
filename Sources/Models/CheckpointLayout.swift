/// The key naming of a ViT checkpoint (distillation-spec.md §2.5).
public enum CheckpointLayout: String, Sendable, Hashable {
    /// timm names (`reg_token`, `pos_embed` of the patches only, `mlp.fc1`/`mlp.fc2`): what
    /// `timm.create_model` loads, and what Distillery writes.
    case timm
    /// DINOv2 training names: `register_tokens`, `pos_embed` with the CLS position in row 0, `mlp.w12`/`mlp.w3`,
    /// optional `mask_token`, block keys possibly chunked `blocks.{chunk}.{i}.…` (FSDP `block_chunks`).
    case dinov2

    /// DINOv2 when any key is unique to it (`register_tokens`, `mask_token`, `mlp.w12`/`mlp.w3`, or chunked
    /// block keys); timm otherwise.
    public static func detect(names: some Sequence<String>) -> CheckpointLayout {
        for name in names {
            if name == "register_tokens" || name == "mask_token" || name.contains(".mlp.w12.") || name.contains(".mlp.w3.")
                || DINOv2Keys.unchunked(name) != name {
                return .dinov2
            }
        }
        return .timm
    }
}
