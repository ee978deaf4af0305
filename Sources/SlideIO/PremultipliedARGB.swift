/// Compositing OpenSlide's pixels onto a background.
///
/// `openslide_read_region` returns premultiplied ARGB, one native-endian `UInt32` `0xAARRGGBB` per pixel:
/// each colour channel `c` is already `colour × a / 255`. Compositing over an opaque background `bg` is
/// therefore `c + bg × (255 − a) / 255` per channel (Porter–Duff "over" with a premultiplied source), with
/// the division rounded to nearest: `c + (bg × (255 − a) + 127) / 255`. Never divide by `a` first: that
/// "un-premultiplies" and loses the transparent pixels' meaning (they would come out black).
enum PremultipliedARGB {
    /// Composites `count` premultiplied ARGB pixels from `source` onto `background`, writing `count × 3`
    /// RGB bytes to `destination`.
    static func composite(_ source: UnsafePointer<UInt32>, count: Int, onto background: BackgroundColor,
                          into destination: UnsafeMutablePointer<UInt8>) {
        let bgR = UInt32(background.r), bgG = UInt32(background.g), bgB = UInt32(background.b)
        var out = destination
        for index in 0..<count {
            let pixel = source[index]
            let a = pixel >> 24
            let r = (pixel >> 16) & 0xFF, g = (pixel >> 8) & 0xFF, b = pixel & 0xFF
            if a == 255 {
                out[0] = UInt8(truncatingIfNeeded: r)
                out[1] = UInt8(truncatingIfNeeded: g)
                out[2] = UInt8(truncatingIfNeeded: b)
            } else {
                let rest = 255 - a
                out[0] = UInt8(min(255, r + (bgR * rest + 127) / 255))
                out[1] = UInt8(min(255, g + (bgG * rest + 127) / 255))
                out[2] = UInt8(min(255, b + (bgB * rest + 127) / 255))
            }
            out += 3
        }
    }
}
