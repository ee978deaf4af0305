import Foundation

/// One slide's features for the robustness benchmark: its label and its rows, aligned with every other
/// slide's rows (same tiles in the same order).
public struct RobustnessSlide<Scalar: BLASScalar>: Sendable {
    /// Name, staining, scanner.
    public var label: SlideLabel
    /// The features, [n, D].
    public var features: FeatureMatrix<Scalar>

    /// A slide with the given label and features.
    public init(label: SlideLabel, features: FeatureMatrix<Scalar>) {
        self.label = label
        self.features = features
    }
}

extension RobustnessSlide where Scalar == Float {
    /// Loads every slide's feature file in `directory`: `NAME.h5` / `NAME.hdf5` (TRIDENT layout),
    /// `NAME/features.npy` (plismbench layout, one folder per slide) or `NAME.npy` (plismbench layout).
    ///
    /// Each slide's rows are sorted by coordinate (x, then y) and must then have the same coordinates
    /// (and plismbench levels) as every other slide — the tiles are registered across slides. Files
    /// without coordinates are taken in file order and need only the same row count. `tileSubset`
    /// (indices into the sorted rows, e.g. plismbench's `tiles_subset_8139.npy`) then selects the rows.
    ///
    /// - Parameters:
    ///   - directory: the folder of feature files.
    ///   - stainings: keep only these stainings (nil: all).
    ///   - scanners: keep only these scanners (nil: all).
    ///   - nameContains: keep only names containing this (plismbench keeps "_to_GMH_S60"; nil: all).
    ///   - tileSubset: rows to keep, in order (nil: all).
    /// - Returns: the slides in name order.
    /// - Throws: `FeatureFileError` for unreadable files; `EvaluationError` for names without staining and
    ///   scanner, fewer than 2 slides, or slides whose tiles do not line up (naming both slides and the row).
    public static func load(directory: String, stainings: Set<String>? = nil, scanners: Set<String>? = nil,
                            nameContains: String? = nil, tileSubset: [Int]? = nil) throws -> [RobustnessSlide<Float>] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw FeatureFileError(path: directory, "cannot list the folder: \(error.localizedDescription)")
        }
        var files = [(name: String, path: String)]()
        for entry in entries where !entry.hasPrefix(".") {
            let path = directory + "/" + entry
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            if isFolder.boolValue {
                if FileManager.default.fileExists(atPath: path + "/features.npy") {
                    files.append((entry, path + "/features.npy"))
                }
            } else if FeatureFileFormat(path: entry) != nil {
                let stem = entry.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
                files.append((stem, path))
            }
        }
        var slides = [RobustnessSlide<Float>]()
        var reference: (name: String, path: String, set: FeatureSet)?
        for file in files {
            if let nameContains, !file.name.contains(nameContains) { continue }
            let label = try SlideLabel(name: file.name)
            if let stainings, !stainings.contains(label.staining) { continue }
            if let scanners, !scanners.contains(label.scanner) { continue }
            let set = try FeatureSet.read(path: file.path).sortedByCoordinates()
            if let reference {
                try checkAligned(set, path: file.path, name: file.name, with: reference.set, name: reference.name)
            } else {
                reference = (file.name, file.path, set)
            }
            var features = set.features
            if let tileSubset {
                if let bad = tileSubset.first(where: { $0 < 0 || $0 >= set.count }) {
                    throw EvaluationError("tile subset index \(bad) is outside 0..<\(set.count) (slide \(file.name) has "
                        + "\(set.count) tiles)")
                }
                features = features.selectingRows(tileSubset)
            }
            slides.append(RobustnessSlide(label: label, features: features))
        }
        guard slides.count >= 2 else {
            throw EvaluationError("\(directory): found \(slides.count) slide feature file(s) after filtering; "
                + "robustness needs at least 2 (NAME.h5, NAME.npy or NAME/features.npy)")
        }
        return slides
    }

    private static func checkAligned(_ set: FeatureSet, path: String, name: String, with other: FeatureSet,
                                     name otherName: String) throws(EvaluationError) {
        guard set.count == other.count else {
            throw EvaluationError("slides \(otherName) (\(other.count) tiles) and \(name) (\(set.count) tiles) "
                + "have different tile counts")
        }
        guard set.features.columns == other.features.columns else {
            throw EvaluationError("slides \(otherName) (D = \(other.features.columns)) and \(name) "
                + "(D = \(set.features.columns)) have different feature dimensions")
        }
        switch (set.coordinates, other.coordinates) {
        case (nil, nil): break
        case let (mine?, theirs?):
            if let row = mine.indices.first(where: { mine[$0] != theirs[$0] }) {
                throw EvaluationError("\(path): sorted tile row \(row) is at (\(mine[row].x), \(mine[row].y)) but at "
                    + "(\(theirs[row].x), \(theirs[row].y)) in slide \(otherName); the slides' tiles do not line up")
            }
            if let levels = set.levels, let otherLevels = other.levels,
               let row = levels.indices.first(where: { levels[$0] != otherLevels[$0] }) {
                throw EvaluationError("\(path): sorted tile row \(row) has level \(levels[row]) but \(otherLevels[row]) "
                    + "in slide \(otherName)")
            }
        default:
            throw EvaluationError("slides \(otherName) and \(name): one file has tile coordinates and the other has none")
        }
    }
}
