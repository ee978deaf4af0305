/// The 32-byte trailer at the very end of a finalised shard (docs/formats/tile-shards.md §2.6).
struct ShardTrailer: Equatable {
    var footerOffset: UInt64
    var footerSize: UInt32
    var tileCount: UInt32
    var footerCRC: UInt32

    func encoded() -> [UInt8] {
        var out = ByteWriter(capacity: ShardFormat.trailerSize)
        out.u64(footerOffset)
        out.u32(footerSize)
        out.u32(tileCount)
        out.u32(footerCRC)
        out.u32(CRC32.checksum(of: out.bytes))
        out.raw(ShardFormat.trailerMagic)
        return out.bytes
    }

    /// Decodes the last 32 bytes of a file of `fileBytes` bytes and checks magic, CRC and that the footer
    /// it points to ends exactly where the trailer starts.
    static func decode(_ bytes: [UInt8], path: String, fileBytes: Int64) throws(ShardError) -> ShardTrailer {
        guard bytes.count == ShardFormat.trailerSize, bytes[24..<32].elementsEqual(ShardFormat.trailerMagic) else {
            throw .unfinalized(path: path, fileBytes: fileBytes)
        }
        let reader = ByteReader(bytes)
        guard reader.crc32(0, 20) == reader.u32(20) else {
            throw .corrupt(path: path, section: .trailer, reason: "checksum mismatch")
        }
        let trailer = ShardTrailer(footerOffset: reader.u64(0), footerSize: reader.u32(8), tileCount: reader.u32(12),
                                   footerCRC: reader.u32(16))
        let footerEnd = UInt64(fileBytes) - UInt64(ShardFormat.trailerSize)
        guard trailer.footerOffset <= footerEnd, footerEnd - trailer.footerOffset == UInt64(trailer.footerSize),
              trailer.footerOffset >= UInt64(ShardFormat.headerSize),
              Int(trailer.footerSize) >= ShardFormat.footerHeaderSize else {
            throw .corrupt(path: path, section: .trailer,
                           reason: "footer at \(trailer.footerOffset) of \(trailer.footerSize) bytes does not end at \(footerEnd)")
        }
        return trailer
    }
}
