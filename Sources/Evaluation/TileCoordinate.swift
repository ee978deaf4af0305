/// The level-0 pixel position (top-left corner) of a tile, as feature files store it (`coords` [N, 2]).
public struct TileCoordinate: Sendable, Hashable, Codable, Comparable {
    /// Level-0 x, pixels.
    public var x: Int64
    /// Level-0 y, pixels.
    public var y: Int64

    /// The position (x, y) in level-0 pixels.
    public init(x: Int64, y: Int64) {
        self.x = x
        self.y = y
    }

    /// Ordered by x, then y (plismbench's `sort_values(["x", "y"])`).
    public static func < (lhs: TileCoordinate, rhs: TileCoordinate) -> Bool {
        (lhs.x, lhs.y) < (rhs.x, rhs.y)
    }
}
