/// The layout of a ViT's parameters: timm names, in timm's `state_dict` order, with shapes and offsets into
/// one flat buffer (llm.c style: one allocation, so optimisers and EMA run one loop over all parameters).
///
/// Names and shapes are distillation-spec.md §2.5 (timm layout, `no_embed_class=True`, no head):
/// `cls_token [1,1,D]`, `reg_token [1,R,D]` (absent when R = 0), `pos_embed [1,N0,D]`,
/// `patch_embed.proj.weight [D,3,p,p]`, `.bias [D]`, per block `norm1.{weight,bias}`,
/// `attn.qkv.weight [3D,D]` (`.bias [3D]` with `qkv_bias`), `attn.proj.{weight [D,D], bias}`, `ls1.gamma [D]`
/// (with LayerScale), `norm2.*`, `mlp.fc1.weight [H,D]`, `.bias [H]`, `mlp.fc2.weight [D,H']`, `.bias`,
/// `ls2.gamma`; then `norm.{weight,bias}`.
extension ParameterLayout {
    /// The layout of `config`'s model.
    public init(config: ViTConfig) {
        let d = config.embedDim
        var list: [(String, [Int])] = [("cls_token", [1, 1, d])]
        if config.regTokens > 0 { list.append(("reg_token", [1, config.regTokens, d])) }
        list.append(("pos_embed", [1, config.gridSize * config.gridSize, d]))
        list.append(("patch_embed.proj.weight", [d, 3, config.patchSize, config.patchSize]))
        list.append(("patch_embed.proj.bias", [d]))
        for block in 0..<config.depth {
            let prefix = "blocks.\(block)."
            list.append((prefix + "norm1.weight", [d]))
            list.append((prefix + "norm1.bias", [d]))
            list.append((prefix + "attn.qkv.weight", [3 * d, d]))
            if config.qkvBias { list.append((prefix + "attn.qkv.bias", [3 * d])) }
            list.append((prefix + "attn.proj.weight", [d, d]))
            list.append((prefix + "attn.proj.bias", [d]))
            if config.layerScale { list.append((prefix + "ls1.gamma", [d])) }
            list.append((prefix + "norm2.weight", [d]))
            list.append((prefix + "norm2.bias", [d]))
            list.append((prefix + "mlp.fc1.weight", [config.mlpHiddenFeatures, d]))
            list.append((prefix + "mlp.fc1.bias", [config.mlpHiddenFeatures]))
            list.append((prefix + "mlp.fc2.weight", [d, config.mlpOutputInFeatures]))
            list.append((prefix + "mlp.fc2.bias", [d]))
            if config.layerScale { list.append((prefix + "ls2.gamma", [d])) }
        }
        list.append(("norm.weight", [d]))
        list.append(("norm.bias", [d]))
        self.init(list.map { (name: $0.0, shape: $0.1) })
    }
}
