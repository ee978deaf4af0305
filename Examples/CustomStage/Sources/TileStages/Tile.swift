import Distillery

/// One RGB8 tile cut from a slide: `height` rows of `width` pixels, each 3 bytes (R, G, B), row-major.
///
/// ``ByteSized``, so edges carrying tiles can be bounded in bytes (`capacity: 4 MiB`) and the monitor
/// shows the bytes in flight. The pixel array is copy-on-write: passing a tile along an edge does not
/// copy its pixels.
public struct Tile: ByteSized {
    /// Position of the tile in the source's output, 0-based.
    public let index: Int
    /// The slide it came from.
    public let slide: String
    /// Level-0 coordinates of the top-left corner, pixels.
    public let x: Int
    public let y: Int
    public let width: Int
    public let height: Int
    /// `[height, width, 3]` RGB bytes.
    public let pixels: [UInt8]

    public init(index: Int, slide: String, x: Int, y: Int, width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "a \(width)×\(height) RGB tile has \(width * height * 3) bytes, got \(pixels.count)")
        self.index = index
        self.slide = slide
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel bytes.
    public var byteCount: Int { pixels.count }
}
