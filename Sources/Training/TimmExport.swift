import Foundation
import Models

/// A trained backbone (the spare EMA, H0-mini's final model, or the student's) as a safetensors file that timm
/// loads strictly: exactly the keys and shapes of `VisionTransformer.state_dict()` for the config (timm names of
/// `ParameterLayout`, `no_embed_class=True`, registers in `reg_token`, no `head` since `num_classes=0`), F32,
/// written atomically. Checked against timm's own key list by tools/fixtures/make_export_fixtures.py.
///
/// Metadata: `format` ("pt"), `architecture` (the config's timm entry point, or `vit_base_patch14_reg4_dinov2`
/// when it names none), `timm_kwargs` (JSON of the `timm.create_model` keyword arguments, with `mlp_layer` and
/// `act_layer` as class names), `config` (the `ViTConfig` as JSON), `role` (`ema` or `student`), `iteration`.
/// To load it (H0-mini: `vit_base_patch14_reg4_dinov2`, `img_size=224`, `mlp_ratio=5.33398…`, `init_values=1e-05`,
/// `reg_tokens=4`):
///
/// ```python
/// import json, timm, torch
/// from safetensors import safe_open
/// from safetensors.torch import load_file
/// meta = safe_open(path, "pt").metadata()
/// kwargs = json.loads(meta["timm_kwargs"])
/// kwargs["mlp_layer"] = {"SwiGLUPacked": timm.layers.SwiGLUPacked, "Mlp": timm.layers.Mlp}[kwargs["mlp_layer"]]
/// kwargs["act_layer"] = {"SiLU": torch.nn.SiLU, "GELU": torch.nn.GELU}[kwargs["act_layer"]]
/// # = timm.create_model(arch, pretrained=False, num_classes=0, img_size=224, patch_size=14, embed_dim=…, depth=…,
/// #     num_heads=…, mlp_ratio=(hidden + 0.5) / embed_dim, qkv_bias=…, init_values=1e-05 (None without LayerScale),
/// #     reg_tokens=…, no_embed_class=True, dynamic_img_size=True, mlp_layer=…, act_layer=…)
/// model = timm.create_model(meta["architecture"], pretrained=False, **kwargs)
/// model.load_state_dict(load_file(path), strict=True)
/// features = model.forward_features(x)   # [B, 1 + R + N, D]: CLS, registers, patches
/// ```
///
/// timm's LayerNorm ε is 1e-6, as every shipped config; at other input sizes timm resamples `pos_embed` its own
/// way (antialiased bicubic), not DINOv2's (`pos_embed_interpolation: dinov2`), so only the stored grid's size
/// gives identical features.
public enum TimmExport {
    /// Which weights the file holds.
    public enum Role: String, Sendable {
        /// The spare EMA of the student backbone (H0-mini's released model).
        case ema
        /// The student's own backbone.
        case student
    }

    /// Writes `backbone` (`[ParameterLayout(config:).count]` in that order: `StudentEMA.parameters`, or the first
    /// `StudentLayout.backboneLayout.count` values of the student) to `path` with timm's names and shapes.
    /// - Throws: `SafetensorsError.cannotWrite` (key `backbone`) when the count is not the config's parameter
    ///   count; `SafetensorsError.io` from the atomic write (then `path` is left as it was).
    public static func write(backbone: ArraySlice<Float>, config: ViTConfig, role: Role, iteration: Int,
                             to path: String) throws(SafetensorsError) {
        let layout = ParameterLayout(config: config)
        guard backbone.count == layout.count else {
            throw .cannotWrite(path: path, key: "backbone",
                               reason: "\(backbone.count) values, but \(config.name) has \(layout.count) parameters")
        }
        let start = backbone.startIndex
        let entries = layout.parameters.map { parameter -> (name: String, payload: SafetensorsPayload) in
            let range = (start + parameter.offset)..<(start + parameter.offset + parameter.count)
            return (parameter.name, .float32(backbone[range], shape: parameter.shape))
        }
        let metadata: [String: String]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            metadata = [
                "format": "pt", "architecture": config.architecture ?? "vit_base_patch14_reg4_dinov2",
                "timm_kwargs": String(decoding: try encoder.encode(TimmArguments(config)), as: UTF8.self),
                "config": String(decoding: try encoder.encode(config), as: UTF8.self),
                "role": role.rawValue, "iteration": "\(iteration)",
            ]
        } catch {
            throw .cannotWrite(path: path, key: "__metadata__", reason: "\(error)")
        }
        try SafetensorsWriter.write(entries: entries, metadata: metadata, to: path)
    }

    /// The `timm.create_model` keyword arguments that build `config`'s model (timm `VisionTransformer`).
    struct TimmArguments: Encodable {
        let numClasses = 0
        let imgSize: Int, patchSize: Int, embedDim: Int, depth: Int, numHeads: Int
        /// `int(embed_dim · mlp_ratio)` is the fc1 width `mlp_hidden_features` (the 0.5 keeps it off a rounding edge).
        let mlpRatio: Double
        let qkvBias: Bool
        /// LayerScale's initial γ (DINOv2's 1e-5; any value creates `ls1`/`ls2`), nil without LayerScale.
        let initValues: Double?
        let regTokens: Int
        let noEmbedClass = true, dynamicImgSize = true
        let mlpLayer: String, actLayer: String

        init(_ config: ViTConfig) {
            imgSize = config.imgSize
            patchSize = config.patchSize
            embedDim = config.embedDim
            depth = config.depth
            numHeads = config.numHeads
            mlpRatio = (Double(config.mlpHiddenFeatures) + 0.5) / Double(config.embedDim)
            qkvBias = config.qkvBias
            initValues = config.layerScale ? 1e-5 : nil
            regTokens = config.regTokens
            mlpLayer = config.mlpLayer == .swigluPacked ? "SwiGLUPacked" : "Mlp"
            actLayer = config.mlpLayer == .swigluPacked ? "SiLU" : "GELU"
        }

        enum CodingKeys: String, CodingKey {
            case numClasses = "num_classes", imgSize = "img_size", patchSize = "patch_size", embedDim = "embed_dim", depth
            case numHeads = "num_heads", mlpRatio = "mlp_ratio", qkvBias = "qkv_bias", initValues = "init_values"
            case regTokens = "reg_tokens", noEmbedClass = "no_embed_class", dynamicImgSize = "dynamic_img_size"
            case mlpLayer = "mlp_layer", actLayer = "act_layer"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(numClasses, forKey: .numClasses)
            try container.encode(imgSize, forKey: .imgSize)
            try container.encode(patchSize, forKey: .patchSize)
            try container.encode(embedDim, forKey: .embedDim)
            try container.encode(depth, forKey: .depth)
            try container.encode(numHeads, forKey: .numHeads)
            try container.encode(mlpRatio, forKey: .mlpRatio)
            try container.encode(qkvBias, forKey: .qkvBias)
            // Explicit null: a missing init_values would leave timm's architecture default (LayerScale on).
            try container.encode(initValues, forKey: .initValues)
            try container.encode(regTokens, forKey: .regTokens)
            try container.encode(noEmbedClass, forKey: .noEmbedClass)
            try container.encode(dynamicImgSize, forKey: .dynamicImgSize)
            try container.encode(mlpLayer, forKey: .mlpLayer)
            try container.encode(actLayer, forKey: .actLayer)
        }
    }
}
