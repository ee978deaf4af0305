import Foundation
import ImageOps
import Testing

@testable import Embedding

/// Listing image folders, sizes of the torchvision fit, errors naming the path or tile, the progress line.
@Suite struct TileInputTests {
    /// A folder with tiles in two levels, a hidden file, a non-image file and a broken PNG.
    static func makeFolder() throws -> String {
        let folder = try EmbeddingFixtures.temporaryFolder("input")
        let tile = EmbeddingFixtures.singleTiles + "/wsidicom-data-test_tile-240.png"
        let jpeg = EmbeddingFixtures.shared.appendingPathComponent("data/paired/wsidicom-data-codec-variants/JPEG_Baseline_(Process_1)-YBR-8.jpg").path
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for name in ["b.png", "a.PNG", "sub/c.png", ".hidden.png"] { try FileManager.default.copyItem(atPath: tile, toPath: folder + "/" + name) }
        try FileManager.default.copyItem(atPath: jpeg, toPath: folder + "/Z.jpeg")
        try "not an image".write(toFile: folder + "/notes.txt", atomically: true, encoding: .utf8)
        return folder
    }

    @Test func foldersAreListedSortedWithoutHiddenFiles() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        guard case .images(_, let flat) = try TileInput.open(folder).source else { Issue.record("not an image folder"); return }
        #expect(flat == ["Z.jpeg", "a.PNG", "b.png"])
        let recursive = try TileInput.open(folder, recursive: true)
        guard case .images(_, let all) = recursive.source else { Issue.record("not an image folder"); return }
        #expect(all == ["Z.jpeg", "a.PNG", "b.png", "sub/c.png"])
        var iterator = recursive.makeIterator()
        var names: [String] = []
        while let tile = try iterator.next() {
            names.append(tile.name)
            #expect(tile.image.width == 240 && tile.image.height == 240 && tile.coordinate == nil && tile.mpp == nil)
        }
        #expect(names == all)
        #expect(recursive.name == URL(fileURLWithPath: folder).lastPathComponent)
        let single = try TileInput.open(folder + "/b.png")
        #expect(single.count == 1 && single.name == "b")
    }

    @Test func badInputsAreNamed() throws {
        let folder = try Self.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: EmbeddingError.badInput(path: folder + "/missing", reason: "no such file or folder")) {
            try TileInput.open(folder + "/missing")
        }
        #expect(throws: EmbeddingError.badInput(path: folder + "/notes.txt",
                                                reason: "not a .png/.jpg/.jpeg file, an image folder or a tile shard dataset")) {
            try TileInput.open(folder + "/notes.txt")
        }
        try FileManager.default.createDirectory(atPath: folder + "/empty/deeper", withIntermediateDirectories: true)
        #expect {
            try TileInput.open(folder + "/empty")
        } throws: { error in
            "\(error)".hasPrefix(folder + "/empty: no .png, .jpg or .jpeg files (subfolders are read with --recursive)")
        }
        // A dataset folder whose index.json is broken is reported as such, not as an image folder.
        try FileManager.default.createDirectory(atPath: folder + "/dataset", withIntermediateDirectories: true)
        try "{".write(toFile: folder + "/dataset/index.json", atomically: true, encoding: .utf8)
        #expect {
            try TileInput.open(folder + "/dataset")
        } throws: { error in
            guard case EmbeddingError.badInput(let path, let reason) = error else { return false }
            return path == folder + "/dataset" && reason.contains("index.json")
        }
        // A broken tile names itself.
        try Data("\u{89}PNG not really".utf8).write(to: URL(fileURLWithPath: folder + "/sub/broken.png"))
        var iterator = try TileInput.open(folder + "/sub").makeIterator()
        #expect {
            while try iterator.next() != nil {}
        } throws: { error in
            guard case EmbeddingError.unreadableTile(let tile, let reason) = error else { return false }
            return tile == "broken.png" && reason.contains("cannot read PNG")
        }
    }

    /// torchvision `Resize(224)` sizes and `CenterCrop(224)` offsets, Python rounding included.
    @Test func torchvisionFitGeometry() {
        #expect(TileFit.resizedSize(width: 584, height: 438, shorterSide: 224) == (298, 224))
        #expect(TileFit.resizedSize(width: 441, height: 587, shorterSide: 224) == (224, 298))
        #expect(TileFit.resizedSize(width: 1000, height: 1000, shorterSide: 224) == (224, 224))
        #expect(TileFit.resizedSize(width: 100, height: 300, shorterSide: 224) == (224, 672))
        #expect(TileFit.centerOffset(298, 224) == 37)
        #expect(TileFit.centerOffset(225, 224) == 0)  // round(0.5) == 0 in Python
        #expect(TileFit.centerOffset(227, 224) == 2)  // round(1.5) == 2
        #expect(TileFit.resizeCrop.mppScale(width: 448, height: 500, size: 224) == 2)
        #expect(TileFit.resizeCrop.mppScale(width: 224, height: 224, size: 224) == 1)
    }

    @Test func progressLine() {
        let progress = EmbeddingProgress(done: 40, total: 100, seconds: 4)
        #expect(progress.line(barWidth: 10) == "[####......] 40/100 tiles (40%)  10.0 tiles/s  eta 6s")
        #expect(EmbeddingProgress(done: 100, total: 100, seconds: 8).line(barWidth: 4) == "[####] 100/100 tiles (100%)  12.5 tiles/s")
        #expect(EmbeddingProgress(done: 7, total: nil, seconds: 2).line() == "7 tiles  3.5 tiles/s")
    }
}
