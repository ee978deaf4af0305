import Compute
import Embedding
import Evaluation
import Foundation
import ImageOps
import Models
import Testing
import TileShards

/// `TileEmbedder` on real tiles against timm (fixture from tools/fixtures/make_embedding_fixtures.py): the tiles of
/// ../shared/data/tiles/single through torchvision's Resize + CenterCrop and the small SwiGLU test ViT.
@Suite struct TileEmbedderTests {
    static let backend = CPUBackend(threads: 2)

    static func model() throws -> ViT {
        let config = try ViTConfig.load(path: EmbeddingFixtures.config("vit-tiny-test"))
        return try ViT(config: config, checkpoint: EmbeddingFixtures.vitFixture("vit-tiny-test.safetensors"), backend: backend)
    }

    static let reference = Result { try SafetensorsFile(path: EmbeddingFixtures.fixture("tiles-single-vit-tiny-test.safetensors")) }

    /// Tile names in the fixture's order.
    static func referenceNames() throws -> [String] {
        let text = try #require(try reference.get().metadata["tiles"])
        return try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    /// Resize + CenterCrop gives torchvision's bytes on every tile (sizes 512², 1000², 584×438, 587×441, 240²).
    @Test func fittedTilesEqualTorchvision() throws {
        let file = try Self.reference.get()
        let pixels = try file.bytes("pixels")
        let input = try TileInput.open(EmbeddingFixtures.singleTiles)
        var tiles = input.makeIterator()
        var index = 0
        let size = 224 * 224 * 3
        while let tile = try tiles.next() {
            let fitted = try TileFit.resizeCrop.fitted(tile.image, size: 224, name: tile.name)
            let expected = Array(pixels[(index * size)..<((index + 1) * size)])
            let differing = zip(fitted.pixels, expected).filter { $0 != $1 }.count
            #expect(differing == 0, "\(tile.name): \(differing) bytes differ from torchvision")
            index += 1
        }
        #expect(index == 5)
    }

    /// Both poolings match timm's `forward_features` + pooling to 1e-4 for every tile, with a partial last batch.
    @Test(arguments: [(Pooling.cls, "cls"), (.clsMean, "cls_mean")])
    func embeddingsMatchTimm(pooling: Pooling, key: String) throws {
        let embedder = TileEmbedder(model: try Self.model(), pooling: pooling, batchSize: 2)
        var reports: [EmbeddingProgress] = []
        let features = try embedder.embed(try TileInput.open(EmbeddingFixtures.singleTiles)) { reports.append($0) }
        let expected = try Self.reference.get().tensor(key)
        #expect(features.features.rows == 5 && features.features.columns == pooling.width(dim: 64))
        #expect([5, pooling.width(dim: 64)] == expected.shape)
        let error = EmbeddingFixtures.maxDifference(features.features.values, expected.scalars())
        #expect(error <= 1e-4, "\(key): max |Δ| \(error)")
        #expect(features.tileNames == (try Self.referenceNames()))
        #expect(features.coordinates == nil)
        #expect(features.metadata == FeatureMetadata(name: "single", model: "vit-tiny-test", tileSize: 224, pooling: pooling.rawValue))
        #expect(reports.map(\.done) == [2, 4, 5])
        #expect(reports.allSatisfy { $0.total == 5 })
        #expect(reports.last?.resized == 5)
    }

    /// The batch size does not change the result (beyond GEMM blocking round-off), and the in-memory API equals
    /// the file API.
    @Test func batchSizeAndInMemoryTilesGiveTheSameRows() throws {
        let model = try Self.model()
        let byFile = try TileEmbedder(model: model, pooling: .clsMean, batchSize: 5).embed(try TileInput.open(EmbeddingFixtures.singleTiles))
        var tiles: [EmbeddingTile] = []
        var iterator = try TileInput.open(EmbeddingFixtures.singleTiles).makeIterator()
        while let tile = try iterator.next() { tiles.append(tile) }
        let inMemory = try TileEmbedder(model: model, pooling: .clsMean, batchSize: 1).embed(tiles, name: "single")
        #expect(inMemory.tileNames == byFile.tileNames)
        #expect(inMemory.metadata == byFile.metadata)
        #expect(EmbeddingFixtures.maxDifference(inMemory.features.values, byFile.features.values) <= 1e-5)
        // embed(images:) on the fitted tiles: one batch of 5.
        let fitted = try tiles.map { try TileFit.resizeCrop.fitted($0.image, size: 224, name: $0.name) }
        let matrix = try TileEmbedder(model: model, pooling: .clsMean).embed(images: fitted)
        #expect(EmbeddingFixtures.maxDifference(matrix.values, byFile.features.values) <= 1e-5)
    }

    @Test func requirePolicyNamesTheTile() throws {
        let embedder = TileEmbedder(model: try Self.model(), pooling: .cls, batchSize: 2, fit: .require)
        #expect(throws: EmbeddingError.wrongTileSize(tile: "skimage-ihc-512.png", width: 512, height: 512, expected: 224)) {
            try embedder.embed(try TileInput.open(EmbeddingFixtures.singleTiles))
        }
        #expect(throws: EmbeddingError.wrongTileSize(tile: "#1", width: 240, height: 240, expected: 224)) {
            try embedder.embed(images: [RGBImage(width: 224, height: 224), RGBImage(width: 240, height: 240)])
        }
    }

    /// Shard tiles keep slide id, level-0 position and mpp: names `SLIDE/X_Y`, coords, the mpp attribute; rows equal
    /// the embeddings of the same pixels given as images.
    @Test func shardTilesCarryCoordinatesAndMPP() throws {
        let folder = try EmbeddingFixtures.temporaryFolder("shards")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tile = try PNGImage.read(path: EmbeddingFixtures.singleTiles + "/tiatoolbox-target_image-1000.png")
        let origins: [(Int, Int)] = [(0, 0), (224, 0), (517, 389), (776, 776)]
        let crops = origins.map { tile.cropped(to: CropBox(top: $0.1, left: $0.0, height: 224, width: 224)) }
        let writer = try DatasetWriter(directory: folder, options: .init(geometry: TileGeometry(size: 224), maxTilesPerShard: 3))
        for (crop, origin) in zip(crops, origins) {
            try writer.append(crop.pixels, metadata: TileMetadata(slideID: "tiatoolbox target", x: Int64(origin.0) * 2,
                                                                  y: Int64(origin.1) * 2, mpp: 0.5, tissueFraction: 1))
        }
        try writer.finishSource("tiatoolbox target")
        _ = try writer.finish()

        let input = try TileInput.open(folder)
        #expect(input.count == 4)
        #expect(input.name == "tiatoolbox target")
        let model = try Self.model()
        let features = try TileEmbedder(model: model, pooling: .cls, batchSize: 3).embed(input)
        #expect(features.tileNames == ["tiatoolbox target/0_0", "tiatoolbox target/448_0", "tiatoolbox target/1034_778",
                                       "tiatoolbox target/1552_1552"])
        #expect(features.coordinates == origins.map { TileCoordinate(x: Int64($0.0) * 2, y: Int64($0.1) * 2) })
        #expect(features.metadata == FeatureMetadata(name: "tiatoolbox target", model: "vit-tiny-test", tileSize: 224,
                                                     mpp: 0.5, pooling: "cls"))
        let direct = try TileEmbedder(model: model, pooling: .cls).embed(images: crops)
        #expect(EmbeddingFixtures.maxDifference(direct.values, features.features.values) <= 1e-5)
    }
}
