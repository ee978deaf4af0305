/// Matches the rows of a CSV file (labels, targets) to the rows of a feature file: by tile name when the
/// feature file has `tile_names` and a key column is given (an exact match first, then the last path
/// component, so `dir/a.png` finds `a.png`), otherwise by row order (the CSV must have one row per tile).
public enum RowJoin {
    /// For every feature row, the index of its CSV row.
    /// - Parameters:
    ///   - features: the feature file's contents.
    ///   - featuresPath: its path, for errors.
    ///   - table: the CSV.
    ///   - tablePath: its path, for errors.
    ///   - keyColumn: the CSV column holding tile names (nil: join by order).
    /// - Throws: `FeatureFileError` naming the tile without a row, a repeated key, or the row-count mismatch.
    public static func rows(for features: FeatureSet, featuresPath: String, table: CSVTable, tablePath: String,
                            keyColumn: String?) throws(FeatureFileError) -> [Int] {
        guard let keyColumn, let names = features.tileNames else {
            guard table.rows.count == features.count else {
                let why = keyColumn == nil ? "" : " (the feature file has no tile_names to join on '\(keyColumn!)')"
                throw FeatureFileError(path: tablePath, "\(table.rows.count) rows for the \(features.count) tiles of "
                    + "\(featuresPath); rows are matched by order\(why)")
            }
            return Array(0 ..< features.count)
        }
        let key = try table.column(keyColumn, path: tablePath)
        var exact = [String: Int](), byLastComponent = [String: Int]()
        for (index, row) in table.rows.enumerated() {
            guard exact.updateValue(index, forKey: row[key]) == nil else {
                throw FeatureFileError(path: tablePath, "row \(index + 1): '\(row[key])' appears twice in column '\(keyColumn)'")
            }
            byLastComponent[lastComponent(row[key])] = index
        }
        return try names.enumerated().map { (row, name) throws(FeatureFileError) -> Int in
            if let index = exact[name] ?? byLastComponent[lastComponent(name)] { return index }
            throw FeatureFileError(path: tablePath, "no row for tile '\(name)' (row \(row) of \(featuresPath)) "
                + "in column '\(keyColumn)'")
        }
    }

    private static func lastComponent(_ name: String) -> String {
        name.split(separator: "/").last.map(String.init) ?? name
    }
}
