/// A subset of tile rows (indices into the coordinate-sorted rows of every slide), such as plismbench's
/// `assets/tiles_subset_{n}.npy` (int64, unsorted, unique; PB `utils/evaluate.py::get_tiles_subset_idx`).
/// Both slides of a pair use the same subset, in the file's order.
public enum TileSubset {
    /// Reads a tile subset `.npy` (1-D integers) and checks it against `tileCount` rows (when given; the
    /// robustness loader checks the indices against every slide anyway).
    /// - Throws: `FeatureFileError` when the file is not a 1-D integer array, an index is negative or not
    ///   below `tileCount` (naming its position), or an index repeats.
    public static func load(path: String, tileCount: Int? = nil) throws(FeatureFileError) -> [Int] {
        let array = try NPYArray.read(path: path)
        guard array.shape.count == 1 else {
            throw FeatureFileError(path: path, "tile subset has shape \(array.shape); expected a 1-D index array")
        }
        let indices = try array.integerValues(path: path).map { Int($0) }
        var seen = Set<Int>()
        for (position, index) in indices.enumerated() {
            guard index >= 0 else { throw FeatureFileError(path: path, "entry \(position): tile index \(index) is negative") }
            if let tileCount, index >= tileCount {
                throw FeatureFileError(path: path, "entry \(position): tile index \(index) outside 0..<\(tileCount)")
            }
            guard seen.insert(index).inserted else {
                throw FeatureFileError(path: path, "entry \(position): tile index \(index) repeats")
            }
        }
        return indices
    }
}
