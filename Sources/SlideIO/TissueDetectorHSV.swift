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

    /// The saturation and value planes of an image, `[H, W]` each, row-major.
    public static func saturationAndValue(of image: RGBImage) -> (saturation: [UInt8], value: [UInt8]) {
        let count = image.width * image.height
        var saturation = [UInt8](repeating: 0, count: count)
        var value = [UInt8](repeating: 0, count: count)
        image.pixels.withUnsafeBufferPointer { pixels in
            saturation.withUnsafeMutableBufferPointer { s in
                value.withUnsafeMutableBufferPointer { v in
                    for index in 0 ..< count {
                        let r = pixels[index * 3], g = pixels[index * 3 + 1], b = pixels[index * 3 + 2]
                        s[index] = Self.saturation(r: r, g: g, b: b)
                        v[index] = Self.value(r: r, g: g, b: b)
                    }
                }
            }
        }
        return (saturation, value)
    }
}
