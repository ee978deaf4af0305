import Compute

extension ViT {
    /// The forward pass on images that are already normalised (planar float32, `ToTensor` + `Normalize`, e.g. the
    /// crops of DINOv2's multi-crop), split into the `x_norm` CLS token and patch tokens, registers dropped —
    /// timm's `forward_features` followed by `[:, 0]` and `[:, 1 + R:]` (distillation-spec.md §2.3).
    /// - Parameters:
    ///   - images: `[B, 3, H, W]` flat, with B, H, W those of `activations`.
    ///   - activations: buffers for that size, from `makeActivations`.
    /// - Returns: `cls` `[B, D]` and `patches` `[B, N, D]`, N = (H / patch)·(W / patch), host arrays.
    /// - Throws: as `forward`.
    public func classAndPatchTokens(images: UnsafeBufferPointer<Float>,
                                    activations: ViTActivations) throws(ViTError) -> (cls: [Float], patches: [Float]) {
        backend.upload(images, to: activations.images)
        let tokens = backend.download(try forward(activations))
        let b = activations.batch, length = activations.length, d = config.embedDim
        let prefix = config.prefixTokens, patches = length - prefix
        var cls = [Float](repeating: 0, count: b * d)
        var patchTokens = [Float](repeating: 0, count: b * patches * d)
        tokens.withUnsafeBufferPointer { source in
            cls.withUnsafeMutableBufferPointer { cls in
                patchTokens.withUnsafeMutableBufferPointer { patchTokens in
                    for image in 0..<b {
                        let start = image * length * d
                        cls.baseAddress!.advanced(by: image * d)
                            .update(from: source.baseAddress!.advanced(by: start), count: d)
                        patchTokens.baseAddress!.advanced(by: image * patches * d)
                            .update(from: source.baseAddress!.advanced(by: start + prefix * d), count: patches * d)
                    }
                }
            }
        }
        return (cls, patchTokens)
    }
}
