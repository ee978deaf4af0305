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

/// Tables that make ``RGBImage/adjustHue(_:)`` fast while giving exactly ``PILHSV``'s bytes.
///
/// RGB → HSV: PIL's hue depends only on which channel is the maximum, which of the other two is the minimum
/// (with PIL's tie order: red, then green, then blue), `cr = max − min` and `max − mid`, because every quotient is
/// `(max − x)/cr`; the saturation depends only on `cr` and `max`. Both are tabulated by running
/// ``PILHSV/hsv(_:_:_:)`` on one representative colour per entry. HSV → RGB: the output is a permutation (fixed
/// by the sector of H) of `v`, `p = round(v(1 − fs))` (tabulated by S and V) and `q = round(v(1 − fs·f))` or
/// `t = round(v(1 − fs(1 − f)))`, computed in C's float/double mix from `fs`, `f` and `1 − f` tabulated by S or H.
struct HueTables: Sendable {
    /// H indexed `case << 16 | cr << 8 | (max − mid)`; the six cases are (max, min) = (r, g), (r, b), (g, r),
    /// (g, b), (b, r), (b, g).
    let hue: [UInt8]
    /// S indexed `cr << 8 | max`.
    let saturation: [UInt8]
    /// `p` indexed `s << 8 | v`.
    let p: [UInt8]
    /// `fs = (float)(s / 255.0)` by S.
    let fs: [Float]
    /// `f = (float)(h·6/255 − i)` by H.
    let f: [Float]
    /// `1.0 − (double)f` by H.
    let oneMinusF: [Double]
    /// For each H, the bit offsets of R, G and B in the word `v | x << 8 | p << 16` (x = q or t), and 1 when the
    /// sector is odd (x = q) or 0 (x = t).
    let shifts: [SIMD4<UInt32>]

    static let shared = HueTables()

    init() {
        var hue = [UInt8](repeating: 0, count: 6 << 16)
        var saturation = [UInt8](repeating: 0, count: 1 << 16)
        for cr in 1..<256 {
            for distance in 0...cr {
                let mid = UInt8(cr - distance), top = UInt8(cr)
                let representatives: [(UInt8, UInt8, UInt8)] = [(top, 0, mid), (top, mid, 0), (0, top, mid),
                                                                (mid, top, 0), (0, mid, top), (mid, 0, top)]
                for (index, colour) in representatives.enumerated() {
                    hue[index << 16 | cr << 8 | distance] = PILHSV.hsv(colour.0, colour.1, colour.2).h
                }
            }
            for maxc in cr..<256 {
                saturation[cr << 8 | maxc] = PILHSV.hsv(UInt8(maxc), UInt8(maxc - cr), UInt8(maxc - cr)).s
            }
        }
        var p = [UInt8](repeating: 0, count: 1 << 16)
        var fs = [Float](repeating: 0, count: 256), f = [Float](repeating: 0, count: 256)
        var oneMinusF = [Double](repeating: 0, count: 256), shifts = [SIMD4<UInt32>](repeating: .zero, count: 256)
        // Where v (0), x (8) and p (16) go, per sector: (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q).
        let placements: [SIMD4<UInt32>] = [[0, 8, 16, 0], [8, 0, 16, 1], [16, 0, 8, 0], [16, 8, 0, 1], [8, 16, 0, 0], [0, 16, 8, 1]]
        for value in 0..<256 {
            let position = Double(Float(value)) * 6.0 / 255.0
            let i = Int32(position.rounded(.down))
            f[value] = Float(position - Double(Float(i)))
            oneMinusF[value] = 1.0 - Double(f[value])
            shifts[value] = placements[Int(i % 6)]
            fs[value] = Float(Double(Float(value)) / 255.0)
        }
        for s in 0..<256 {
            for v in 0..<256 { p[s << 8 | v] = PILHSV.clip8(Int32((Double(Float(v)) * (1.0 - Double(fs[s]))).rounded())) }
        }
        self.hue = hue
        self.saturation = saturation
        self.p = p
        self.fs = fs
        self.f = f
        self.oneMinusF = oneMinusF
        self.shifts = shifts
    }
}

extension RGBImage {
    /// torchvision `adjust_hue(img, factor)` on a PIL image: convert to HSV (``PILHSV``), add
    /// `uint8(int32(factor·255))` to H modulo 256 (truncation toward zero, then wrap: −0.05 → −12 → 244), convert
    /// back (distillation-spec.md §6.6). The round trip is not lossless: factor 0 still changes pixels.
    ///
    /// Computed with ``HueTables`` (grey pixels, `max = min`, come back unchanged, as through PIL). C's `round` of
    /// the non-negative `v·factor` is `trunc(x) + (x − trunc(x) ≥ 0.5)`, exactly.
    /// - Parameter factor: in `[−0.5, 0.5]`; ColorJitter draws it from `[−0.1, 0.1]` for hue 0.1.
    public mutating func adjustHue(_ factor: Float) {
        precondition(factor >= -0.5 && factor <= 0.5, "hue factor \(factor) is outside [-0.5, 0.5]")
        let shift = Int(UInt8(truncatingIfNeeded: Int32(Double(factor) * 255.0)))
        let count = width * height
        let tables = HueTables.shared
        tables.hue.withUnsafeBufferPointer { hueTable in
        tables.saturation.withUnsafeBufferPointer { saturationTable in
        tables.p.withUnsafeBufferPointer { pTable in
        tables.fs.withUnsafeBufferPointer { fsTable in
        tables.f.withUnsafeBufferPointer { fTable in
        tables.oneMinusF.withUnsafeBufferPointer { oneMinusFTable in
        tables.shifts.withUnsafeBufferPointer { shiftTable in
            pixels.withUnsafeMutableBufferPointer { buffer in
                let pixel = buffer.baseAddress!
                for index in 0..<count {
                    let r = Int(pixel[index * 3]), g = Int(pixel[index * 3 + 1]), b = Int(pixel[index * 3 + 2])
                    let maxc = max(r, max(g, b)), minc = min(r, min(g, b))
                    if maxc == minc { continue }   // h = s = 0: hsv2rgb gives (v, v, v) back
                    let cr = maxc - minc
                    let mid = r + g + b - maxc - minc
                    // PIL's case order: red is the maximum if it ties; then green.
                    let which = r == maxc ? (g == minc ? 0 : 1) : (g == maxc ? (r == minc ? 2 : 3) : (r == minc ? 4 : 5))
                    let h = (Int(hueTable[which << 16 | cr << 8 | (maxc - mid)]) + shift) & 0xFF
                    let s = Int(saturationTable[cr << 8 | maxc])
                    let placement = shiftTable[h]
                    let fsValue = fsTable[s]
                    let qFactor = 1.0 - Double(fsValue * fTable[h])
                    let tFactor = 1.0 - Double(fsValue) * oneMinusFTable[h]
                    let product = Double(maxc) * (placement[3] == 1 ? qFactor : tFactor)
                    let whole = Int(product)
                    let x = product - Double(whole) >= 0.5 ? whole + 1 : whole
                    let word = UInt32(maxc) | UInt32(min(x, 255)) << 8 | UInt32(pTable[s << 8 | maxc]) << 16
                    pixel[index * 3] = UInt8(truncatingIfNeeded: word >> placement[0])
                    pixel[index * 3 + 1] = UInt8(truncatingIfNeeded: word >> placement[1])
                    pixel[index * 3 + 2] = UInt8(truncatingIfNeeded: word >> placement[2])
                }
            }
        }}}}}}}
    }
}
