extension TileGrid {
    /// One tile of a grid: where to read it in level 0 and how much tissue it holds.
    ///
    /// The reader reads the level-0 square (`x`, `y`, `readExtent` × `readExtent`) — from whichever level suits —
    /// and resamples it to `TileGrid.tileSize` px, so every tile comes back exactly `tileSize × tileSize` px at
    /// the target mpp (field case L6), whatever the overlap.
    public struct Tile: Sendable, Equatable, Hashable, Codable {
        /// Column index in the grid (0-based, left to right).
        public let column: Int
        /// Row index in the grid (0-based, top to bottom).
        public let row: Int
        /// Level-0 x (px) of the tile's left edge, absolute: it includes the region (bounds) offset (L5, L7).
        public let x: Int
        /// Level-0 y (px) of the tile's top edge, absolute.
        public let y: Int
        /// Exact level-0 side of the tile, `tileSize × targetMPP / slideMPP` (`TileGrid.extent`).
        public let extent: Double
        /// Side of the square to read, in level-0 px: `extent` rounded to nearest, at least 1 (`TileGrid.readExtent`).
        public let readExtent: Int
        /// Fraction 0…1 of the read square that lies outside the region and is filled with the background
        /// colour; > 0 only for edge tiles under `EdgePolicy.pad`.
        public let padFraction: Double
        /// Fraction 0…1 of the read square covered by tissue in the mask, exact area-weighted (`TissueCoverage`).
        public let tissueFraction: Double
        /// Whether the tile passes the minimum tissue fraction it was laid out with.
        public let kept: Bool

        /// A tile.
        public init(column: Int, row: Int, x: Int, y: Int, extent: Double, readExtent: Int, padFraction: Double,
                    tissueFraction: Double, kept: Bool) {
            self.column = column
            self.row = row
            self.x = x
            self.y = y
            self.extent = extent
            self.readExtent = readExtent
            self.padFraction = padFraction
            self.tissueFraction = tissueFraction
            self.kept = kept
        }
    }
}
