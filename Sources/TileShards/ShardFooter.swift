/// Where one tile's frame is and its checksums: one 32-byte footer entry (docs/formats/tile-shards.md §2.5).
struct FooterEntry: Equatable {
    /// Offset of the zstd frame in the file, bytes.
    var offset: Int64
    /// Bytes of the frame.
    var storedSize: Int
    /// Bytes of the decoded pixels.
    var rawSize: Int
    var pixelsCRC: UInt32
    var frameCRC: UInt32
    var recordCRC: UInt32
}

/// The footer: a 48-byte footer header and one entry per tile (docs/formats/tile-shards.md §2.5).
struct ShardFooter: Equatable {
    var recordSize: Int
    var slideCount: Int
    var metadataOffset: Int64
    var slideTableSize: Int64
    var slideTableCRC: UInt32
    var tilesOffset: Int64
    var entries: [FooterEntry]

    /// Offset of record 0.
    var recordsOffset: Int64 { metadataOffset + slideTableSize }

    /// Bytes of the encoded footer.
    var size: Int { ShardFormat.footerHeaderSize + ShardFormat.entrySize * entries.count }

    func encoded() -> [UInt8] {
        var out = ByteWriter(capacity: size)
        out.u32(UInt32(entries.count))
        out.u32(UInt32(ShardFormat.entrySize))
        out.u32(UInt32(recordSize))
        out.u32(UInt32(slideCount))
        out.u64(UInt64(metadataOffset))
        out.u64(UInt64(slideTableSize))
        out.u32(slideTableCRC)
        out.u32(0)
        out.u64(UInt64(tilesOffset))
        for entry in entries {
            out.u64(UInt64(entry.offset))
            out.u32(UInt32(entry.storedSize))
            out.u32(UInt32(entry.rawSize))
            out.u32(entry.pixelsCRC)
            out.u32(entry.frameCRC)
            out.u32(entry.recordCRC)
            out.u32(0)
        }
        return out.bytes
    }

    /// Decodes footer bytes whose CRC matched the trailer's, and checks their internal consistency and
    /// the layout against the header: frames back to back from the tile region's start to the metadata,
    /// raw sizes equal to the geometry's, metadata and records ending where the footer starts.
    static func decode(_ bytes: [UInt8], trailer: ShardTrailer, header: ShardHeader, path: String) throws(ShardError) -> ShardFooter {
        func fail(_ reason: String) -> ShardError { .corrupt(path: path, section: .footer, reason: reason) }
        let reader = ByteReader(bytes)
        let count = Int(reader.u32(0))
        guard count == Int(trailer.tileCount) else { throw fail("tile count \(count), trailer says \(trailer.tileCount)") }
        guard Int(reader.u32(4)) == ShardFormat.entrySize else { throw fail("entry size \(reader.u32(4)), expected 32") }
        let recordSize = Int(reader.u32(8))
        guard recordSize >= ShardFormat.recordSize else { throw fail("record size \(recordSize) is below 32") }
        guard bytes.count == ShardFormat.footerHeaderSize + ShardFormat.entrySize * count else {
            throw fail("\(bytes.count) bytes for \(count) tiles")
        }
        let footerOffset = trailer.footerOffset  // ≤ file size, so every sum below fits comfortably
        let metadataOffset = reader.u64(16), slideTableSize = reader.u64(24), tilesOffset = reader.u64(40)
        guard tilesOffset == UInt64(header.tilesOffset) else {
            throw fail("tiles start at \(tilesOffset), but header and dictionary end at \(header.tilesOffset)")
        }
        guard metadataOffset >= tilesOffset, metadataOffset <= footerOffset,
              slideTableSize >= 4, slideTableSize <= footerOffset - metadataOffset,
              footerOffset - metadataOffset - slideTableSize == UInt64(recordSize) * UInt64(count) else {
            throw fail("metadata at \(metadataOffset) (slide table \(slideTableSize) bytes, \(count) records of \(recordSize)) does not end at the footer (\(footerOffset))")
        }
        var entries: [FooterEntry] = []
        entries.reserveCapacity(count)
        var cursor = tilesOffset
        let rawSize = header.geometry.rawBytes
        for index in 0..<count {
            let base = ShardFormat.footerHeaderSize + ShardFormat.entrySize * index
            let offset = reader.u64(base), stored = reader.u32(base + 8), raw = reader.u32(base + 12)
            guard offset == cursor else {
                throw fail("tile \(index): frame at \(offset), expected \(cursor) (frames are back to back)")
            }
            guard stored > 0, UInt64(stored) <= metadataOffset - cursor else {
                throw fail("tile \(index): frame of \(stored) bytes at \(offset) runs past the tile region (ends at \(metadataOffset))")
            }
            guard Int(raw) == rawSize else { throw fail("tile \(index): raw size \(raw), geometry says \(rawSize)") }
            entries.append(FooterEntry(offset: Int64(offset), storedSize: Int(stored), rawSize: Int(raw),
                                       pixelsCRC: reader.u32(base + 16), frameCRC: reader.u32(base + 20),
                                       recordCRC: reader.u32(base + 24)))
            cursor += UInt64(stored)
        }
        guard cursor == metadataOffset else { throw fail("frames end at \(cursor), metadata starts at \(metadataOffset)") }
        return ShardFooter(recordSize: recordSize, slideCount: Int(reader.u32(12)), metadataOffset: Int64(metadataOffset),
                           slideTableSize: Int64(slideTableSize), slideTableCRC: reader.u32(32),
                           tilesOffset: Int64(tilesOffset), entries: entries)
    }
}
