import Foundation
import Testing
@testable import Evaluation

/// Feature files: `.npy` and HDF5 as numpy, h5py, TRIDENT and CLAM write them (fixtures made by
/// tools/fixtures/make_feature_file_fixtures.py), round trips of what Distillery writes, and clear errors.
@Suite struct FeatureFileTests {
    let folder = evaluationFixtures.appendingPathComponent("features").path

    /// The fixture script's values: (i·7 + j·3) mod 11 − 5 + 0.25·j.
    func value(_ i: Int, _ j: Int) -> Double { Double((i * 7 + j * 3) % 11 - 5) + 0.25 * Double(j) }

    @Test func readsTridentHDF5() throws {
        let set = try FeatureSet.read(path: folder + "/trident.h5")
        #expect(set.features.rows == 5 && set.features.columns == 4)
        for i in 0 ..< 5 { for j in 0 ..< 4 { #expect(Double(set.features[i, j]) == value(i, j)) } }
        let expectedCoordinates: [TileCoordinate] = (0 ..< 5).map { tile(256 * $0, 512 * ($0 % 2)) }
        #expect(set.coordinates == expectedCoordinates)
        #expect(set.metadata == FeatureMetadata(name: "slide-1", model: "h0-mini", tileSize: 224, tileSizeLevel0: 448,
                                                level0Magnification: 40, targetMagnification: 20))
        #expect(set.tileNames == nil)
    }

    @Test func readsClamHDF5WithFloat16AndFixedStrings() throws {
        let set = try FeatureSet.readHDF5(path: folder + "/clam-float16.h5")
        for i in 0 ..< 3 { for j in 0 ..< 4 { #expect(Double(set.features[i, j]) == value(i, j)) } }
        let expectedCoordinates: [TileCoordinate] = (0 ..< 3).map { tile($0, 2 * $0) }
        #expect(set.coordinates == expectedCoordinates)
        #expect(set.tileNames == ["tile-0.png", "tile-1.png", "tile-2.png"])
        #expect(set.metadata == FeatureMetadata(model: "clam-r50"))
    }

    @Test func readsPlismbenchNPY() throws {
        let set = try FeatureSet.read(path: folder + "/plismbench.npy")
        #expect(set.levels == [16, 16, 16, 16])
        let expectedCoordinates: [TileCoordinate] = (0 ..< 4).map { tile(224 * (3 - $0), 0) }
        #expect(set.coordinates == expectedCoordinates)
        for i in 0 ..< 4 { for j in 0 ..< 4 { #expect(Double(set.features[i, j]) == value(i, j)) } }
        #expect(set.metadata.name == "features")
        // Sorting by (x, y) reverses the rows.
        let sorted = set.sortedByCoordinates()
        #expect(sorted.coordinates?.map(\.x) == [0, 224, 448, 672])
        #expect(sorted.features.row(0) == set.features.row(3))
    }

    @Test func readsFortranOrderAndBigEndian() throws {
        let fortran = try NPYArray.read(path: folder + "/fortran-f8.npy")
        #expect(fortran.shape == [3, 4] && fortran.element == .float64)
        #expect(fortran.doubleValues() == (0 ..< 3).flatMap { i in (0 ..< 4).map { value(i, $0) } })
        let bigEndian = try NPYArray.read(path: folder + "/big-endian-i8.npy")
        #expect(try bigEndian.integerValues(path: "") == [4, 0, 3, 1, 2])
    }

    @Test func npyRoundTripAndAlignment() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let array = NPYArray(float64: [1.5, -2, 3e-300, .infinity, 0, 7], shape: [2, 3])
        try array.write(to: directory + "/a.npy")
        #expect(try NPYArray.read(path: directory + "/a.npy") == array)
        #expect(array.encoded().count - array.bytes.count == 128 || array.encoded().count - array.bytes.count == 64)
        #expect((array.encoded().count - array.bytes.count) % 64 == 0)
        let ints = NPYArray(int64: [Int64.min, -1, 0, Int64.max], shape: [4])
        try ints.write(to: directory + "/i.npy")
        #expect(try NPYArray.read(path: directory + "/i.npy").integerValues(path: "") == [Int64.min, -1, 0, Int64.max])
        #expect(NPYArray.halfToFloat(0x3C00) == 1 && NPYArray.halfToFloat(0xC000) == -2 && NPYArray.halfToFloat(0x0001) == 0x1p-24)
        #expect(NPYArray.halfToFloat(0x7C00) == .infinity)
    }

    @Test func hdf5RoundTripOfEverything() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let set = FeatureSet(
            features: FeatureMatrix(rows: 3, columns: 2, values: [1, 2, 3, 4.5, -5, 6e-8]),
            coordinates: [TileCoordinate(x: 0, y: 0), TileCoordinate(x: 224, y: 0), TileCoordinate(x: 5_000_000_000, y: 7)],
            tileNames: ["a.png", "ü.png", ""],
            metadata: FeatureMetadata(name: "GMH_S60", model: "h0-mini", tileSize: 224, tileSizeLevel0: 448, mpp: 0.5,
                                      level0Magnification: 40, targetMagnification: 20))
        try set.write(to: directory + "/s.h5")
        #expect(try FeatureSet.read(path: directory + "/s.h5") == set)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["s.h5"])
        // Without coordinates and names only `features` is written.
        let bare = FeatureSet(features: FeatureMatrix(rows: 1, columns: 3, values: [1, 2, 3]))
        try bare.write(to: directory + "/bare.hdf5")
        #expect(try FeatureSet.read(path: directory + "/bare.hdf5") == bare)
        // A slide without tissue: [0, D] features and [0, 2] coordinates, as TRIDENT writes them.
        let empty = FeatureSet(features: FeatureMatrix(zeros: 0, columns: 4), coordinates: [], tileNames: [])
        try empty.write(to: directory + "/empty.h5")
        #expect(try FeatureSet.read(path: directory + "/empty.h5") == empty)
        // The plismbench layout keeps coordinates and levels.
        var withLevels = set
        withLevels.levels = [16, 16, 15]
        withLevels.tileNames = nil
        withLevels.coordinates![2] = TileCoordinate(x: 448, y: 224)
        try withLevels.write(to: directory + "/p.npy")
        let back = try FeatureSet.read(path: directory + "/p.npy")
        #expect(back.features == withLevels.features && back.coordinates == withLevels.coordinates && back.levels == [16, 16, 15])
        #expect(throws: FeatureFileError(path: directory + "/x.npy",
                                         "the plismbench layout needs tile coordinates; this feature set has none")) {
            try bare.write(to: directory + "/x.npy")
        }
    }

