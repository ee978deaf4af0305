#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PIL's 8-bit RGB ↔ HSV conversions (`img.convert("HSV")` and back), with C's mix of float and double
/// arithmetic reproduced operation by operation (Pillow `src/libImaging/Convert.c` `rgb2hsv_row`, `hsv2rgb`;
/// distillation-spec.md §6.6). All three HSV channels are bytes: H and S are `(int)(x·255)` of a fraction, V is
/// the maximum.
public enum PILHSV {
    /// RGB → HSV. `v = max`; for grey pixels `h = s = 0`; otherwise `s = (max − min)/max` (float) and the hue of
    /// colorsys, `h = fmod(h/6 + 1, 1)`, each scaled by 255 and truncated.
    @inline(__always)
    public static func hsv(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (h: UInt8, s: UInt8, v: UInt8) {
        let maxc = max(r, max(g, b)), minc = min(r, min(g, b))
        if maxc == minc { return (0, 0, maxc) }
        let cr = Float(maxc - minc)
        let s = cr / Float(maxc)
        let rc = Float(maxc - r) / cr
        let gc = Float(maxc - g) / cr
        let bc = Float(maxc - b) / cr
        var h: Float
        if r == maxc {
            h = bc - gc                                      // float − float
        } else if g == maxc {
            h = Float(2.0 + Double(rc) - Double(bc))         // 2.0 is a double literal in C
        } else {
            h = Float(4.0 + Double(gc) - Double(rc))
        }
        h = Float(fmod(Double(h) / 6.0 + 1.0, 1.0))
        return (clip8(Int32(Double(h) * 255.0)), clip8(Int32(Double(s) * 255.0)), maxc)
    }

    /// HSV → RGB: `i = floor(h·6/255)`, `f = h·6/255 − i`, `fs = s/255`, then `p = round(v(1 − fs))`,
    /// `q = round(v(1 − fs·f))`, `t = round(v(1 − fs(1 − f)))` (C `round`: half away from zero) and the sector's
    /// permutation of `(v, t, p)`…; `s = 0` gives `(v, v, v)`.
    @inline(__always)
    public static func rgb(_ h: UInt8, _ s: UInt8, _ v: UInt8) -> (r: UInt8, g: UInt8, b: UInt8) {
        if s == 0 { return (v, v, v) }
        let sector = Double(Float(h)) * 6.0 / 255.0
        let i = Int32(sector.rounded(.down))
        let f = Float(sector - Double(Float(i)))
        let fs = Float(Double(Float(s)) / 255.0)
        let value = Double(Float(v))
        let p = clip8(Int32((value * (1.0 - Double(fs))).rounded()))
        let q = clip8(Int32((value * (1.0 - Double(fs * f))).rounded()))
        let t = clip8(Int32((value * (1.0 - Double(fs) * (1.0 - Double(f)))).rounded()))
        switch i % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }

    /// C `CLIP8` of an int.
    @inline(__always)
    static func clip8(_ value: Int32) -> UInt8 {
        value <= 0 ? 0 : (value >= 255 ? 255 : UInt8(truncatingIfNeeded: value))
    }
}

extension RGBImage {
    /// torchvision `adjust_hue(img, factor)` on a PIL image: convert to HSV (``PILHSV``), add
    /// `uint8(int32(factor·255))` to H modulo 256 (truncation toward zero, then wrap: −0.05 → −12 → 244), convert
    /// back (distillation-spec.md §6.6). The round trip is not lossless: factor 0 still changes pixels.
    /// - Parameter factor: in `[−0.5, 0.5]`; ColorJitter draws it from `[−0.1, 0.1]` for hue 0.1.
    public mutating func adjustHue(_ factor: Float) {
        precondition(factor >= -0.5 && factor <= 0.5, "hue factor \(factor) is outside [-0.5, 0.5]")
        let shift = UInt8(truncatingIfNeeded: Int32(Double(factor) * 255.0))
        let count = width * height
        pixels.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            for index in 0..<count {
                let hsv = PILHSV.hsv(p[index * 3], p[index * 3 + 1], p[index * 3 + 2])
                let rgb = PILHSV.rgb(hsv.h &+ shift, hsv.s, hsv.v)
                p[index * 3] = rgb.r
                p[index * 3 + 1] = rgb.g
                p[index * 3 + 2] = rgb.b
            }
        }
    }
}
