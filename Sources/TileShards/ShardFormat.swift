import Foundation

/// Constants of tile shard format v1 (docs/formats/tile-shards.md §2): magics, fixed sizes, codes, names.
public enum ShardFormat {
    /// Format version written in every shard header and in `index.json`.
    public static let version: UInt32 = 1
    /// File name extension of shards.
    public static let shardExtension = "dts"
    /// Name of the dataset index in a dataset folder.
    public static let indexFileName = "index.json"
    /// Name of the dataset writer's lock file in a dataset folder.
    public static let lockFileName = "writer.lock"
    /// `format` value of `index.json`.
    public static let indexFormatName = "distill-tile-shards"

    /// First 8 bytes of a shard: `"\x89DTS\r\n\x1a\n"`.
    public static let headerMagic: [UInt8] = [0x89, 0x44, 0x54, 0x53, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Last 8 bytes of a finalised shard: `"\x89DTE\r\n\x1a\n"`.
    public static let trailerMagic: [UInt8] = [0x89, 0x44, 0x54, 0x45, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Header size in bytes.
    public static let headerSize = 64
    /// Trailer size in bytes.
    public static let trailerSize = 32
    /// Footer header size in bytes.
    public static let footerHeaderSize = 48
    /// Footer entry size in bytes (one per tile).
    public static let entrySize = 32
    /// Tile metadata record size in bytes (one per tile).
    public static let recordSize = 32
    /// Longest slide id, in UTF-8 bytes.
    public static let maxSlideIDBytes = 65_535
    /// Most tiles one shard may hold (keeps the footer size within a u32).
    public static let maxTilesPerShard = 1 << 24

    /// `channels` code: RGB.
    static let channelsRGB: UInt8 = 3
    /// `sample_type` code: uint8.
    static let sampleTypeUInt8: UInt8 = 1
    /// `layout` code: interleaved, row-major, top row first.
    static let layoutInterleaved: UInt8 = 1
    /// `codec` code: zstd.
    static let codecZstd: UInt8 = 1

    /// The file name of shard `number`: `shard-000042.dts` (at least 6 digits).
    public static func shardFileName(_ number: Int) -> String {
        let digits = String(number)
        return "shard-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + "." + shardExtension
    }

    /// The shard number of a shard file name (`shard-000042.dts` → 42), or nil for any other name.
    public static func shardNumber(fileName: String) -> Int? {
        let prefix = "shard-", suffix = "." + shardExtension
        guard fileName.hasPrefix(prefix), fileName.hasSuffix(suffix) else { return nil }
        let digits = fileName.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count >= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The temporary name a file is written under before it is renamed: `NAME.tmp-PID`.
    public static func temporaryName(_ finalName: String, pid: Int32) -> String {
        "\(finalName).tmp-\(pid)"
    }

    /// Whether `fileName` is a writer's temporary file (`NAME.tmp-PID`); returns NAME and PID.
    public static func parseTemporaryName(_ fileName: String) -> (finalName: String, pid: Int32)? {
        guard let range = fileName.range(of: ".tmp-", options: .backwards) else { return nil }
        let digits = fileName[range.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let pid = Int32(digits) else { return nil }
        return (String(fileName[..<range.lowerBound]), pid)
    }
}
