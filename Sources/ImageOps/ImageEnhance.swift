/// torchvision's PIL colour adjustments built on `ImageEnhance` (distillation-spec.md §6.6; Pillow
/// `src/PIL/ImageEnhance.py`, torchvision `transforms/_functional_pil.py`). Each is a ``PILBlend`` of the image
/// with a degenerate image; `factor` is PIL's float `alpha` (1 = unchanged).
extension RGBImage {
    /// `adjust_brightness(img, factor)` = `ImageEnhance.Brightness(img).enhance(factor)`: blend with black.
    /// - Parameter factor: ≥ 0; ColorJitter draws it from `[0.6, 1.4]` for brightness 0.4.
    public mutating func adjustBrightness(_ factor: Float) {
        applyTable(PILBlend.table(degenerate: 0, alpha: factor))
    }

    /// `adjust_contrast(img, factor)` = `ImageEnhance.Contrast(img).enhance(factor)`: blend with a grey image
    /// of `int(mean(L) + 0.5)`, the rounded mean luma (``PILLuma``) over all pixels.
    /// - Parameter factor: ≥ 0; ColorJitter draws it from `[0.6, 1.4]` for contrast 0.4.
    public mutating func adjustContrast(_ factor: Float) {
        applyTable(PILBlend.table(degenerate: meanLuma(), alpha: factor))
    }

    /// `adjust_saturation(img, factor)` = `ImageEnhance.Color(img).enhance(factor)`: blend each pixel with its
    /// own luma (`img.convert("L").convert("RGB")`).
    /// - Parameter factor: ≥ 0; ColorJitter draws it from `[0.8, 1.2]` for saturation 0.2.
    public mutating func adjustSaturation(_ factor: Float) {
        let count = width * height
        let interpolating = factor >= 0 && factor <= 1
        pixels.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            if interpolating {
                for index in 0..<count {
                    let r = p[index * 3], g = p[index * 3 + 1], b = p[index * 3 + 2]
                    let l = PILLuma.luma(r, g, b)
                    p[index * 3] = PILBlend.interpolate(l, r, alpha: factor)
                    p[index * 3 + 1] = PILBlend.interpolate(l, g, alpha: factor)
                    p[index * 3 + 2] = PILBlend.interpolate(l, b, alpha: factor)
                }
            } else {
                for index in 0..<count {
                    let r = p[index * 3], g = p[index * 3 + 1], b = p[index * 3 + 2]
                    let l = PILLuma.luma(r, g, b)
                    p[index * 3] = PILBlend.extrapolate(l, r, alpha: factor)
                    p[index * 3 + 1] = PILBlend.extrapolate(l, g, alpha: factor)
                    p[index * 3 + 2] = PILBlend.extrapolate(l, b, alpha: factor)
                }
            }
        }
    }

    /// PIL's contrast reference: `int(ImageStat.Stat(img.convert("L")).mean[0] + 0.5)` (the sum is exact, the
    /// division and the half are in double precision, as in Python).
    func meanLuma() -> UInt8 {
        let count = width * height
        guard count > 0 else { return 0 }
        var sum = 0
        pixels.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!
            for index in 0..<count { sum &+= Int(PILLuma.luma(p[index * 3], p[index * 3 + 1], p[index * 3 + 2])) }
        }
        return UInt8(Int(Double(sum) / Double(count) + 0.5))
    }

    /// Replaces every byte `v` with `table[v]` (all channels).
    /// - Precondition: `table` has 256 entries.
    public mutating func applyTable(_ table: [UInt8]) {
        precondition(table.count == 256, "a byte table needs 256 entries, got \(table.count)")
        table.withUnsafeBufferPointer { lookup in
            pixels.withUnsafeMutableBufferPointer { buffer in
                let p = buffer.baseAddress!, t = lookup.baseAddress!
                for index in 0..<buffer.count { p[index] = t[Int(p[index])] }
            }
        }
    }
}
