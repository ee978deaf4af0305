import ImageOps

/// HSV saturation and value of 8-bit RGB, in OpenCV's 8-bit convention (`cv2.cvtColor(…, COLOR_RGB2HSV)`,
/// used by CLAM and TRIDENT): `V = max(R, G, B)`, `S = 255·(V − min(R, G, B)) / V` rounded to nearest
/// (0 when `V = 0`), both 0…255. OpenCV computes `S` in 12-bit fixed point; the two agree to within one
/// code value.
public enum HSVPlanes {
    /// Saturation (0…255) of one pixel.
    @inline(__always)
    public static func saturation(r: UInt8, g: UInt8, b: UInt8) -> UInt8 {
        let high = Int(max(r, g, b))
        guard high > 0 else { return 0 }
        let low = Int(min(r, g, b))
        return UInt8((255 * (high - low) + high / 2) / high)
    }

    /// Value (brightness, 0…255) of one pixel.
    @inline(__always)
    public static func value(r: UInt8, g: UInt8, b: UInt8) -> UInt8 { max(r, g, b) }

    /// `saturationTable[high × 256 + (high − low)]` = ``saturation(r:g:b:)`` for a pixel with max `high` and
    /// min `low`: 64 KiB that replace a division per pixel.
    static let saturationTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256 * 256)
        for high in 1 ..< 256 {
            for spread in 0 ... high { table[high * 256 + spread] = UInt8((255 * spread + high / 2) / high) }
        }
        return table
    }()

    /// The saturation and value planes of an image, `[H, W]` each, row-major.
    public static func saturationAndValue(of image: RGBImage) -> (saturation: [UInt8], value: [UInt8]) {
        let count = image.width * image.height
        var saturation = [UInt8](repeating: 0, count: count)
        var value = [UInt8](repeating: 0, count: count)
        image.pixels.withUnsafeBufferPointer { pixels in
            saturationTable.withUnsafeBufferPointer { table in
                saturation.withUnsafeMutableBufferPointer { s in
                    value.withUnsafeMutableBufferPointer { v in
                        var pixel = pixels.baseAddress!
                        for index in 0 ..< count {
                            let r = pixel[0], g = pixel[1], b = pixel[2]
                            let high = max(r, g, b), low = min(r, g, b)
                            s[index] = table[Int(high) &* 256 &+ Int(high &- low)]
                            v[index] = high
                            pixel += 3
                        }
                    }
                }
            }
        }
        return (saturation, value)
    }
}
