/// Why a tile grid could not be laid out. Every case is a parameter problem, reported before any read;
/// a slide that is merely small gives zero tiles, not an error (field case T5).
public enum TileGridError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Tile size (px at the target resolution) must be ≥ 1.
    case invalidTileSize(Int)
    /// Overlap (px at the target resolution) must be in `0 ..< size`, so the stride `size − overlap` is ≥ 1.
    case invalidOverlap(overlap: Int, tileSize: Int)
    /// A resolution (µm/px) that is not finite and > 0; `name` says which.
    case invalidMPP(name: String, value: Double)
    /// Slide size (level-0 px) must be ≥ 0.
    case invalidSlideSize(width: Int, height: Int)
    /// The region (bounds) must lie inside the slide and have sizes ≥ 0 (level-0 px).
    case regionOutsideSlide(x: Int, y: Int, width: Int, height: Int, slideWidth: Int, slideHeight: Int)
    /// The grid would hold more tiles than `limit` (e.g. a target mpp far below the slide's).
    case tooManyTiles(columns: Double, rows: Double, limit: Int)
    /// The minimum tissue fraction must be in 0…1.
    case invalidMinimumTissue(Double)

    /// One line naming the parameter and its value.
    public var description: String {
        switch self {
        case .invalidTileSize(let size): "tile size must be ≥ 1 px, got \(size)"
        case .invalidOverlap(let overlap, let size):
            "overlap must be in 0..<\(size) px (the stride is size − overlap), got \(overlap)"
        case .invalidMPP(let name, let value): "\(name) must be a finite resolution > 0 µm/px, got \(value)"
        case .invalidSlideSize(let width, let height): "slide size must be ≥ 0 px, got \(width)×\(height)"
        case .regionOutsideSlide(let x, let y, let width, let height, let slideWidth, let slideHeight):
            "region x=\(x) y=\(y) \(width)×\(height) is not inside the \(slideWidth)×\(slideHeight) px slide"
        case .tooManyTiles(let columns, let rows, let limit):
            "the grid would have \(columns) × \(rows) tiles, more than the limit of \(limit)"
        case .invalidMinimumTissue(let value): "minimum tissue fraction must be in 0…1, got \(value)"
        }
    }
}
