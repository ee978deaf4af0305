/// An 8-bit RGB image in row-major, interleaved order (`[H, W, 3]`, R G B per pixel, no padding), the
/// pixel type of tiles, thumbnails and crops throughout Distillery.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width × height × 3` bytes, row after row.
    public var pixels: [UInt8]

    /// An image with the given pixels.
    /// - Precondition: `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                     "an RGB image of \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != (0, 0, 0) {
            for index in stride(from: 0, to: pixels.count, by: 3) {
                pixels[index] = fill.r
                pixels[index + 1] = fill.g
                pixels[index + 2] = fill.b
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Byte offset of pixel (x, y)'s red component.
    @inline(__always)
    public func offset(x: Int, y: Int) -> Int { (y * width + x) * 3 }

    /// The pixel at (x, y).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let index = offset(x: x, y: y)
        return (pixels[index], pixels[index + 1], pixels[index + 2])
    }
}
