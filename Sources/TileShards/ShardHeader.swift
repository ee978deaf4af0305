/// The 64-byte header at the start of a shard (docs/formats/tile-shards.md §2.1).
struct ShardHeader: Equatable {
    var geometry: TileGeometry
    var zstdLevel: Int32
    var dictionaryID: UInt32
    var dictionarySize: UInt32
    var dictionaryCRC: UInt32

    /// Offset of frame 0: the header plus the dictionary.
    var tilesOffset: Int64 { Int64(ShardFormat.headerSize) + Int64(dictionarySize) }

    func encoded() -> [UInt8] {
        var out = ByteWriter(capacity: ShardFormat.headerSize)
        out.raw(ShardFormat.headerMagic)
        out.u16(UInt16(ShardFormat.version))
        out.u16(UInt16(ShardFormat.headerSize))
        out.u32(UInt32(geometry.width))
        out.u32(UInt32(geometry.height))
        out.u8(ShardFormat.channelsRGB)
        out.u8(ShardFormat.sampleTypeUInt8)
        out.u8(ShardFormat.layoutInterleaved)
        out.u8(ShardFormat.codecZstd)
        out.i32(zstdLevel)
        out.u32(dictionaryID)
        out.u32(dictionarySize)
        out.u32(dictionaryCRC)
        out.u64(0)  // flags
        out.zeros(12)  // reserved
        out.u32(CRC32.checksum(of: out.bytes))
        return out.bytes
    }

    /// Checks the magic and version only (the first checks on open, before the layout is trusted).
    /// `bytes` holds the first min(64, file size) bytes.
    static func checkIdentity(_ bytes: [UInt8], path: String, fileBytes: Int64) throws(ShardError) {
        let checked = min(ShardFormat.headerMagic.count, bytes.count)
        guard bytes.prefix(checked).elementsEqual(ShardFormat.headerMagic.prefix(checked)) else {
            throw .notAShard(path: path)
        }
        guard bytes.count >= ShardFormat.headerSize else { throw .unfinalized(path: path, fileBytes: fileBytes) }
        let reader = ByteReader(bytes)
        let version = reader.u16(8)
        if UInt32(version) != ShardFormat.version {
            if reader.crc32(0, 60) == reader.u32(60) {
                throw .unsupportedVersion(path: path, version: Int(version))
            }
            throw .corrupt(path: path, section: .header, reason: "checksum mismatch (version field reads \(version))")
        }
    }

    /// Decodes and checks a header whose identity was checked (`checkIdentity`).
    static func decode(_ bytes: [UInt8], path: String) throws(ShardError) -> ShardHeader {
        let reader = ByteReader(bytes)
        guard reader.crc32(0, 60) == reader.u32(60) else {
            throw .corrupt(path: path, section: .header, reason: "checksum mismatch")
        }
        func fail(_ reason: String) -> ShardError { .corrupt(path: path, section: .header, reason: reason) }
        guard Int(reader.u16(10)) == ShardFormat.headerSize else { throw fail("header size \(reader.u16(10)), expected 64") }
        guard reader.u8(20) == ShardFormat.channelsRGB else { throw fail("\(reader.u8(20)) channels (format v1 has 3)") }
        guard reader.u8(21) == ShardFormat.sampleTypeUInt8 else { throw fail("sample type \(reader.u8(21)) (format v1 has 1 = uint8)") }
        guard reader.u8(22) == ShardFormat.layoutInterleaved else { throw fail("layout \(reader.u8(22)) (format v1 has 1 = interleaved)") }
        guard reader.u8(23) == ShardFormat.codecZstd else { throw fail("codec \(reader.u8(23)) (format v1 has 1 = zstd)") }
        guard reader.u64(40) == 0 else { throw fail("unknown flags \(reader.u64(40))") }
        let geometry = TileGeometry(width: Int(reader.u32(12)), height: Int(reader.u32(16)))
        do throws(ShardError) {
            try geometry.validate()
        } catch {
            throw fail(error.detail)
        }
        let header = ShardHeader(geometry: geometry, zstdLevel: reader.i32(24), dictionaryID: reader.u32(28),
                                 dictionarySize: reader.u32(32), dictionaryCRC: reader.u32(36))
        guard (header.dictionaryID == 0) == (header.dictionarySize == 0) else {
            throw fail("dictionary id \(header.dictionaryID) with dictionary size \(header.dictionarySize)")
        }
        return header
    }
}
