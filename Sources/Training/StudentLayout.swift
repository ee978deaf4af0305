import Models

/// Every trainable parameter of the student in one flat buffer (llm.c style), so that AdamW, EMA and gradient
/// clipping are flat loops and a gradient buffer of the same layout mirrors it element for element: first the
/// backbone under its timm names (`ParameterLayout`: `cls_token`, …, `blocks.{i}.attn.qkv.weight`, …,
/// `norm.bias`), then each head under `<head>.` + its DINOv2 names (`dino_head.mlp.0.weight`, …,
/// `dino_head.last_layer.weight_g`, `dino_head.last_layer.weight_v`) — the keys of DINOv2's `student` modules
/// (distillation-spec.md §2.5, §3.1). For feature distillation (a teacher without heads) the layout has no heads
/// and a `FeatureProjector` after the backbone, `projector.linear.weight`, `projector.linear.bias`. Each module is
/// one contiguous range, for per-module clipping (§5.4).
public struct StudentLayout: Sendable, Hashable {
    /// One head: its module name (`dino_head`, `ibot_head`) and shape.
    public struct Head: Sendable, Hashable {
        public let name: String
        public let config: HeadConfig
        public init(name: String, config: HeadConfig) {
            self.name = name
            self.config = config
        }
    }

    /// The backbone's architecture and layout.
    public let backbone: ViTConfig
    public let backboneLayout: ParameterLayout
    /// The heads, in buffer order.
    public let heads: [Head]
    /// The feature-distillation projector (after the heads), or nil.
    public let projector: FeatureProjector?
    /// All parameters with their full names.
    public let layout: ParameterLayout

    /// The backbone followed by `heads`, then `projector` when given.
    /// - Precondition: head names are distinct and none is `backbone` or `projector`.
    public init(backbone: ViTConfig, heads: [Head], projector: FeatureProjector? = nil) {
        precondition(Set(heads.map(\.name)).count == heads.count && !heads.contains { ["backbone", "projector"].contains($0.name) },
                     "head names must be distinct")
        self.backbone = backbone
        backboneLayout = ParameterLayout(config: backbone)
        self.heads = heads
        self.projector = projector
        var entries = backboneLayout.parameters.map { (name: $0.name, shape: $0.shape) }
        for head in heads {
            entries += head.config.layout.parameters.map { (name: head.name + "." + $0.name, shape: $0.shape) }
        }
        entries += projector?.parameters ?? []
        layout = ParameterLayout(entries)
    }

    /// The feature-distillation student: `backbone` and a projector from its width to the teacher's
    /// `teacherWidth` (D_t, 1536 for H-optimus-0), no heads (docs/objective.md "Feature distillation").
    public static func features(backbone: ViTConfig, teacherWidth: Int) -> StudentLayout {
        StudentLayout(backbone: backbone, heads: [], projector: FeatureProjector(inFeatures: backbone.embedDim, outFeatures: teacherWidth))
    }

    /// H0-mini's student: `backbone`, a DINO head (bottleneck 384) and an iBOT head (bottleneck 256) with
    /// `prototypes` each (paper Table 4).
    public static func dinov2(backbone: ViTConfig, prototypes: Int = 131_072) -> StudentLayout {
        StudentLayout(backbone: backbone, heads: [Head(name: "dino_head", config: .dino(inFeatures: backbone.embedDim, prototypes: prototypes)),
                                                  Head(name: "ibot_head", config: .ibot(inFeatures: backbone.embedDim, prototypes: prototypes))])
    }

    /// Element count of the whole buffer.
    public var count: Int { layout.count }

    /// The module names in buffer order: `backbone`, then the heads', then `projector` when present.
    public var modules: [String] { ["backbone"] + heads.map(\.name) + (projector == nil ? [] : ["projector"]) }

    /// The elements of module `name` (`backbone`, a head's name or `projector`).
    /// - Precondition: the module exists.
    public func range(of module: String) -> Range<Int> {
        if module == "backbone" { return 0..<backboneLayout.count }
        var start = backboneLayout.count
        for head in heads {
            let count = head.config.layout.count
            if head.name == module { return start..<(start + count) }
            start += count
        }
        if module == "projector", let projector { return start..<(start + projector.count) }
        preconditionFailure("no module \(module) in the student (\(modules.joined(separator: ", ")))")
    }
}
