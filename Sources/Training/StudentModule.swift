/// The trained sub-modules of the student, as DINOv2 keeps them in `SSLMetaArch.student` (a dict of modules):
/// each gets its own parameter groups and its own gradient-norm clipping (distillation-spec.md §5.3, §5.4).
/// A parameter's module follows from its name's first component.
public enum StudentModule: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The ViT backbone, timm names without a prefix (`cls_token`, `blocks.3.attn.qkv.weight`, `norm.bias`).
    case backbone
    /// The DINO head, names `dino_head.…` (`dino_head.mlp.0.weight`, `dino_head.last_layer.weight_v`).
    case dinoHead = "dino_head"
    /// The iBOT head, names `ibot_head.…`.
    case iBOTHead = "ibot_head"
    /// The feature-distillation projector, names `projector.…` (`FeatureDistillationLoss`).
    case projector

    /// The module of a parameter named `name`: the one whose prefix (`dino_head.`, `ibot_head.`,
    /// `projector.`) it starts with, else the backbone.
    public init(parameterName name: String) {
        for module in [StudentModule.dinoHead, .iBOTHead, .projector] where name.hasPrefix(module.rawValue + ".") {
            self = module
            return
        }
        self = .backbone
    }

    /// `name` relative to its module (the prefix removed), as `module.named_parameters()` yields it.
    public func localName(_ name: String) -> String {
        self == .backbone ? name : String(name.dropFirst(rawValue.count + 1))
    }

    /// Backbone, DINO head, iBOT head, projector.
    public static func < (a: StudentModule, b: StudentModule) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
