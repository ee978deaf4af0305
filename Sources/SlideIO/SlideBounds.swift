/// The rectangle of a slide that holds image data, in level-0 px (`openslide.bounds-x/-y/-width/-height`;
/// the whole level 0 when the slide gives none). Outside it, pixels are transparent and read back as the
/// background colour (field case L5). Coordinates stay absolute level-0: bounds never shift them.
public struct SlideBounds: Sendable, Equatable, Codable {
    /// Left edge in level-0 px.
    public let x: Int
    /// Top edge in level-0 px.
    public let y: Int
    /// Width in level-0 px.
    public let width: Int
    /// Height in level-0 px.
    public let height: Int

    /// A rectangle in level-0 px.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}
