/// PIL's RGB → `L` conversion: ITU-R 601-2 luma in 16-bit fixed point with rounding,
/// `L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16` (Pillow `src/libImaging/Convert.c`, `L24`;
/// distillation-spec.md §6.7). Used by grayscale, saturation (the degenerate image) and contrast (the mean).
public enum PILLuma {
    /// The luma of one pixel, 0…255.
    @inline(__always)
    public static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: (UInt32(r) &* 19595 &+ UInt32(g) &* 38470 &+ UInt32(b) &* 7471 &+ 0x8000) >> 16)
    }
}

extension RGBImage {
    /// Grayscale with three equal channels: torchvision `F.rgb_to_grayscale(img, num_output_channels=3)` on a
    /// PIL image (`img.convert("L")`, replicated), as `RandomGrayscale` does (distillation-spec.md §6.7).
    public mutating func convertToGrayscale() {
        let count = width * height
        pixels.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            for index in 0..<count {
                let l = PILLuma.luma(p[index * 3], p[index * 3 + 1], p[index * 3 + 2])
                p[index * 3] = l
                p[index * 3 + 1] = l
                p[index * 3 + 2] = l
            }
        }
    }
}
