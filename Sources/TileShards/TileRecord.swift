/// Encoding of the metadata section: the slide table and the 32-byte tile records
/// (docs/formats/tile-shards.md §2.4).
enum TileRecord {
    /// One record: slide index, tissue fraction, level-0 x and y (px), mpp (µm/px).
    static func encode(slide: UInt32, _ metadata: TileMetadata) -> [UInt8] {
        var out = ByteWriter(capacity: ShardFormat.recordSize)
        out.u32(slide)
        out.f32(metadata.tissueFraction)
        out.i64(metadata.x)
        out.i64(metadata.y)
        out.f64(metadata.mpp)
        return out.bytes
    }

    /// Decodes the record at `offset` of `records` (bounds checked by the caller).
    static func decode(_ records: ByteReader, at offset: Int, slideIDs: [String]) -> Result<TileMetadata, TileProblem> {
        let slide = Int(records.u32(offset))
        guard slide < slideIDs.count else {
            return .failure(.invalidMetadata(reason: "slide index \(slide), the shard has \(slideIDs.count) slides"))
        }
        return .success(TileMetadata(slideID: slideIDs[slide], x: records.i64(offset + 8), y: records.i64(offset + 16),
                                     mpp: records.f64(offset + 24), tissueFraction: records.f32(offset + 4)))
    }

    /// The slide table: u32 count, then each id as u32 length + UTF-8 bytes.
    static func encodeSlideTable(_ ids: [String]) -> [UInt8] {
        var out = ByteWriter()
        out.u32(UInt32(ids.count))
        for id in ids {
            out.u32(UInt32(id.utf8.count))
            out.raw(Array(id.utf8))
        }
        return out.bytes
    }

    /// Decodes a slide table of `expectedCount` ids that fills `bytes` exactly.
    static func decodeSlideTable(_ bytes: [UInt8], expectedCount: Int, path: String) throws(ShardError) -> [String] {
        func fail(_ reason: String) -> ShardError { .corrupt(path: path, section: .metadata, reason: "slide table: " + reason) }
        let reader = ByteReader(bytes)
        guard bytes.count >= 4 else { throw fail("\(bytes.count) bytes") }
        let count = Int(reader.u32(0))
        guard count == expectedCount else { throw fail("\(count) slides, footer says \(expectedCount)") }
        var ids: [String] = []
        var cursor = 4
        for index in 0..<count {
            guard bytes.count - cursor >= 4 else { throw fail("slide \(index) runs past the table") }
            let length = Int(reader.u32(cursor))
            cursor += 4
            guard length <= ShardFormat.maxSlideIDBytes, length <= bytes.count - cursor else {
                throw fail("slide \(index): length \(length) runs past the table")
            }
            guard let id = String(validating: bytes[cursor..<(cursor + length)], as: UTF8.self) else {
                throw fail("slide \(index) is not valid UTF-8")
            }
            ids.append(id)
            cursor += length
        }
        guard cursor == bytes.count else { throw fail("\(bytes.count - cursor) bytes left after \(count) slides") }
        return ids
    }
}
