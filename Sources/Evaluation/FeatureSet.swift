/// The embeddings of one slide (or one set of tiles) with what identifies each row: the contents of one
/// feature file. Shared by `distill embed` (which writes them) and `distill eval` (which reads them).
///
/// Two on-disk layouts, chosen by file extension:
/// - `.h5` / `.hdf5`: the TRIDENT/CLAM layout — `features` float32 [N, D], `coords` int64 [N, 2] (level-0
///   x, y), attributes as in `FeatureMetadata`, and optionally `tile_names` (UTF-8 strings [N], Distillery's
///   addition, so labels can be joined to tiles by name).
/// - `.npy`: plismbench's layout — float32 [N, 3 + D], columns (level, x, y) then the features.
///
/// Files are written atomically (temporary name, fsync, rename).
public struct FeatureSet: Sendable, Equatable {
    /// The embeddings, [N, D].
    public var features: FeatureMatrix<Float>
    /// Level-0 tile positions, [N]; nil when the file has none (a folder of tiles, say).
    public var coordinates: [TileCoordinate]?
    /// Tile names (file names for a folder of tiles), [N]; nil when the file has none.
    public var tileNames: [String]?
    /// plismbench's per-row level column (DeepZoom level of the tile id), [N]; only `.npy` files carry it.
    public var levels: [Int64]?
    /// How the embeddings were made.
    public var metadata: FeatureMetadata

    /// A feature set; optional per-row arrays must have one entry per row of `features`.
    /// - Precondition: `coordinates`, `tileNames` and `levels` (when given) have `features.rows` entries.
    public init(features: FeatureMatrix<Float>, coordinates: [TileCoordinate]? = nil, tileNames: [String]? = nil,
                levels: [Int64]? = nil, metadata: FeatureMetadata = FeatureMetadata()) {
        precondition(coordinates.map { $0.count == features.rows } ?? true, "FeatureSet: coordinates per row")
        precondition(tileNames.map { $0.count == features.rows } ?? true, "FeatureSet: tile names per row")
        precondition(levels.map { $0.count == features.rows } ?? true, "FeatureSet: levels per row")
        self.features = features
        self.coordinates = coordinates
        self.tileNames = tileNames
        self.levels = levels
        self.metadata = metadata
    }

    /// Number of tiles (rows).
    public var count: Int { features.rows }

    /// Reads a feature file: `.h5`/`.hdf5` (TRIDENT/CLAM layout) or `.npy` (plismbench layout).
    /// - Throws: `FeatureFileError` naming the file and the dataset, attribute or row at fault; a
    ///   non-finite feature value is an error naming its row and column.
    public static func read(path: String) throws(FeatureFileError) -> FeatureSet {
        switch FeatureFileFormat(path: path) {
        case .hdf5: return try readHDF5(path: path)
        case .npy: return try readPlismbenchNPY(path: path)
        case nil: throw FeatureFileError(path: path, "unknown feature file extension (expected .h5, .hdf5 or .npy)")
        }
    }

    /// Writes the feature file in the layout its extension names (`.h5`/`.hdf5` or `.npy`).
    /// - Throws: `FeatureFileError` (a `.npy` needs coordinates; system and libhdf5 failures).
    public func write(to path: String) throws(FeatureFileError) {
        switch FeatureFileFormat(path: path) {
        case .hdf5: try writeHDF5(to: path)
        case .npy: try writePlismbenchNPY(to: path)
        case nil: throw FeatureFileError(path: path, "unknown feature file extension (expected .h5, .hdf5 or .npy)")
        }
    }

    /// The rows at `indices`, in that order, with their coordinates, names and levels.
    /// - Precondition: every index is in `0..<count`.
    public func selectingRows(_ indices: [Int]) -> FeatureSet {
        FeatureSet(features: features.selectingRows(indices), coordinates: coordinates.map { c in indices.map { c[$0] } },
                   tileNames: tileNames.map { n in indices.map { n[$0] } }, levels: levels.map { l in indices.map { l[$0] } },
                   metadata: metadata)
    }

    /// The rows sorted by coordinate (x, then y; ties keep file order), as plismbench sorts before
    /// comparing slides. Unchanged when there are no coordinates.
    public func sortedByCoordinates() -> FeatureSet {
        guard let coordinates else { return self }
        let order = coordinates.indices.sorted { (coordinates[$0], $0) < (coordinates[$1], $1) }
        return selectingRows(order)
    }

    /// Checks that every feature value is finite.
    /// - Throws: `FeatureFileError` naming `path`, the first bad row (tile) and column.
    func validateFinite(path: String) throws(FeatureFileError) {
        let columns = features.columns
        let bad = features.withUnsafeBufferPointer { values in values.firstIndex { !$0.isFinite } }
        if let bad {
            let tile = tileNames.map { " (\($0[bad / columns]))" } ?? ""
            throw FeatureFileError(path: path, "features row \(bad / columns)\(tile), column \(bad % columns): "
                + "non-finite value \(features.values[bad])")
        }
    }
}

/// The on-disk layouts of `FeatureSet`, by file extension.
public enum FeatureFileFormat: Sendable {
    /// `.h5` / `.hdf5`: TRIDENT/CLAM.
    case hdf5
    /// `.npy`: plismbench.
    case npy

    /// The layout `path`'s extension names, or nil.
    public init?(path: String) {
        let lower = path.lowercased()
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") {
            self = .hdf5
        } else if lower.hasSuffix(".npy") {
            self = .npy
        } else {
            return nil
        }
    }
}
