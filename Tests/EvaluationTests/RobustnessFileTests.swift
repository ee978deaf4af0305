import Foundation
import Testing
@testable import Evaluation

/// The robustness benchmark from a folder of feature files: discovery, sorting by coordinates, alignment
/// checks, tile subsets and filters give the same metrics as the in-memory matrices.
@Suite struct RobustnessFileTests {
    /// Three slides of plism_like data written as HDF5 (rows shuffled differently per slide) and one as
    /// plismbench's folder layout; loading re-sorts them so tiles line up.
    @Test func folderOfFeatureFilesMatchesInMemory() throws {
        let slides = ParityInputs.plismLike(seed: 9, stainings: ["GMH", "GV"], scanners: ["AT2", "P"], n: 40, d: 8,
                                            scannerScale: 0.5, stainingScale: 1, noise: 1)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let coordinates: [TileCoordinate] = (0 ..< 40).map { tile(224 * ($0 % 8), 224 * ($0 / 8)) }
        for (index, slide) in slides.enumerated() {
            var rng = SplitMix64(seed: UInt64(index))
            let order = rng.permutation(40)
            let set = FeatureSet(features: slide.features.converted(to: Float.self), coordinates: coordinates)
                .sortedByCoordinates().selectingRows(order)
            let stem = String(slide.label.name.dropLast(4))
            if index == 3 {
                try FileManager.default.createDirectory(atPath: directory + "/" + stem, withIntermediateDirectories: true)
                try set.write(to: directory + "/\(stem)/features.npy")
            } else {
                try set.write(to: directory + "/\(stem).h5")
            }
        }
        let loaded = try RobustnessSlide.load(directory: directory)
        #expect(loaded.map(\.label.name) == ["GMH_AT2_to_GMH_S60", "GMH_P_to_GMH_S60", "GV_AT2_to_GMH_S60", "GV_P_to_GMH_S60"])
        let inMemory = slides.map { slide -> RobustnessSlide<Float> in
            RobustnessSlide(label: try! SlideLabel(name: String(slide.label.name.dropLast(4))),
                            features: FeatureSet(features: slide.features.converted(to: Float.self), coordinates: coordinates)
                                .sortedByCoordinates().features)
        }
        let benchmark = RobustnessBenchmark()
        let fromFiles = try benchmark.evaluate(loaded)
        let direct = try benchmark.evaluate(inMemory)
        #expect(fromFiles == direct)
        #expect(fromFiles.pairs.count == 6)

        // A subset of rows and filters by staining.
        let subset = [5, 0, 39, 17]
        let filtered = try RobustnessSlide.load(directory: directory, stainings: ["GMH"], tileSubset: subset)
        #expect(filtered.map(\.label.staining) == ["GMH", "GMH"] && filtered[0].features == inMemory[0].features.selectingRows(subset))
        #expect(throws: EvaluationError.self) { try RobustnessSlide.load(directory: directory, scanners: ["SQ"]) }
    }

    @Test func misalignedTilesNameBothSlidesAndTheRow() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let features = FeatureMatrix<Float>(rows: 2, columns: 2, values: [1, 0, 0, 1])
        try FeatureSet(features: features, coordinates: [TileCoordinate(x: 0, y: 0), TileCoordinate(x: 1, y: 0)])
            .write(to: directory + "/GMH_AT2.h5")
        try FeatureSet(features: features, coordinates: [TileCoordinate(x: 0, y: 0), TileCoordinate(x: 2, y: 0)])
            .write(to: directory + "/GMH_S60.h5")
        #expect(throws: EvaluationError("\(directory)/GMH_S60.h5: sorted tile row 1 is at (2, 0) but at (1, 0) in slide "
            + "GMH_AT2; the slides' tiles do not line up")) {
            try RobustnessSlide.load(directory: directory)
        }
    }
}
