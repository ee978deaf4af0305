import Foundation

/// Key renames between the DINOv2 training layout and timm (timm `_convert_dinov2`; distillation-spec.md §2.5).
/// The value changes (`cls_token += pos_embed[:, 0]`, `pos_embed = pos_embed[:, 1:]`) are done by
/// `ViTCheckpoint` when it loads.
enum DINOv2Keys {
    /// The DINOv2 name of timm parameter `name`.
    static func dinov2Name(timm name: String) -> String {
        if name == "reg_token" { return "register_tokens" }
        return name.replacingOccurrences(of: ".mlp.fc1.", with: ".mlp.w12.")
            .replacingOccurrences(of: ".mlp.fc2.", with: ".mlp.w3.")
    }

    /// `blocks.{chunk}.{i}.rest` → `blocks.{i}.rest` (FSDP block chunks); other names unchanged.
    static func unchunked(_ name: String) -> String {
        let parts = name.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blocks", Int(parts[1]) != nil, Int(parts[2]) != nil else { return name }
        return "blocks.\(parts[2]).\(parts[3])"
    }
}
