import Evaluation
import ImageOps

/// One tile to embed: its pixels and what identifies it in the feature file.
public struct EmbeddingTile: Sendable, Equatable {
    /// RGB8 pixels `[H, W, 3]`, any size (`TileFit` brings it to the model's).
    public var image: RGBImage
    /// The tile's name in the feature file (`tile_names`): a path relative to the input folder for image files,
    /// `SLIDE/X_Y` for shard tiles.
    public var name: String
    /// Level-0 position of the top-left corner, px (shard tiles); nil for image files.
    public var coordinate: TileCoordinate?
    /// Resolution of `image`, µm/px; nil when unknown (image files).
    public var mpp: Double?

    /// A tile with pixels, name and, when known, its level-0 position (px) and resolution (µm/px).
    public init(image: RGBImage, name: String, coordinate: TileCoordinate? = nil, mpp: Double? = nil) {
        self.image = image
        self.name = name
        self.coordinate = coordinate
        self.mpp = mpp
    }
}
