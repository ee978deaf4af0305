extension FeatureSet {
    /// Reads plismbench's `.npy` layout: float32 [N, 3 + D] whose columns 0–2 are (level, x, y) and the rest
    /// the features (PB `engine/extract/utils.py`). The slide name is taken from the parent folder
    /// (plismbench keeps one `features.npy` per slide folder).
    /// - Throws: `FeatureFileError` naming the file and what is wrong (shape, non-integral coordinate row,
    ///   non-finite value).
    public static func readPlismbenchNPY(path: String) throws(FeatureFileError) -> FeatureSet {
        let array = try NPYArray.read(path: path)
        guard array.shape.count == 2, array.shape[1] > 3 else {
            throw FeatureFileError(path: path, "shape \(array.shape); plismbench features are [N, 3 + D] "
                + "(level, x, y, features…)")
        }
        let rows = array.shape[0]
        let width = array.shape[1]
        let values = array.floatValues()
        var features = [Float]()
        features.reserveCapacity(rows * (width - 3))
        var coordinates = [TileCoordinate]()
        var levels = [Int64]()
        for row in 0 ..< rows {
            let base = row * width
            let level = values[base], x = values[base + 1], y = values[base + 2]
            guard level.rounded() == level, x.rounded() == x, y.rounded() == y else {
                throw FeatureFileError(path: path, "row \(row): level/x/y (\(level), \(x), \(y)) are not integers")
            }
            levels.append(Int64(level))
            coordinates.append(TileCoordinate(x: Int64(x), y: Int64(y)))
            features.append(contentsOf: values[base + 3 ..< base + width])
        }
        let folder = path.split(separator: "/").dropLast().last.map(String.init)
        let set = FeatureSet(features: FeatureMatrix(rows: rows, columns: width - 3, values: features),
                             coordinates: coordinates, levels: levels, metadata: FeatureMetadata(name: folder))
        try set.validateFinite(path: path)
        return set
    }

    /// Writes plismbench's `.npy` layout: float32 [N, 3 + D] with columns (level, x, y, features…); the level
    /// column is `levels` or 0. Atomic.
    /// - Throws: `FeatureFileError` when there are no coordinates, or a system call fails.
    public func writePlismbenchNPY(to path: String) throws(FeatureFileError) {
        guard let coordinates else {
            throw FeatureFileError(path: path, "the plismbench layout needs tile coordinates; this feature set has none")
        }
        let width = features.columns + 3
        var values = [Float]()
        values.reserveCapacity(features.rows * width)
        for row in 0 ..< features.rows {
            values.append(Float(levels?[row] ?? 0))
            values.append(Float(coordinates[row].x))
            values.append(Float(coordinates[row].y))
            values.append(contentsOf: features.values[row * features.columns ..< (row + 1) * features.columns])
        }
        try NPYArray(float32: values, shape: [features.rows, width]).write(to: path)
    }
}
