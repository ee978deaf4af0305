import Dataflow
import Foundation
import ImageOps
@testable import Stages
import Synchronization
import Testing
import TileShards
import TestSupport

/// The tiles of CMU-1-Small-Region as `distill tile` writes them (224 px at 0.5 µm/px, 8 per shard), made once.
private actor TiledDataset {
    static let shared = TiledDataset()
    var path: String?

    func get() async throws -> String {
        if let path { return path }
        let out = temporaryDirectory("augment-tiles")
        var tiling = TileGraph(inputs: [slidesRoot + "/aperio/CMU-1-Small-Region.svs"], out: out + "/data")
        tiling.tilesPerShard = 8
        let (spec, _) = try tiling.load()
        let outcome = await (try GraphRun(graph: spec, registry: .builtIn, runDirectory: out + "/run")).run().outcome
        guard outcome == .completed else { throw SinkCheckFailed(message: "tiling CMU-1-Small-Region: \(outcome)") }
        path = out + "/data"
        return out + "/data"
    }
}

/// Parameters of `MultiCropStage` from `values`, defaults for the rest.
private func multiCropParameters(_ values: [String: ParameterValue]) -> StageParameters {
    var all: [String: ParameterValue] = [:]
    for spec in MultiCropStage.parameters { all[spec.name] = values[spec.name] ?? spec.defaultValue }
    return StageParameters(stageName: "augment", values: all)
}

private func augmentGraph(dataset: String, key: String, readers: Int, workers: Int, epoch: Int = 0, seed: Int = 7,
                          sink: String? = nil) -> String {
    """
    name: augment
    run: {seed: \(seed)}
    stages:
      - {name: reader, type: shard-reader, replicas: \(readers), params: {dataset: "\(dataset)", shuffle_buffer: 5, epoch: \(epoch)}}
      - {name: augment, type: multi-crop, replicas: \(workers), params: {epoch: \(epoch)}}
      - \(sink ?? "{name: sink, type: collect-crops, params: {key: \"\(key)\"}}")
    edges:
      - {from: reader, to: augment, capacity: 2 MiB}
      - {from: augment, to: sink, capacity: 8 MiB}
    """
}

private func run(_ text: String) async throws -> RunOutcome {
    var registry = StageRegistry.builtIn
    registry.register(CollectingSink<CropSet>.self, as: "collect-crops")
    let spec = try GraphLoader(registry: registry).load(yaml: text, path: "augment.yaml")
    let directory = temporaryDirectory("augment-run")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return await (try GraphRun(graph: spec, registry: registry, runDirectory: directory)).run().outcome
}

@Suite(.serialized) struct MultiCropStageTests {
    @Test("shard-reader → multi-crop → sink on tiles from distill tile: one crop set per tile, the crops of ImageOps' MultiCrop")
    func graphOnTiledShards() async throws {
        let dataset = try await TiledDataset.shared.get()
        let data = try ShardDataset(directory: dataset)
        var tiles: [UInt64: Tile] = [:]
        for number in 0..<data.index.shards.count {
            let reader = try data.openShard(number)
            for index in 0..<reader.count {
                let tile = try reader.tile(at: index)
                tiles[AugmentationKey.sampleID(slideID: tile.metadata.slideID, x: Int(tile.metadata.x), y: Int(tile.metadata.y))] = tile
            }
        }
        #expect(tiles.count > 10 && data.index.shards.count >= 2)

        #expect(try await run(augmentGraph(dataset: dataset, key: "a", readers: 2, workers: 3)) == .completed)
        let sets = CollectingSink<CropSet>.items("a")
        #expect(sets.count == tiles.count)
        #expect(Set(sets.map(\.sampleID)) == Set(tiles.keys))
        let multiCrop = MultiCrop()
        var workspace = MultiCropWorkspace()
        for set in sets.prefix(6) {
            #expect(set.globalShape == [2, 3, 224, 224] && set.localShape == [8, 3, 98, 98])
            #expect(set.byteCount == (2 * 3 * 224 * 224 + 8 * 3 * 98 * 98) * 4)
            let tile = try #require(tiles[set.sampleID])
            #expect(set.slideID == "CMU-1-Small-Region.svs" && set.x == Int(tile.metadata.x) && set.y == Int(tile.metadata.y))
            let expected = multiCrop.apply(to: RGBImage(width: 224, height: 224, pixels: tile.pixels),
                                           key: AugmentationKey(seed: 7, epoch: 0, sample: set.sampleID), workspace: &workspace)
            #expect(set.global == expected.global && set.local == expected.local)
        }
    }

    @Test("the same crops whatever the replicas and shard order; another epoch or seed changes them")
    func deterministicAcrossReplicas() async throws {
        let dataset = try await TiledDataset.shared.get()
        #expect(try await run(augmentGraph(dataset: dataset, key: "one", readers: 1, workers: 1)) == .completed)
        #expect(try await run(augmentGraph(dataset: dataset, key: "four", readers: 2, workers: 4)) == .completed)
        #expect(try await run(augmentGraph(dataset: dataset, key: "epoch1", readers: 1, workers: 2, epoch: 1)) == .completed)
        #expect(try await run(augmentGraph(dataset: dataset, key: "seed8", readers: 1, workers: 2, seed: 8)) == .completed)
        let (one, four, epoch1, seed8) = (CollectingSink<CropSet>.items("one"), CollectingSink<CropSet>.items("four"),
                                          CollectingSink<CropSet>.items("epoch1"), CollectingSink<CropSet>.items("seed8"))
        let byID = Dictionary(uniqueKeysWithValues: one.map { ($0.sampleID, $0) })
        #expect(four.count == one.count && four.allSatisfy { byID[$0.sampleID] == $0 })
        #expect(epoch1.count == one.count && epoch1.allSatisfy { byID[$0.sampleID]?.global != $0.global && $0.epoch == 1 })
        #expect(seed8.allSatisfy { byID[$0.sampleID]?.local != $0.local })
    }

    @Test("crop-sink checks the sets and the count")
    func cropSink() async throws {
        let dataset = try await TiledDataset.shared.get()
        let count = try ShardDataset(directory: dataset).index.tiles
        let good = augmentGraph(dataset: dataset, key: "", readers: 1, workers: 2,
                                sink: "{name: sink, type: crop-sink, params: {expect_count: \(count)}}")
        #expect(try await run(good) == .completed)
        let wrong = augmentGraph(dataset: dataset, key: "", readers: 1, workers: 2,
                                 sink: "{name: sink, type: crop-sink, params: {expect_count: \(count + 1)}}")
        #expect(try await run(wrong) != .completed)
    }

    @Test("a bad config file fails the stage with the file, line and key; a good one and the blur override apply")
    func configParameter() throws {
        let directory = temporaryDirectory("augment-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.yaml"
        try "color_jitter:\n  hue: 0.9\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: MultiCropConfigError.self) { _ = try MultiCropStage(parameters: multiCropParameters(["config": .string(path)])) }
        do { _ = try MultiCropStage(parameters: multiCropParameters(["config": .string(path)])) } catch {
            #expect("\(error)" == "\(path):2: color_jitter.hue: must be in [0, 0.5], got 0.9")
        }

        let dinov2 = PackageRoot.path("configs/augment/dinov2.yaml")
        let nominal = try MultiCropStage(parameters: multiCropParameters(["config": .string(dinov2), "blur": .string("nominal")]))
        var expected = MultiCropConfig()
        expected.blur.choice = .nominal
        #expect(nominal.config == expected)
        let defaults = try MultiCropStage(parameters: multiCropParameters([:]))
        #expect(defaults.config == MultiCropConfig())
    }
}
