import Foundation

/// DINOv2's per-parameter optimiser settings (distillation-spec.md §5.3; `dinov2/utils/param_groups.py`
/// `get_params_groups_with_decay` + `get_vit_lr_decay_rate`, applied to each student sub-module separately as
/// `SSLMetaArch.get_params_groups` does), decided from the parameter's name within its module:
///
/// * lr multiplier, backbone: `decay^(depth + 1 − layer)` with layer 0 for `pos_embed`, `patch_embed`,
///   `mask_token`, `cls_token`, `register_tokens` (and timm's `reg_token`, the same tensor), `i + 1` for
///   `blocks.{i}.…`, `depth + 1` otherwise (the final `norm`); then × `patchEmbedLRMultiplier` for `patch_embed`.
///   Heads (no blocks in the module): 1.
/// * wd multiplier 0 for names ending in `.bias` or containing `norm` or `gamma`, else 1.
/// * last layer: names containing `last_layer` follow the last-layer lr schedule (0 for the first epoch).
///
/// At each iteration a parameter's `lr = (last layer ? lastLayerLR : lr) · lrMultiplier` and
/// `weight decay = wd · wdMultiplier` (DINOv2 `apply_optim_scheduler`).
public struct ParameterGroups: Sendable, Equatable {
    /// One parameter's settings.
    public struct Rule: Sendable, Hashable {
        /// Factor on the iteration's lr (layer-wise decay × patch-embed factor).
        public let lrMultiplier: Double
        /// Factor on the iteration's weight decay (0 or 1).
        public let wdMultiplier: Double
        /// Follows the last-layer lr schedule (frozen for the first epoch).
        public let isLastLayer: Bool

        /// A rule with these values.
        public init(lrMultiplier: Double, wdMultiplier: Double, isLastLayer: Bool) {
            self.lrMultiplier = lrMultiplier
            self.wdMultiplier = wdMultiplier
            self.isLastLayer = isLastLayer
        }
    }

    /// Layer-wise lr decay (0.9 in DINOv2's default config; 1.0 in its ViT-g/L configs).
    public let layerwiseDecay: Double
    /// Extra lr factor of the patch embedding (0.2).
    public let patchEmbedLRMultiplier: Double
    /// Blocks of the backbone.
    public let depth: Int
    /// One rule per table entry, in table order.
    public let rules: [Rule]

    /// The rules of every parameter of `table`, for a backbone of `depth` blocks.
    public init(table: ParameterTable, depth: Int, layerwiseDecay: Double = 0.9, patchEmbedLRMultiplier: Double = 0.2) {
        self.layerwiseDecay = layerwiseDecay
        self.patchEmbedLRMultiplier = patchEmbedLRMultiplier
        self.depth = depth
        rules = table.entries.map {
            Self.rule(localName: $0.module.localName($0.name), blocks: $0.module == .backbone ? depth : 0,
                      layerwiseDecay: layerwiseDecay, patchEmbedLRMultiplier: patchEmbedLRMultiplier)
        }
    }

    /// The rule of a parameter named `localName` inside a module with `blocks` blocks (0 for a head).
    public static func rule(localName name: String, blocks: Int, layerwiseDecay: Double,
                            patchEmbedLRMultiplier: Double) -> Rule {
        var layer = blocks + 1
        if blocks > 0 {
            let embeddings = ["pos_embed", "patch_embed", "mask_token", "cls_token", "register_tokens", "reg_token"]
            if embeddings.contains(where: { name.contains($0) }) {
                layer = 0
            } else if let range = name.range(of: "blocks."), !name.contains("residual.") {
                let component = name[range.upperBound...].prefix { $0 != "." }
                if let block = Int(component) { layer = block + 1 }
            }
        } else {
            layer = 1   // DINOv2: a module without blocks gets layer_id = 0 + 1, i.e. decay^0
        }
        var lr = Foundation.pow(layerwiseDecay, Double(blocks + 1 - layer))
        if name.contains("patch_embed") { lr *= patchEmbedLRMultiplier }
        let noDecay = name.hasSuffix(".bias") || name.contains("norm") || name.contains("gamma")
        return Rule(lrMultiplier: lr, wdMultiplier: noDecay ? 0 : 1, isLastLayer: name.contains("last_layer"))
    }

    /// The learning rate and weight decay of rule `index` at an iteration with schedule values `values`.
    public func settings(_ index: Int, _ values: TrainingSchedules.Values) -> (lr: Double, weightDecay: Double) {
        let rule = rules[index]
        return ((rule.isLastLayer ? values.lastLayerLR : values.lr) * rule.lrMultiplier,
                values.weightDecay * rule.wdMultiplier)
    }
}
