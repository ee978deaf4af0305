import Models

/// The shape of a DINOv2 projection head (`DINOHead`, distillation-spec.md §3.1): an MLP of `layers` Linear
/// layers (`in → hidden → … → hidden → bottleneck`, exact GELU between them, biases), `F.normalize` of the
/// bottleneck features, and a weight-normalised Linear without bias to `prototypes` logits.
public struct HeadConfig: Sendable, Hashable, Codable {
    /// Input width: the backbone's embedding width D.
    public var inFeatures: Int
    /// Width of the hidden layers (2048 in DINOv2, `head_hidden_dim`).
    public var hiddenFeatures: Int
    /// Width of the bottleneck (DINO 384, iBOT 256 in H0-mini).
    public var bottleneckFeatures: Int
    /// K, the number of prototypes (logits per row; 131,072 in the paper).
    public var prototypes: Int
    /// Number of Linear layers in the MLP (3 in DINOv2, `head_nlayers`); 1 means `in → bottleneck` directly.
    public var layers: Int

    /// - Precondition: every size ≥ 1.
    public init(inFeatures: Int, hiddenFeatures: Int = 2048, bottleneckFeatures: Int, prototypes: Int, layers: Int = 3) {
        precondition([inFeatures, hiddenFeatures, bottleneckFeatures, prototypes, layers].allSatisfy { $0 >= 1 },
                      "head sizes must be ≥ 1")
        self.inFeatures = inFeatures
        self.hiddenFeatures = hiddenFeatures
        self.bottleneckFeatures = bottleneckFeatures
        self.prototypes = prototypes
        self.layers = layers
    }

    /// H0-mini's student DINO head: bottleneck 384, hidden 2048, 3 layers (paper Table 4).
    public static func dino(inFeatures: Int, prototypes: Int = 131_072) -> HeadConfig {
        HeadConfig(inFeatures: inFeatures, bottleneckFeatures: 384, prototypes: prototypes)
    }

    /// H0-mini's student iBOT head: bottleneck 256, hidden 2048, 3 layers (paper Table 4).
    public static func ibot(inFeatures: Int, prototypes: Int = 131_072) -> HeadConfig {
        HeadConfig(inFeatures: inFeatures, bottleneckFeatures: 256, prototypes: prototypes)
    }

    /// `(in, out)` of MLP layer `i` (`mlp.{2i}`).
    public func mlpLayer(_ i: Int) -> (inFeatures: Int, outFeatures: Int) {
        let input = i == 0 ? inFeatures : hiddenFeatures
        let output = i == layers - 1 ? bottleneckFeatures : hiddenFeatures
        return (input, output)
    }

    /// The head's parameters in DINOv2's `state_dict` order and shapes: `mlp.{2i}.weight [out, in]`,
    /// `mlp.{2i}.bias [out]` per layer, then `last_layer.weight_g [K, 1]`, `last_layer.weight_v [K, bottleneck]`
    /// (legacy `torch.nn.utils.weight_norm`, as DINOv2 uses).
    public var layout: ParameterLayout {
        var entries: [(name: String, shape: [Int])] = []
        for i in 0..<layers {
            let (input, output) = mlpLayer(i)
            entries.append(("mlp.\(2 * i).weight", [output, input]))
            entries.append(("mlp.\(2 * i).bias", [output]))
        }
        entries.append(("last_layer.weight_g", [prototypes, 1]))
        entries.append(("last_layer.weight_v", [prototypes, bottleneckFeatures]))
        return ParameterLayout(entries)
    }
}
