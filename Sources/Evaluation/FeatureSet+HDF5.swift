#if canImport(Glibc)
import Glibc
#endif

extension FeatureSet {
    /// Reads the TRIDENT/CLAM HDF5 layout: `features` [N, D] (any float or integer type, converted to
    /// float32), optional `coords` [N, 2] integers, optional `tile_names` [N] strings, and the attributes of
    /// `FeatureMetadata` when present.
    /// - Throws: `FeatureFileError` naming the dataset or attribute at fault, or the row of a non-finite value.
    public static func readHDF5(path: String) throws(FeatureFileError) -> FeatureSet {
        let set = try HDF5File.serialized { () throws(FeatureFileError) -> FeatureSet in
            let file = try HDF5File.open(path)
            defer { file.closeQuietly() }
            let info = try file.info("features")
            guard info.dimensions.count == 2 else {
                throw FeatureFileError(path: path, "dataset 'features' has shape \(info.dimensions); expected [N, D]")
            }
            let rows = info.dimensions[0]
            let features = FeatureMatrix(rows: rows, columns: info.dimensions[1], values: try file.readFloats("features"))
            var coordinates: [TileCoordinate]?
            if file.exists("coords") {
                let coordsInfo = try file.info("coords")
                guard coordsInfo.dimensions == [rows, 2] else {
                    throw FeatureFileError(path: path, "dataset 'coords' has shape \(coordsInfo.dimensions); "
                        + "expected [\(rows), 2] to match 'features'")
                }
                let flat = try file.readIntegers("coords")
                coordinates = (0 ..< rows).map { TileCoordinate(x: flat[2 * $0], y: flat[2 * $0 + 1]) }
            }
            var tileNames: [String]?
            if file.exists("tile_names") {
                let names = try file.readStrings("tile_names")
                guard names.count == rows else {
                    throw FeatureFileError(path: path, "dataset 'tile_names' has \(names.count) entries; 'features' has \(rows) rows")
                }
                tileNames = names
            }
            var metadata = FeatureMetadata()
            metadata.name = try file.readAttribute("name", of: "features").flatMap(text)
            metadata.model = try file.readAttribute("encoder", of: "features").flatMap(text)
            metadata.pooling = try file.readAttribute("pooling", of: "features").flatMap(text)
            if coordinates == nil {
                metadata.tileSize = try file.readAttribute("patch_size", of: "features").flatMap(integer)
                metadata.mpp = try file.readAttribute("mpp", of: "features").flatMap(real)
            } else {
                metadata.tileSize = try file.readAttribute("patch_size", of: "coords").flatMap(integer)
                metadata.tileSizeLevel0 = try file.readAttribute("patch_size_level0", of: "coords").flatMap(integer)
                metadata.mpp = try file.readAttribute("mpp", of: "coords").flatMap(real)
                metadata.level0Magnification = try file.readAttribute("level0_magnification", of: "coords").flatMap(real)
                metadata.targetMagnification = try file.readAttribute("target_magnification", of: "coords").flatMap(real)
            }
            return FeatureSet(features: features, coordinates: coordinates, tileNames: tileNames, metadata: metadata)
        }
        try set.validateFinite(path: path)
        return set
    }

    /// Writes the TRIDENT/CLAM HDF5 layout (see `FeatureSet`): `features` float32 [N, D], `coords` int64
    /// [N, 2] when there are coordinates, `tile_names` when there are names, and the metadata as attributes.
    /// Atomic: written under a temporary name, fsynced, renamed.
    /// - Throws: `FeatureFileError` naming the libhdf5 or system call that failed.
    public func writeHDF5(to path: String) throws(FeatureFileError) {
        let temporary = AtomicFile.temporaryPath(for: path)
        do throws(FeatureFileError) {
            try HDF5File.serialized { () throws(FeatureFileError) in
                let file = try HDF5File.create(temporary)
                do throws(FeatureFileError) {
                    try file.writeFloats("features", dimensions: [features.rows, features.columns], values: features.values)
                    if let name = metadata.name { try file.writeAttribute("name", of: "features", .string(name)) }
                    if let model = metadata.model { try file.writeAttribute("encoder", of: "features", .string(model)) }
                    if let pooling = metadata.pooling { try file.writeAttribute("pooling", of: "features", .string(pooling)) }
                    if let coordinates {
                        try file.writeIntegers("coords", dimensions: [coordinates.count, 2],
                                               values: coordinates.flatMap { [$0.x, $0.y] })
                        let attributes: [(String, HDF5File.Attribute?)] = [
                            ("patch_size", metadata.tileSize.map { .integer(Int64($0)) }),
                            ("patch_size_level0", metadata.tileSizeLevel0.map { .integer(Int64($0)) }),
                            ("mpp", metadata.mpp.map { .real($0) }),
                            ("level0_magnification", metadata.level0Magnification.map(number)),
                            ("target_magnification", metadata.targetMagnification.map(number)),
                            ("name", metadata.name.map { .string($0) }),
                        ]
                        for case let (key, value?) in attributes { try file.writeAttribute(key, of: "coords", value) }
                    } else {
                        // No coords to carry them (tiles from an image folder): tile size and mpp go on features.
                        if let size = metadata.tileSize { try file.writeAttribute("patch_size", of: "features", .integer(Int64(size))) }
                        if let mpp = metadata.mpp { try file.writeAttribute("mpp", of: "features", .real(mpp)) }
                    }
                    if let tileNames { try file.writeStrings("tile_names", values: tileNames) }
                    try file.close()
                } catch {
                    file.closeQuietly()
                    throw error
                }
            }
        } catch {
            unlink(temporary)
            throw FeatureFileError(path: path, error.message)
        }
        try AtomicFile.commit(temporary: temporary, to: path)
    }
}

private func text(_ attribute: HDF5File.Attribute) -> String? {
    if case .string(let value) = attribute, value != "None" { return value }
    return nil
}

private func integer(_ attribute: HDF5File.Attribute) -> Int? {
    switch attribute {
    case .integer(let value): Int(value)
    case .real(let value): value.rounded() == value ? Int(value) : nil
    case .string: nil
    }
}

private func real(_ attribute: HDF5File.Attribute) -> Double? {
    switch attribute {
    case .integer(let value): Double(value)
    case .real(let value): value
    case .string: nil
    }
}

/// Integral magnifications are written as integers, as TRIDENT does.
private func number(_ value: Double) -> HDF5File.Attribute {
    value.rounded() == value && abs(value) < 1e15 ? .integer(Int64(value)) : .real(value)
}
