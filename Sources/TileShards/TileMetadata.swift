/// What a shard records about each tile (docs/formats/tile-shards.md §2.4).
public struct TileMetadata: Sendable, Hashable {
    /// The source slide's id: any UTF-8 string of at most 65,535 bytes, kept exactly (periods, spaces,
    /// non-ASCII — e.g. `TCGA-A7-A0CD-01Z-00-DX2.609CED8D-5947-4753-A75B-73A8343B47EC`, field case S4).
    public var slideID: String
    /// Level-0 x of the tile's top-left corner, in level-0 px of the slide.
    public var x: Int64
    /// Level-0 y of the tile's top-left corner, in level-0 px of the slide.
    public var y: Int64
    /// Resolution of the tile's pixels in µm/px (> 0).
    public var mpp: Double
    /// Fraction of the tile's area that is tissue, 0…1.
    public var tissueFraction: Float

    /// Metadata of a tile at level-0 (`x`, `y`) px of `slideID`, `mpp` µm/px, `tissueFraction` 0…1.
    public init(slideID: String, x: Int64, y: Int64, mpp: Double, tissueFraction: Float) {
        self.slideID = slideID
        self.x = x
        self.y = y
        self.mpp = mpp
        self.tissueFraction = tissueFraction
    }

    /// Nil if the values can be written, else the reason they cannot.
    func problem() -> String? {
        if slideID.utf8.count > ShardFormat.maxSlideIDBytes {
            return "slide id is \(slideID.utf8.count) bytes long (at most \(ShardFormat.maxSlideIDBytes))"
        }
        if !(mpp.isFinite && mpp > 0) { return "mpp \(mpp) µm/px is not a positive finite number" }
        if !(tissueFraction >= 0 && tissueFraction <= 1) { return "tissue fraction \(tissueFraction) is not in 0…1" }
        return nil
    }
}
