/// What a feature file records about how its embeddings were made. Every field is optional: files from
/// other tools (TRIDENT, CLAM, plismbench) carry some, none or all of them.
///
/// HDF5 attribute names follow TRIDENT (`trident/IO.py`, `WSI.extract_patch_features`): on `features`,
/// `name` and `encoder`; on `coords`, `patch_size`, `patch_size_level0`, `level0_magnification`,
/// `target_magnification`, plus Distillery's `mpp`, and `pooling` on `features`. A file without `coords`
/// (tiles from an image folder) carries `patch_size` and `mpp` on `features` instead.
public struct FeatureMetadata: Sendable, Equatable, Codable {
    /// The slide (or tile set) name (`features.attrs["name"]`).
    public var name: String?
    /// The model that made the embeddings (`features.attrs["encoder"]`), e.g. "h0-mini".
    public var model: String?
    /// Tile side in pixels at the embedding resolution (`coords.attrs["patch_size"]`).
    public var tileSize: Int?
    /// Tile side in level-0 pixels (`coords.attrs["patch_size_level0"]`).
    public var tileSizeLevel0: Int?
    /// Resolution of the embedded tiles, µm per pixel (`coords.attrs["mpp"]`).
    public var mpp: Double?
    /// Objective magnification of level 0 (`coords.attrs["level0_magnification"]`).
    public var level0Magnification: Double?
    /// Magnification the tiles were read at (`coords.attrs["target_magnification"]`).
    public var targetMagnification: Double?
    /// How tokens were pooled into one embedding (`features.attrs["pooling"]`, Distillery's): "cls" or "cls+mean".
    public var pooling: String?

    /// Metadata with the given fields (all optional).
    public init(name: String? = nil, model: String? = nil, tileSize: Int? = nil, tileSizeLevel0: Int? = nil,
                mpp: Double? = nil, level0Magnification: Double? = nil, targetMagnification: Double? = nil,
                pooling: String? = nil) {
        self.name = name
        self.model = model
        self.tileSize = tileSize
        self.tileSizeLevel0 = tileSizeLevel0
        self.mpp = mpp
        self.level0Magnification = level0Magnification
        self.targetMagnification = targetMagnification
        self.pooling = pooling
    }
}
