/// A slide's background colour (`openslide.background-color`, `RRGGBB` hex; white when absent):
/// transparent pixels are composited onto it.
public struct BackgroundColor: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Red, 0–255.
    public let r: UInt8
    /// Green, 0–255.
    public let g: UInt8
    /// Blue, 0–255.
    public let b: UInt8

    /// A colour from its components.
    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// White, OpenSlide's default background.
    public static let white = BackgroundColor(r: 255, g: 255, b: 255)

    /// Parses `RRGGBB` (OpenSlide's spelling), with an optional leading `#`; nil if malformed.
    public init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("#") { text = text.dropFirst() }
        guard text.count == 6, text.allSatisfy(\.isHexDigit), let value = UInt32(text, radix: 16) else { return nil }
        self.init(r: UInt8(value >> 16), g: UInt8((value >> 8) & 0xFF), b: UInt8(value & 0xFF))
    }

    /// `#RRGGBB`, upper-case hex.
    public var description: String {
        let digits = Array("0123456789ABCDEF")
        var text = "#"
        for component in [r, g, b] {
            text.append(digits[Int(component >> 4)])
            text.append(digits[Int(component & 0xF)])
        }
        return text
    }
}
