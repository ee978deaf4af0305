extension TileGrid {
    /// What to do where the last tile of a row or column would cross the region's right or bottom edge.
    public enum EdgePolicy: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
        /// Leave out partial tiles (the default; CLAM/TRIDENT behaviour). A region smaller than one tile gives
        /// zero tiles (field case T5).
        case drop
        /// Keep the partial tile; the reader fills the part outside the region with the slide's background
        /// colour and `Tile.padFraction` says how much that is (field case L6). A non-empty region smaller than
        /// one tile gives exactly one padded tile.
        case pad
        /// Move the last tile inward so it ends on the edge (it overlaps its neighbour more than `overlap`).
        /// A region smaller than one tile gives zero tiles.
        case shift
    }
}
