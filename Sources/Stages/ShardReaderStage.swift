import Dataflow
import Foundation
import TileShards

/// `shard-reader`: streams the tiles of a tile-shard dataset as ``TileSample``s, each tile exactly once per epoch
/// over all ranks and replicas.
///
/// Order: the dataset's shards are shuffled by a Fisher–Yates permutation seeded from (run seed, `epoch`)
/// — the same on every rank — and dealt round-robin to the `world_size × replicas` workers; worker
/// `rank × replicas + replica` reads its shards in that order, tiles in shard order, through a shuffle buffer
/// of `shuffle_buffer` tiles (0 or 1: none) seeded from (seed, epoch, worker). A dataset with fewer shards than
/// workers is a validation error naming `dataset` (``validate(replicas:)``; checked again when the stage starts,
/// in case the folder changed), never a silent hang (field cases H1, S7). `rank ≥ world_size` is a parameter error.
public struct ShardReaderStage: Stage {
    public static let summary = "Reads a tile-shard dataset: seeded shard shuffle, rank/replica partition, shuffle buffer"
    public static let output = OutputPort<TileSample>("out")
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("dataset", .string, "dataset folder"),
        ParameterSpec("epoch", .integer(0...Int.max), default: .integer(0), "epoch number (changes the shuffle)"),
        ParameterSpec("rank", .integer(0...Int.max), default: .integer(0), "this process's rank"),
        ParameterSpec("world_size", .integer(1...Int.max), default: .integer(1), "number of ranks"),
        ParameterSpec("shuffle_buffer", .integer(0...Int.max), default: .integer(0), "tiles in the shuffle buffer; 0 = shard order"),
        ParameterSpec("shuffle", .boolean, default: .boolean(true), "shuffle the shard order"),
        ParameterSpec("verify_checksums", .boolean, default: .boolean(false), "check each tile's checksum on read"),
    ]

    let dataset: String
    let epoch: Int
    let rank: Int
    let worldSize: Int
    let shuffleBuffer: Int
    let shuffle: Bool
    let verifyChecksums: Bool

    public init(parameters: StageParameters) throws {
        dataset = parameters.string("dataset")
        guard !dataset.isEmpty else { throw ParameterError(key: "dataset", "give the dataset folder") }
        epoch = parameters.integer("epoch")
        rank = parameters.integer("rank")
        worldSize = parameters.integer("world_size")
        guard rank < worldSize else { throw ParameterError(key: "rank", "rank \(rank) must be below world_size \(worldSize)") }
        shuffleBuffer = parameters.integer("shuffle_buffer")
        shuffle = parameters.boolean("shuffle")
        verifyChecksums = parameters.boolean("verify_checksums")
    }

    /// Opens the dataset's index and checks that every reader of every rank gets a shard: the dataset needs at
    /// least `world_size × replicas` shards (field cases H1, S7: an empty partition is a validation error, not
    /// a hang at run time).
    /// - Throws: ``ParameterError`` for `dataset` (missing, unfinished or empty dataset, too few shards).
    public func validate(replicas: Int) throws {
        let data: ShardDataset
        do { data = try ShardDataset(directory: dataset) } catch { throw ParameterError(key: "dataset", "\(error)") }
        let workers = worldSize * replicas
        let shards = data.index.shards.count
        guard shards >= workers else {
            throw ParameterError(key: "dataset", "\(dataset) has \(shards) shard\(shards == 1 ? "" : "s") for \(workers) readers (world_size \(worldSize) × \(replicas) replicas): reader \(shards) onwards would get no shard; write smaller shards (tiles_per_shard) or use fewer ranks or replicas")
        }
    }

    /// The shard positions (in `index.shards`) read by `worker` of `workers` in an epoch of `shardCount` shards.
    public static func assignment(shardCount: Int, seed: UInt64, epoch: Int, shuffle: Bool, worker: Int, workers: Int) -> [Int] {
        var order = Array(0..<shardCount)
        if shuffle {
            var rng = ShuffleGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15) ^ 0x5348_4152_44)
            order.shuffle(using: &rng)
        }
        return order.enumerated().filter { $0.offset % workers == worker }.map(\.element)
    }

    public func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        let data: ShardDataset
        do { data = try ShardDataset(directory: dataset) } catch { throw ShardReaderStageError(message: "\(error)") }
        let workers = worldSize * context.replicas
        let worker = rank * context.replicas + context.replica
        let shards = Self.assignment(shardCount: data.index.shards.count, seed: context.seed, epoch: epoch,
                                     shuffle: shuffle, worker: worker, workers: workers)
        guard !shards.isEmpty else {
            throw ShardReaderStageError(message: "rank \(rank) replica \(context.replica) has no shard to read: \(dataset) has \(data.index.shards.count) shards for \(workers) readers (world_size \(worldSize) × \(context.replicas) replicas); write smaller shards (tiles_per_shard) or use fewer ranks or replicas")
        }
        var rng = ShuffleGenerator(seed: context.seed ^ UInt64(truncatingIfNeeded: epoch &* 1_000_003 &+ worker &* 7919) ^ 0xB0FF)
        var buffer: [TileSample] = []
        buffer.reserveCapacity(max(0, shuffleBuffer))
        for number in shards {
            let reader: ShardReader
            do { reader = try data.openShard(number) } catch { throw ShardReaderStageError(message: "\(error)") }
            reader.checksumsOnRead = verifyChecksums
            let side = reader.geometry.width
            guard reader.geometry.height == side else {
                throw ShardReaderStageError(message: "\(reader.path): tiles of \(reader.geometry) are not square; shard-reader emits square tiles")
            }
            for index in 0..<reader.count {
                if context.isDraining { return }
                let tile: Tile
                do { tile = try reader.tile(at: index) } catch { throw ShardReaderStageError(message: "\(error)") }
                let sample = TileSample(slideID: tile.metadata.slideID, x: Int(tile.metadata.x), y: Int(tile.metadata.y),
                                        mpp: tile.metadata.mpp, tissueFraction: tile.metadata.tissueFraction,
                                        size: side, pixels: tile.pixels)
                if shuffleBuffer <= 1 {
                    try await out.send(sample)
                } else if buffer.count < shuffleBuffer {
                    buffer.append(sample)
                } else {
                    let pick = Int(rng.next() % UInt64(buffer.count))
                    let chosen = buffer[pick]
                    buffer[pick] = sample
                    try await out.send(chosen)
                }
                context.metrics.add("tiles")
            }
        }
        buffer.shuffle(using: &rng)
        for sample in buffer { try await out.send(sample) }
    }
}

/// A dataset that cannot be read, or a rank/replica with nothing to read.
public struct ShardReaderStageError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable generator for deterministic shuffles.
public struct ShuffleGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
