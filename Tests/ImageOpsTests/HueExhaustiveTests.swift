import Testing

@testable import ImageOps

@Suite("Hue: the table-driven path equals the plain transcription of Pillow for every RGB value")
struct HueExhaustiveTests {
    /// All 2²⁴ colours, one pixel each.
    static let allColours: RGBImage = {
        var pixels = [UInt8](repeating: 0, count: 3 << 24)
        for value in 0..<(1 << 24) {
            pixels[value * 3] = UInt8(value >> 16)
            pixels[value * 3 + 1] = UInt8((value >> 8) & 0xFF)
            pixels[value * 3 + 2] = UInt8(value & 0xFF)
        }
        return RGBImage(width: 4096, height: 4096, pixels: pixels)
    }()

    @Test("adjustHue = PILHSV.hsv → H + shift → PILHSV.rgb for all 16.7M colours",
          arguments: [Float(0), -0.1, 0.0371, 0.5])
    func everyColour(_ factor: Float) {
        var fast = Self.allColours
        fast.adjustHue(factor)
        let shift = UInt8(truncatingIfNeeded: Int32(Double(factor) * 255.0))
        var mismatches = 0
        var first: String?
        Self.allColours.pixels.withUnsafeBufferPointer { source in
            fast.pixels.withUnsafeBufferPointer { result in
                for index in 0..<(1 << 24) {
                    let hsv = PILHSV.hsv(source[index * 3], source[index * 3 + 1], source[index * 3 + 2])
                    let rgb = PILHSV.rgb(hsv.h &+ shift, hsv.s, hsv.v)
                    if rgb.r != result[index * 3] || rgb.g != result[index * 3 + 1] || rgb.b != result[index * 3 + 2] {
                        mismatches += 1
                        if first == nil {
                            first = "(\(source[index * 3]), \(source[index * 3 + 1]), \(source[index * 3 + 2])) → \(rgb) vs (\(result[index * 3]), \(result[index * 3 + 1]), \(result[index * 3 + 2]))"
                        }
                    }
                }
            }
        }
        #expect(mismatches == 0, "factor \(factor): \(mismatches) colours differ, first \(first ?? "")")
    }
}
