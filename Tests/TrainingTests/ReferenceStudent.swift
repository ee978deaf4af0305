import Compute
import Models
import Training

/// The whole student in Double, from the per-layer references: the ViT forward of distillation-spec.md §2.2 on a
/// flat parameter vector in `ParameterLayout` order, and the DINOv2 head of §3.1 on a flat vector in
/// `HeadConfig.layout` order. `Mistake` plants the errors the checks must catch.
enum ReferenceStudent {
    /// A deliberate error in the reference, to show that the gradient checks fail on it.
    enum Mistake: Sendable {
        case none
        /// q and k read from each other's third of the packed `qkv` rows.
        case swappedQK
        /// SwiGLU gated by the second half instead of the first.
        case swiGLUGateLast
    }

    /// `x_norm` `[B, L, D]` of images `[B, 3, H, W]`.
    static func vit(_ flat: [Double], config: ViTConfig, images: [Double], batch: Int, height: Int, width: Int,
                    mistake: Mistake = .none) -> [Double] {
        let layout = ParameterLayout(config: config)
        func p(_ name: String) -> [Double] {
            let parameter = layout.parameter(name)!
            return Array(flat[parameter.offset..<(parameter.offset + parameter.count)])
        }
        func optional(_ name: String) -> [Double]? { layout.parameter(name) == nil ? nil : p(name) }
        let d = config.embedDim, patch = config.patchSize, grid = config.gridSize
        let gridRows = height / patch, gridColumns = width / patch, patches = gridRows * gridColumns
        let length = config.prefixTokens + patches, rows = batch * length, eps = Double(config.normEps)
        let tokens = Reference.patchEmbed(images, p("patch_embed.proj.weight"), p("patch_embed.proj.bias"), batch: batch, channels: 3,
                                          height: height, width: width, patch: patch, dim: d)
        var positions = p("pos_embed")
        if gridRows != grid || gridColumns != grid {
            let mode = config.posEmbedInterpolation
            positions = Reference.resizeGrid(positions, inputHeight: grid, inputWidth: grid, outputHeight: gridRows, outputWidth: gridColumns,
                                             dim: d, rows: mode.resize(stored: grid, target: gridRows),
                                             columns: mode.resize(stored: grid, target: gridColumns))
        }
        var x = Reference.assembleTokens(tokens, cls: p("cls_token"), registers: optional("reg_token") ?? [], positions: positions,
                                         batch: batch, patches: patches, registerCount: config.regTokens, dim: d)
        for block in 0..<config.depth {
            let prefix = "blocks.\(block)."
            let n1 = Reference.layerNorm(x, p(prefix + "norm1.weight"), p(prefix + "norm1.bias"), rows: rows, dim: d, eps: eps)
            var qkv = Reference.linear(n1, p(prefix + "attn.qkv.weight"), optional(prefix + "attn.qkv.bias"), rows: rows,
                                       inFeatures: d, outFeatures: 3 * d)
            if case .swappedQK = mistake {
                for r in 0..<rows {
                    for c in 0..<d { qkv.swapAt(r * 3 * d + c, r * 3 * d + d + c) }
                }
            }
            let attended = Reference.attention(qkv, batch: batch, tokens: length, heads: config.numHeads, headDim: config.headDim)
            let projected = Reference.linear(attended, p(prefix + "attn.proj.weight"), p(prefix + "attn.proj.bias"), rows: rows,
                                             inFeatures: d, outFeatures: d)
            x = Reference.layerScaleResidual(x, projected, optional(prefix + "ls1.gamma"), rows: rows, dim: d)
            let n2 = Reference.layerNorm(x, p(prefix + "norm2.weight"), p(prefix + "norm2.bias"), rows: rows, dim: d, eps: eps)
            var hidden = Reference.linear(n2, p(prefix + "mlp.fc1.weight"), p(prefix + "mlp.fc1.bias"), rows: rows, inFeatures: d,
                                          outFeatures: config.mlpHiddenFeatures)
            switch config.mlpLayer {
            case .swigluPacked:
                let half = config.mlpHiddenFeatures / 2
                if case .swiGLUGateLast = mistake {
                    for r in 0..<rows {
                        for c in 0..<half { hidden.swapAt(r * 2 * half + c, r * 2 * half + half + c) }
                    }
                }
                hidden = Reference.swiGLU(hidden, rows: rows, hidden: half)
            case .gelu:
                hidden = Reference.gelu(hidden)
            }
            let out = Reference.linear(hidden, p(prefix + "mlp.fc2.weight"), p(prefix + "mlp.fc2.bias"), rows: rows,
                                       inFeatures: config.mlpOutputInFeatures, outFeatures: d)
            x = Reference.layerScaleResidual(x, out, optional(prefix + "ls2.gamma"), rows: rows, dim: d)
        }
        return Reference.layerNorm(x, p("norm.weight"), p("norm.bias"), rows: rows, dim: d, eps: eps)
    }

    /// Logits `[rows, K]` of `input` `[rows, in]`.
    static func head(_ flat: [Double], config: HeadConfig, input: [Double], rows: Int) -> [Double] {
        let layout = config.layout
        func p(_ name: String) -> [Double] {
            let parameter = layout.parameter(name)!
            return Array(flat[parameter.offset..<(parameter.offset + parameter.count)])
        }
        var x = input
        for i in 0..<config.layers {
            let (inFeatures, outFeatures) = config.mlpLayer(i)
            x = Reference.linear(x, p("mlp.\(2 * i).weight"), p("mlp.\(2 * i).bias"), rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            if i < config.layers - 1 { x = Reference.gelu(x) }
        }
        let n = config.bottleneckFeatures
        let normalized = Reference.l2Normalize(x, rows: rows, dim: n, eps: 1e-12)
        let weight = Reference.weightNorm(p("last_layer.weight_v"), p("last_layer.weight_g"), rows: config.prototypes, columns: n)
        return Reference.linear(normalized, weight, nil, rows: rows, inFeatures: n, outFeatures: config.prototypes)
    }
}
