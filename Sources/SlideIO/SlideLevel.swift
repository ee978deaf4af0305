/// One level of a slide's pyramid, as OpenSlide reports it.
public struct SlideLevel: Sendable, Equatable, Codable {
    /// The level index: 0 is full resolution, higher indices are coarser.
    public let index: Int
    /// Width in this level's pixels.
    public let width: Int
    /// Height in this level's pixels.
    public let height: Int
    /// Level-0 px per level px, exactly as OpenSlide reports it (`openslide_get_level_downsample`); not
    /// necessarily an integer (e.g. 2.0005, 4.0161: field cases L1, L2). OpenSlide maps a level-0
    /// coordinate `x` to `x / downsample` on this level.
    public let downsample: Double
    /// Tile width in px (`openslide.level[i].tile-width`), if OpenSlide reports one.
    public let tileWidth: Int?
    /// Tile height in px (`openslide.level[i].tile-height`), if OpenSlide reports one.
    public let tileHeight: Int?

    /// A level with the given geometry.
    public init(index: Int, width: Int, height: Int, downsample: Double, tileWidth: Int? = nil, tileHeight: Int? = nil) {
        self.index = index
        self.width = width
        self.height = height
        self.downsample = downsample
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
    }
}
