/// PIL's `Image.blend(degenerate, image, alpha)` for 8-bit images, the arithmetic behind `ImageEnhance`
/// (brightness, contrast, colour) and so behind torchvision's `adjust_brightness` / `adjust_contrast` /
/// `adjust_saturation` on PIL images (Pillow `src/libImaging/Blend.c` `ImagingBlend`; distillation-spec.md §6.6).
///
/// `alpha` is a C `float`. For `0 ≤ alpha ≤ 1`: `out = (UINT8)(d + alpha·(v − d))`, evaluated in float and
/// truncated toward zero (no rounding). Otherwise the same float is clamped: `≤ 0 → 0`, `≥ 255 → 255`, else
/// truncated.
public enum PILBlend {
    /// One byte: `d` from the degenerate image, `v` from the image.
    @inline(__always)
    public static func blend(_ d: UInt8, _ v: UInt8, alpha: Float) -> UInt8 {
        let mixed = Float(Int32(d)) + alpha * Float(Int32(v) - Int32(d))
        if alpha >= 0 && alpha <= 1 {
            return UInt8(truncatingIfNeeded: Int32(mixed))
        }
        if mixed <= 0 { return 0 }
        if mixed >= 255 { return 255 }
        return UInt8(truncatingIfNeeded: Int32(mixed))
    }

    /// `blend` for `0 ≤ alpha ≤ 1` (no clamping needed: the result lies between `d` and `v`).
    @inline(__always)
    static func interpolate(_ d: UInt8, _ v: UInt8, alpha: Float) -> UInt8 {
        truncatedByte(Float(Int32(d)) + alpha * Float(Int32(v) - Int32(d)))
    }

    /// `blend` for `alpha` outside `[0, 1]`.
    @inline(__always)
    static func extrapolate(_ d: UInt8, _ v: UInt8, alpha: Float) -> UInt8 {
        truncatedByte(min(max(Float(Int32(d)) + alpha * Float(Int32(v) - Int32(d)), 0), 255))
    }

    /// `(UINT8)x` for `0 ≤ x < 256`: truncation toward zero, read from the bits of `trunc(x) + 2²³` (an exact
    /// float whose low mantissa bits are the integer), which vectorises where a checked conversion does not.
    @inline(__always)
    static func truncatedByte(_ x: Float) -> UInt8 {
        UInt8(truncatingIfNeeded: (x.rounded(.towardZero) + 0x1p23).bitPattern)
    }

    /// The 256-entry table `v → blend(d, v, alpha)` for a constant degenerate value `d`.
    public static func table(degenerate d: UInt8, alpha: Float) -> [UInt8] {
        (0...255).map { blend(d, UInt8($0), alpha: alpha) }
    }
}