    @Test func badFilesGiveOneClearError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("not numpy".utf8).write(to: URL(fileURLWithPath: directory + "/bad.npy"))
        #expect(throws: FeatureFileError(path: directory + "/bad.npy", "not a .npy file (no \\x93NUMPY magic)")) {
            try FeatureSet.read(path: directory + "/bad.npy")
        }
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: directory + "/bad.h5"))
        #expect(throws: FeatureFileError(path: directory + "/bad.h5", "not an HDF5 file (or unreadable)")) {
            try FeatureSet.read(path: directory + "/bad.h5")
        }
        #expect(throws: FeatureFileError(path: directory + "/f.csv",
                                         "unknown feature file extension (expected .h5, .hdf5 or .npy)")) {
            try FeatureSet.read(path: directory + "/f.csv")
        }
        // A non-finite feature names its row and column.
        let nan = FeatureSet(features: FeatureMatrix(rows: 2, columns: 2, values: [1, 2, 3, .nan]))
        try nan.write(to: directory + "/nan.h5")
        #expect(throws: FeatureFileError(path: directory + "/nan.h5", "features row 1, column 1: non-finite value nan")) {
            try FeatureSet.read(path: directory + "/nan.h5")
        }
        // A plismbench file with a truncated payload names the byte counts.
        let array = NPYArray(float32: [0, 0, 0, 1], shape: [1, 4])
        try Data(array.encoded().dropLast(2)).write(to: URL(fileURLWithPath: directory + "/short.npy"))
        #expect(throws: FeatureFileError(path: directory + "/short.npy",
                                         "data holds 14 bytes; shape [1, 4] of '<f4' needs 16")) {
            try FeatureSet.read(path: directory + "/short.npy")
        }
        #expect(throws: FeatureFileError(path: directory + "/missing.h5", "cannot open: No such file or directory")) {
            try FeatureSet.read(path: directory + "/missing.h5")
        }
    }
}

/// plismbench's tile subsets (P10): the committed copies are byte-identical to the published assets
/// (SHA-256 of `evaluation-spec.md` §1.3), and load as unique in-range indices.
@Suite struct TileSubsetTests {
    @Test(arguments: PLISMProtocol.subsetSizes)
    func subset(size: Int) throws {
        let path = evaluationFixtures.appendingPathComponent("plism/tiles_subset_\(size).npy").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(sha256Hex(bytes) == PLISMProtocol.subsetSHA256[size])
        let indices = try TileSubset.load(path: path, tileCount: PLISMProtocol.tilesPerSlide)
        #expect(indices.count == size && Set(indices).count == size)
        #expect(indices != indices.sorted())  // plismbench's order, not sorted
        #expect(throws: FeatureFileError.self) { try TileSubset.load(path: path, tileCount: 100) }
    }

    @Test func sha256KnownAnswer() {
        #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
