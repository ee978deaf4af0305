/// One tile read from a shard: its pixels and its metadata.
public struct Tile: Sendable, Equatable {
    /// RGB8 pixels, interleaved row-major: `geometry.rawBytes` bytes (numpy shape `(height, width, 3)`).
    public var pixels: [UInt8]
    /// Slide id, level-0 position, mpp, tissue fraction.
    public var metadata: TileMetadata

    /// A tile of `pixels` (RGB8, interleaved row-major) and `metadata`.
    public init(pixels: [UInt8], metadata: TileMetadata) {
        self.pixels = pixels
        self.metadata = metadata
    }
}
