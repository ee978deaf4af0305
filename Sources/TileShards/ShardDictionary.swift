import CZstd

/// A zstd dictionary for tile frames, trained on sample tiles (`ZDICT_trainFromBuffer`) or loaded from
/// bytes. Every shard written with it stores a copy (docs/formats/tile-shards.md §2.2).
public struct ShardDictionary: Sendable, Equatable {
    /// The dictionary in zstd's format (magic `37 A4 30 EC`).
    public let bytes: [UInt8]
    /// Its id (`ZDICT_getDictID`), never 0; frames compressed with it carry this id.
    public let id: UInt32

    /// Wraps dictionary bytes.
    /// - Throws: `ShardError.compression` when `bytes` is not a zstd dictionary with a non-zero id.
    public init(bytes: [UInt8]) throws(ShardError) {
        let id = bytes.withUnsafeBytes { ZDICT_getDictID($0.baseAddress, $0.count) }
        guard bytes.count >= 8, bytes[0..<4] == [0x37, 0xA4, 0x30, 0xEC], id != 0 else {
            throw .compression(path: "", reason: "not a zstd dictionary (\(bytes.count) bytes, id \(id))")
        }
        self.bytes = bytes
        self.id = id
    }

    /// Trains a dictionary on sample tiles with `ZDICT_trainFromBuffer` (zstd's fastCover defaults).
    ///
    /// zstd's guidance: about 100× as many sample bytes as the dictionary's capacity; at least a few
    /// dozen samples.
    /// - Parameters:
    ///   - samples: raw RGB8 tiles (any sizes; typically the dataset's geometry).
    ///   - capacity: the dictionary's maximum size in bytes (default 112,640 = 110 KiB, zstd's default).
    /// - Throws: `ShardError.compression` with zstd's message when training fails (e.g. too few samples).
    public static func train(samples: [[UInt8]], capacity: Int = 112_640) throws(ShardError) -> ShardDictionary {
        let usable = samples.filter { !$0.isEmpty }
        guard usable.count >= 8 else {
            throw .compression(path: "", reason: "dictionary training needs at least 8 non-empty samples, got \(usable.count)")
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(usable.reduce(0) { $0 + $1.count })
        for sample in usable { joined.append(contentsOf: sample) }
        let sizes = usable.map { Int($0.count) }
        var buffer = [UInt8](repeating: 0, count: max(capacity, 256))
        let result = buffer.withUnsafeMutableBytes { dictionary in
            joined.withUnsafeBytes { samplesBuffer in
                sizes.withUnsafeBufferPointer { sizesBuffer in
                    ZDICT_trainFromBuffer(dictionary.baseAddress, dictionary.count, samplesBuffer.baseAddress,
                                          sizesBuffer.baseAddress, UInt32(sizesBuffer.count))
                }
            }
        }
        if ZDICT_isError(result) != 0 {
            throw .compression(path: "", reason: "dictionary training failed: \(String(cString: ZDICT_getErrorName(result)))")
        }
        return try ShardDictionary(bytes: Array(buffer[0..<result]))
    }
}
