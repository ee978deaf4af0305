/// DINOv2's initialisation of a student trained from scratch (distillation-spec.md §2.7, §3.2), as values for a
/// `StudentLayout` buffer. The distributions are DINOv2's; the values come from `InitializationRandom`, not
/// PyTorch's generator.
///
/// Backbone [dinov2:dinov2/models/vision_transformer.py `init_weights`, `init_weights_vit_timm`]:
/// - every Linear weight `trunc_normal_(std 0.02)` (bounds ±2, absolute), biases 0;
/// - `patch_embed.proj`: PyTorch's Conv2d default, weight and bias U(±1/√fan_in), fan_in = 3·p²;
/// - `pos_embed` `trunc_normal_(std 0.02)`; `reg_token` N(0, 1e-6²); `cls_token` N(0, 1e-6²) plus the CLS
///   position (`trunc_normal_(std 0.02)`), because the timm layout folds DINOv2's `pos_embed[:, 0]` into it;
/// - LayerNorm weight 1, bias 0; LayerScale gammas `layerScale` (DINOv2 `student.layerscale` 1e-5).
///
/// Heads [dinov2:dinov2/layers/dino_head.py]: MLP weights `trunc_normal_(std 0.02)`, biases 0; `last_layer`
/// `weight_v` PyTorch's Linear default U(±1/√bottleneck), `weight_g` 1.
///
/// Feature-distillation projector (`projector.linear.*`): as DINOv2's other Linear layers, weight
/// `trunc_normal_(std 0.02)`, bias 0.
public enum StudentInitialization {
    /// Initial values `[layout.count]` for `layout`, deterministic for `seed`.
    public static func dinov2(_ layout: StudentLayout, layerScale: Float = 1e-5, seed: UInt64) -> [Float] {
        var random = InitializationRandom(seed: seed)
        var values = [Float](repeating: 0, count: layout.count)
        let headNames = Set(layout.heads.map(\.name))
        let patchFanIn = Double(3 * layout.backbone.patchSize * layout.backbone.patchSize)
        for parameter in layout.layout.parameters {
            let name = parameter.name
            let head = name.split(separator: ".").first.map(String.init).flatMap { headNames.contains($0) ? $0 : nil }
            let draw: (inout InitializationRandom) -> Double
            if let head {
                draw = headDraw(localName: String(name.dropFirst(head.count + 1)), shape: parameter.shape)
            } else {
                draw = switch name {
                case "patch_embed.proj.weight", "patch_embed.proj.bias": { $0.uniform(bound: 1 / patchFanIn.squareRoot()) }
                case "pos_embed": { $0.truncatedNormal(std: 0.02, bound: 2) }
                case "reg_token": { $0.normal(std: 1e-6) }
                case "cls_token": { $0.normal(std: 1e-6) + $0.truncatedNormal(std: 0.02, bound: 2) }
                case let n where n.hasSuffix("gamma"): { _ in Double(layerScale) }
                case let n where n.hasPrefix("norm") || n.contains(".norm"): { _ in n.hasSuffix("weight") ? 1 : 0 }
                case let n where n.hasSuffix(".bias"): { _ in 0 }
                default: { $0.truncatedNormal(std: 0.02, bound: 2) }
                }
            }
            for index in parameter.offset..<(parameter.offset + parameter.count) {
                values[index] = Float(draw(&random))
            }
        }
        return values
    }

    /// Initial values `[config.layout.count]` of one head alone (names without a module prefix), with the head
    /// distributions of `dinov2(_:layerScale:seed:)`, deterministic for `seed`.
    public static func dinov2Head(_ config: HeadConfig, seed: UInt64) -> [Float] {
        var random = InitializationRandom(seed: seed)
        var values = [Float](repeating: 0, count: config.layout.count)
        for parameter in config.layout.parameters {
            let draw = headDraw(localName: parameter.name, shape: parameter.shape)
            for index in parameter.offset..<(parameter.offset + parameter.count) {
                values[index] = Float(draw(&random))
            }
        }
        return values
    }

    /// DINOv2's distribution of the head parameter `localName` (e.g. `mlp.0.weight`, `last_layer.weight_v`).
    private static func headDraw(localName: String, shape: [Int]) -> (inout InitializationRandom) -> Double {
        let bottleneck = Double(shape.last ?? 1)
        return switch localName {
        case "last_layer.weight_g": { _ in 1 }
        case "last_layer.weight_v": { $0.uniform(bound: 1 / bottleneck.squareRoot()) }
        case let n where n.hasSuffix(".bias"): { _ in 0 }
        default: { $0.truncatedNormal(std: 0.02, bound: 2) }
        }
    }
}
