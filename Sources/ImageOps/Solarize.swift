extension RGBImage {
    /// `ImageOps.solarize(img, threshold)` (torchvision `F.solarize` on a PIL image, `RandomSolarize`): every
    /// channel value `v ≥ threshold` becomes `255 − v` (distillation-spec.md §6.9; DINOv2 uses 128).
    /// - Parameter threshold: 0…256; 256 leaves the image unchanged.
    public mutating func solarize(threshold: Int = 128) {
        applyTable((0...255).map { $0 < threshold ? UInt8($0) : UInt8(255 - $0) })
    }
}
