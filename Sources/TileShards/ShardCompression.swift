import CZstd

/// How a writer compresses tiles: zstd level, optional dictionary, and when literals are entropy-coded.
public struct ShardCompression: Sendable, Equatable {
    /// zstd compression level (`ZSTD_minCLevel()`…`ZSTD_maxCLevel()`, i.e. −131072…22); default 3.
    public var level: Int32
    /// A zstd dictionary every frame is compressed with (stored in each shard); nil for none.
    public var dictionary: ShardDictionary?
    /// Smallest saving (fraction of raw bytes, 0…1) that zstd's entropy coding of literals must promise,
    /// judged from the tile's order-0 byte entropy, for it to be used; below it literals are stored as
    /// they are (`ZSTD_ps_disable`), which decodes several times faster on noisy tissue that zstd can
    /// hardly compress. Default 0.10; 0 always entropy-codes (plain zstd), 1 never does.
    public var minimumEntropySaving: Double

    /// Level 3, no dictionary, entropy coding when it promises ≥ 10 % saving.
    public init(level: Int32 = 3, dictionary: ShardDictionary? = nil, minimumEntropySaving: Double = 0.10) {
        self.level = level
        self.dictionary = dictionary
        self.minimumEntropySaving = minimumEntropySaving
    }

    /// Throws `ShardError.compression` if the level is outside zstd's range.
    func validate(path: String) throws(ShardError) {
        guard level >= ZSTD_minCLevel(), level <= ZSTD_maxCLevel() else {
            throw .compression(path: path, reason: "level \(level) is outside \(ZSTD_minCLevel())…\(ZSTD_maxCLevel())")
        }
        guard minimumEntropySaving >= 0, minimumEntropySaving <= 1 else {
            throw .compression(path: path, reason: "minimumEntropySaving \(minimumEntropySaving) is not in 0…1")
        }
    }
}
