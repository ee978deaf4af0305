import Compute
import Foundation
import Yams

/// The architecture of a ViT of the timm/DINOv2 family (distillation-spec.md §2.1), loaded from YAML
/// (`configs/models/*.yaml`); keys are timm's argument names.
///
/// ```yaml
/// name: h0-mini
/// architecture: vit_base_patch14_reg4_dinov2   # the timm entry point, for reference
/// img_size: 224                 # pixels; the stored pos-embed grid is img_size / patch_size
/// patch_size: 14
/// embed_dim: 768
/// depth: 12
/// num_heads: 12
/// reg_tokens: 4
/// mlp_layer: swiglu-packed      # or gelu
/// mlp_hidden_features: 4096     # fc1 output width (timm hidden_features = int(embed_dim · mlp_ratio))
/// layer_scale: true
/// qkv_bias: true
/// norm_eps: 1.0e-6
/// pos_embed_interpolation: dinov2   # or timm
/// normalization: {mean: [0.707223, 0.578729, 0.703617], std: [0.211883, 0.230117, 0.177517]}
/// ```
public struct ViTConfig: Sendable, Hashable, Codable {
    /// A short name, used in messages and reports.
    public var name: String
    /// The timm model name this config mirrors (informational).
    public var architecture: String?
    /// Image side in pixels for which `pos_embed` is stored (grid `imgSize / patchSize`).
    public var imgSize: Int
    public var patchSize: Int
    /// Width D.
    public var embedDim: Int
    /// Number of blocks.
    public var depth: Int
    public var numHeads: Int
    /// Register tokens R (0 for none).
    public var regTokens: Int
    public var mlpLayer: MLPKind
    /// `fc1` output width; for SwiGLU the packed width (gate + value), so `fc2` takes half of it.
    public var mlpHiddenFeatures: Int
    /// Whether blocks have LayerScale (`ls1.gamma`, `ls2.gamma`).
    public var layerScale: Bool
    /// Whether `attn.qkv` has a bias.
    public var qkvBias: Bool
    /// LayerNorm epsilon.
    public var normEps: Float
    /// How `pos_embed` is resampled for inputs of another size.
    public var posEmbedInterpolation: PosEmbedInterpolation
    /// Input normalisation of RGB8 pixels.
    public var normalization: ImageNormalization

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, architecture, imgSize = "img_size", patchSize = "patch_size", embedDim = "embed_dim", depth,
             numHeads = "num_heads", regTokens = "reg_tokens", mlpLayer = "mlp_layer",
             mlpHiddenFeatures = "mlp_hidden_features", layerScale = "layer_scale", qkvBias = "qkv_bias",
             normEps = "norm_eps", posEmbedInterpolation = "pos_embed_interpolation", normalization
    }

    public init(name: String, architecture: String? = nil, imgSize: Int = 224, patchSize: Int = 14, embedDim: Int,
                depth: Int, numHeads: Int, regTokens: Int = 4, mlpLayer: MLPKind, mlpHiddenFeatures: Int,
                layerScale: Bool = true, qkvBias: Bool = true, normEps: Float = 1e-6,
                posEmbedInterpolation: PosEmbedInterpolation = .dinov2,
                normalization: ImageNormalization = .hOptimus) {
        self.name = name
        self.architecture = architecture
        self.imgSize = imgSize
        self.patchSize = patchSize
        self.embedDim = embedDim
        self.depth = depth
        self.numHeads = numHeads
        self.regTokens = regTokens
        self.mlpLayer = mlpLayer
        self.mlpHiddenFeatures = mlpHiddenFeatures
        self.layerScale = layerScale
        self.qkvBias = qkvBias
        self.normEps = normEps
        self.posEmbedInterpolation = posEmbedInterpolation
        self.normalization = normalization
    }

    /// Side of the stored positional-embedding grid (16 for 224 px, patch 14).
    public var gridSize: Int { imgSize / patchSize }
    /// Channels per head.
    public var headDim: Int { embedDim / numHeads }
    /// Tokens before the patches: CLS and the registers.
    public var prefixTokens: Int { 1 + regTokens }
    /// Input width of `fc2` (half of `mlpHiddenFeatures` for SwiGLU).
    public var mlpOutputInFeatures: Int { mlpLayer == .swigluPacked ? mlpHiddenFeatures / 2 : mlpHiddenFeatures }
    /// Token count for an input of `height × width` pixels.
    public func sequenceLength(height: Int, width: Int) -> Int { prefixTokens + (height / patchSize) * (width / patchSize) }

    /// Reads and validates a config file.
    /// - Throws: `ViTConfigError` naming the file and key (unreadable file, YAML error, unknown or missing key,
    ///   wrong type, inconsistent sizes).
    public static func load(path: String) throws(ViTConfigError) -> ViTConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ViTConfigError(source: path, key: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        return try ViTConfig(yaml: text, source: path)
    }

    /// Parses and validates YAML text; `source` names it in errors.
    public init(yaml: String, source: String) throws(ViTConfigError) {
        let node: Any?
        do {
            node = try Yams.load(yaml: yaml)
        } catch {
            throw ViTConfigError(source: source, key: nil, reason: "not valid YAML: \(error)")
        }
        guard let mapping = node as? [String: Any] else {
            throw ViTConfigError(source: source, key: nil, reason: "expected a mapping of keys to values")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = mapping.keys.sorted().first(where: { !known.contains($0) }) {
            throw ViTConfigError(source: source, key: unknown, reason: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        do {
            self = try YAMLDecoder().decode(ViTConfig.self, from: yaml)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ViTConfigError(source: source, key: (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."),
                                 reason: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            let choices: [String] = switch key {
            case CodingKeys.mlpLayer.rawValue: MLPKind.allCases.map(\.rawValue)
            case CodingKeys.posEmbedInterpolation.rawValue: PosEmbedInterpolation.allCases.map(\.rawValue)
            default: []
            }
            let reason = choices.isEmpty ? context.debugDescription : "\(context.debugDescription) (one of: \(choices.joined(separator: ", ")))"
            throw ViTConfigError(source: source, key: key, reason: reason)
        } catch {
            throw ViTConfigError(source: source, key: nil, reason: "\(error)")
        }
        try validate(source: source)
    }

    /// Checks sizes are positive and consistent.
    /// - Throws: `ViTConfigError` naming the first inconsistent key.
    public func validate(source: String) throws(ViTConfigError) {
        func fail(_ key: CodingKeys, _ reason: String) -> ViTConfigError { ViTConfigError(source: source, key: key.rawValue, reason: reason) }
        for (key, value) in [(CodingKeys.imgSize, imgSize), (.patchSize, patchSize), (.embedDim, embedDim), (.depth, depth),
                             (.numHeads, numHeads), (.mlpHiddenFeatures, mlpHiddenFeatures)] where value < 1 {
            throw fail(key, "must be ≥ 1, got \(value)")
        }
        guard regTokens >= 0 else { throw fail(.regTokens, "must be ≥ 0, got \(regTokens)") }
        guard imgSize % patchSize == 0 else { throw fail(.imgSize, "\(imgSize) is not a multiple of patch_size \(patchSize)") }
        guard embedDim % numHeads == 0 else { throw fail(.numHeads, "embed_dim \(embedDim) is not divisible by \(numHeads) heads") }
        guard mlpLayer != .swigluPacked || mlpHiddenFeatures % 2 == 0 else {
            throw fail(.mlpHiddenFeatures, "\(mlpHiddenFeatures) must be even for swiglu-packed (gate and value halves)")
        }
        guard normEps > 0 else { throw fail(.normEps, "must be > 0, got \(normEps)") }
        guard normalization.mean.count == 3, normalization.std.count == 3, normalization.std.allSatisfy({ $0 > 0 }) else {
            throw fail(.normalization, "needs 3 means and 3 positive stds, got \(normalization.mean) / \(normalization.std)")
        }
    }
}
