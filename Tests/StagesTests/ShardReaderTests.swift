import Dataflow
import Foundation
import Stages
import Synchronization
import Testing
import TileShards

var testRegistry: StageRegistry {
    var registry = StageRegistry.builtIn
    registry.register(CollectingSink<TileSample>.self, as: "collect")
    return registry
}

/// A dataset of `slides × perSlide` 4×4 tiles, `tilesPerShard` per shard; tile (s, i) has pixels all `i` and x = i.
func makeDataset(slides: Int, perSlide: Int, tilesPerShard: Int) throws -> String {
    let directory = temporaryDirectory("shards")
    let writer = try DatasetWriter(directory: directory, options: .init(geometry: TileGeometry(size: 4), maxTilesPerShard: tilesPerShard))
    for s in 0..<slides {
        for i in 0..<perSlide {
            try writer.append([UInt8](repeating: UInt8(i % 256), count: 48),
                              metadata: TileMetadata(slideID: "slide.\(s)", x: Int64(i), y: 0, mpp: 0.5, tissueFraction: 1))
        }
        try writer.finishSource("slide.\(s)")
    }
    try writer.finish()
    return directory
}

func readerGraph(dataset: String, key: String, rank: Int, worldSize: Int, replicas: Int = 1, epoch: Int = 0,
                 buffer: Int = 0, seed: Int = 7) -> String {
    """
    name: read
    run: {seed: \(seed)}
    stages:
      - {name: reader, type: shard-reader, replicas: \(replicas), params: {dataset: "\(dataset)", rank: \(rank), world_size: \(worldSize), epoch: \(epoch), shuffle_buffer: \(buffer)}}
      - {name: sink, type: collect, params: {key: "\(key)"}}
    edges:
      - {from: reader, to: sink}
    """
}

func runGraph(_ yaml: String) async throws -> RunResult {
    let spec = try GraphLoader(registry: testRegistry, environment: [:]).load(yaml: yaml, path: "test.yaml")
    return await (try GraphRun(graph: spec, registry: testRegistry)).run()
}

@Suite(.serialized) struct ShardReaderTests {
    @Test func assignmentCoversEveryShardOncePerEpoch() {
        for shards in [1, 5, 16, 33] {
            for workers in [1, 2, 3, 4, 8] where workers <= shards {
                for epoch in 0..<3 {
                    let parts = (0..<workers).map {
                        ShardReaderStage.assignment(shardCount: shards, seed: 42, epoch: epoch, shuffle: true, worker: $0, workers: workers)
                    }
                    #expect(parts.flatMap { $0 }.sorted() == Array(0..<shards))
                    #expect(parts.allSatisfy { !$0.isEmpty })
                }
            }
        }
        let e0 = ShardReaderStage.assignment(shardCount: 32, seed: 42, epoch: 0, shuffle: true, worker: 0, workers: 1)
        let e1 = ShardReaderStage.assignment(shardCount: 32, seed: 42, epoch: 1, shuffle: true, worker: 0, workers: 1)
        #expect(e0 != e1)
        #expect(e0 == ShardReaderStage.assignment(shardCount: 32, seed: 42, epoch: 0, shuffle: true, worker: 0, workers: 1))
    }

    @Test func fourRanksReadEveryTileExactlyOnce() async throws {
        let dataset = try makeDataset(slides: 3, perSlide: 20, tilesPerShard: 7)
        defer { try? FileManager.default.removeItem(atPath: dataset) }
        let run = UUID().uuidString
        for rank in 0..<4 {
            let result = try await runGraph(readerGraph(dataset: dataset, key: "\(run)-\(rank)", rank: rank, worldSize: 4,
                                                        replicas: 2, epoch: 3, buffer: 5))
            #expect(result.outcome == .completed, "rank \(rank): \(result.outcome)")
        }
        let all = (0..<4).flatMap { CollectingSink<TileSample>.items("\(run)-\($0)") }
        let keys = all.map { "\($0.slideID)#\($0.x)" }
        #expect(keys.count == 60)
        #expect(Set(keys).count == 60)
        for tile in all { #expect(tile.pixels.allSatisfy { Int($0) == tile.x }) }
        // Deterministic: the same rank, seed and epoch read the same tiles in the same order.
        _ = try await runGraph(readerGraph(dataset: dataset, key: "\(run)-again", rank: 1, worldSize: 4, replicas: 1, epoch: 3, buffer: 5))
        _ = try await runGraph(readerGraph(dataset: dataset, key: "\(run)-again2", rank: 1, worldSize: 4, replicas: 1, epoch: 3, buffer: 5))
        let (a, b) = (CollectingSink<TileSample>.items("\(run)-again"), CollectingSink<TileSample>.items("\(run)-again2"))
        #expect(!a.isEmpty && a == b)
    }

    @Test func emptyPartitionIsAValidationErrorNotAHang() throws {
        let dataset = try makeDataset(slides: 1, perSlide: 4, tilesPerShard: 2)  // 2 shards
        defer { try? FileManager.default.removeItem(atPath: dataset) }
        func validationError(_ yaml: String) -> String? {
            do {
                _ = try GraphLoader(registry: testRegistry, environment: [:]).load(yaml: yaml, path: "test.yaml")
                return nil
            } catch {
                return "\(error)"
            }
        }
        // 4 ranks over 2 shards: ranks 2 and 3 would read nothing; every rank's validation says so.
        for rank in 0..<4 {
            let message = validationError(readerGraph(dataset: dataset, key: "x", rank: rank, worldSize: 4))
            #expect(message?.contains("test.yaml:4: stages.reader.params.dataset") == true, "\(message ?? "no error")")
            #expect(message?.contains("2 shards for 4 readers (world_size 4 × 1 replicas)") == true)
        }
        // 1 rank with 3 replicas over 2 shards: the same.
        let replicas = validationError(readerGraph(dataset: dataset, key: "x", rank: 0, worldSize: 1, replicas: 3))
        #expect(replicas?.contains("2 shards for 3 readers (world_size 1 × 3 replicas)") == true, "\(replicas ?? "no error")")
        // As many readers as shards is fine.
        #expect(validationError(readerGraph(dataset: dataset, key: "x", rank: 1, worldSize: 2)) == nil)
        // rank ≥ world_size is rejected at validation.
        #expect(validationError(readerGraph(dataset: dataset, key: "x", rank: 4, worldSize: 4))?.contains("rank 4 must be below world_size 4") == true)
        // A folder that is not a dataset fails at validation too, naming what is missing (S7).
        let empty = temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let missing = validationError(readerGraph(dataset: empty, key: "y", rank: 0, worldSize: 1))
        #expect(missing?.contains("stages.reader.params.dataset") == true && missing?.contains("index.json") == true, "\(missing ?? "no error")")
    }
}
