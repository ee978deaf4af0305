import Foundation
import Testing
@testable import TileShards

/// Truncated, unfinalised and damaged shards give typed errors naming the file, the section and the tile;
/// nothing crashes and no damaged tile is delivered (field cases S1, S2, S6).
@Suite struct CorruptionTests {
    let geometry = TileGeometry(width: 12, height: 10)

    /// Byte ranges of a small shard's sections, from its own footer.
    struct Layout {
        var size: Int
        var dictionary: Range<Int>
        var frames: [Range<Int>]
        var slideTable: Range<Int>
        var records: [Range<Int>]
        var footer: Range<Int>
        var trailer: Range<Int>
    }

    func layout(_ path: String) throws -> Layout {
        let reader = try ShardReader(path: path)
        let footer = reader.footer
        let size = Int(reader.fileBytes)
        let recordsStart = Int(footer.recordsOffset)
        let footerStart = recordsStart + footer.recordSize * reader.count
        return Layout(size: size, dictionary: ShardFormat.headerSize..<Int(footer.tilesOffset),
                      frames: footer.entries.map { Int($0.offset)..<(Int($0.offset) + $0.storedSize) },
                      slideTable: Int(footer.metadataOffset)..<recordsStart,
                      records: (0..<reader.count).map { (recordsStart + $0 * 32)..<(recordsStart + $0 * 32 + 32) },
                      footer: footerStart..<(size - 32), trailer: (size - 32)..<size)
    }

    /// A shard of 3 tiles from 2 slides; with a (small) trained dictionary when asked.
    func makeShard(_ directory: String, dictionary: Bool) throws -> (path: String, tiles: [[UInt8]]) {
        let path = directory + "/shard-000000.dts"
        var compression = ShardCompression(minimumEntropySaving: 0)
        if dictionary {
            compression.dictionary = try ShardDictionary.train(samples: Fixtures.tiles(100, geometry: geometry), capacity: 1_024)
        }
        let tiles = Fixtures.tiles(3, geometry: geometry)
        try Fixtures.writeShard(path, geometry: geometry, tiles: tiles,
                                metadata: [Fixtures.metadata("TCGA.A", 0), Fixtures.metadata("B", 12), Fixtures.metadata("TCGA.A", 24)],
                                compression: compression)
        return (path, tiles)
    }

    /// S1/S2: a shard cut at every byte (inside the header, dictionary, tiles, metadata, footer and
    /// trailer) is rejected as a whole with `.unfinalized`; none of its tiles is read.
    @Test(arguments: [false, true])
    func truncationAtEveryByteIsUnfinalized(dictionary: Bool) throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let (path, _) = try makeShard(directory, dictionary: dictionary)
        let bytes = Fixtures.read(path)
        let sections = try layout(path)
        var classes = Set<String>()
        let cut = directory + "/cut.dts"
        for length in 0..<bytes.count {
            Fixtures.write(Array(bytes[0..<length]), to: cut)
            let error = #expect(throws: ShardError.self) { try ShardReader(path: cut) }
            #expect(error == .unfinalized(path: cut, fileBytes: Int64(length)), "cut at \(length)")
            classes.insert(length < 64 ? "header" : sections.dictionary.contains(length) ? "dictionary"
                : sections.frames.contains { $0.contains(length) } ? "tiles"
                : (sections.slideTable.contains(length) || sections.records.contains { $0.contains(length) }) ? "metadata"
                : sections.footer.contains(length) ? "footer" : "trailer")
        }
        #expect(classes == (dictionary ? ["header", "dictionary", "tiles", "metadata", "footer", "trailer"]
                                       : ["header", "tiles", "metadata", "footer", "trailer"]))
        // The shard with one byte appended is not finalised either (its last bytes are not a trailer).
        Fixtures.write(bytes + [0], to: cut)
        #expect(throws: ShardError.unfinalized(path: cut, fileBytes: Int64(bytes.count + 1))) { try ShardReader(path: cut) }
    }

    /// Every single damaged byte is detected and located: in a frame → that tile (verify, and any read
    /// of it through zstd's checksum); in a record → that tile's metadata; elsewhere → the section, at open.
    @Test(arguments: [false, true])
    func everyFlippedByteIsDetectedAndLocated(dictionary: Bool) throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let (path, tiles) = try makeShard(directory, dictionary: dictionary)
        let bytes = Fixtures.read(path)
        let sections = try layout(path)
        let damaged = directory + "/damaged.dts"
        for offset in 0..<bytes.count {
            var copy = bytes
            copy[offset] ^= 0xFF
            Fixtures.write(copy, to: damaged)
            if let tile = sections.frames.firstIndex(where: { $0.contains(offset) }) {
                let reader = try ShardReader(path: damaged)
                #expect(reader.verify() == [.tile(path: damaged, index: tile, problem: .frameChecksumMismatch)], "byte \(offset)")
                // A plain read (no CRC check) is still caught by zstd's XXH64 content checksum.
                let error = #expect(throws: ShardError.self, "byte \(offset)") { try reader.tile(at: tile) }
                #expect(error?.tileIndex == tile)
                for other in 0..<3 where other != tile { #expect(try reader.tile(at: other).pixels == tiles[other]) }
            } else if let tile = sections.records.firstIndex(where: { $0.contains(offset) }) {
                let reader = try ShardReader(path: damaged)
                let problem = ShardError.tile(path: damaged, index: tile, problem: .metadataChecksumMismatch)
                #expect(reader.verify() == [problem], "byte \(offset)")
                #expect(throws: problem) { try reader.tile(at: tile) }
            } else {
                let error = #expect(throws: ShardError.self, "byte \(offset)") { try ShardReader(path: damaged) }
                let section: ShardSection? = switch error {
                case .corrupt(_, let section, _): section
                case .notAShard, .unsupportedVersion: .header
                case .unfinalized: .trailer
                default: nil
                }
                let expected: ShardSection = offset < 64 ? .header : sections.dictionary.contains(offset) ? .dictionary
                    : sections.slideTable.contains(offset) ? .metadata : sections.footer.contains(offset) ? .footer : .trailer
                #expect(section == expected, "byte \(offset): \(String(describing: error))")
                #expect(error?.path == damaged)
            }
        }
    }

    /// S6: a dataset with one flipped byte fails verify, which names the shard and the tile.
    @Test func verifyNamesShardAndTile() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let writer = try DatasetWriter(directory: directory, options: .init(geometry: geometry, maxTilesPerShard: 20))
        for (i, pixels) in Fixtures.tiles(60, geometry: geometry).enumerated() {
            try writer.append(pixels, metadata: Fixtures.metadata("TCGA-\(i / 25).x", Int64(i)))
        }
        try writer.finish()
        #expect(DatasetVerifier.verify(directory: directory).isIntact)

        let shard = directory + "/shard-000001.dts"
        let frame = try ShardReader(path: shard).footer.entries[17]
        Fixtures.flipByte(shard, at: Int(frame.offset) + frame.storedSize / 2)
        let report = DatasetVerifier.verify(directory: directory)
        #expect(report.lines == ["shard-000001.dts: tile 17: stored frame checksum mismatch"])
        #expect(report.intactTiles == 59)
        #expect(report.tiles == 60)
    }

    /// The pixel CRC catches pixels that decode cleanly but differ from what was written (a writer or
    /// codec bug): simulated by changing the footer's pixel CRC and resealing footer and trailer.
    @Test func pixelChecksumMismatchIsNamed() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let (path, tiles) = try makeShard(directory, dictionary: false)
        try Surgery.editFooter(path) { footer in
            let entry = ShardFormat.footerHeaderSize + 2 * ShardFormat.entrySize
            footer[entry + 16] ^= 0x01  // pixels_crc32 of tile 2
        }
        let reader = try ShardReader(path: path)
        #expect(reader.verify() == [.tile(path: path, index: 2, problem: .pixelChecksumMismatch)])
        #expect(try reader.tile(at: 2).pixels == tiles[2])  // plain reads trust zstd's own checksum
        reader.checksumsOnRead = true
        #expect(throws: ShardError.tile(path: path, index: 2, problem: .pixelChecksumMismatch)) { try reader.tile(at: 2) }
        let report = DatasetVerifier.verify(directory: directory)
        // The folder holds a shard but no index: not a dataset.
        #expect(report.lines.count == 1 && report.lines[0].hasPrefix(directory + ": no index.json; 1 shard(s) never committed"))
    }

    /// A frame damaged and its frame CRC "fixed" still fails on read: zstd's XXH64 content checksum.
    @Test func zstdChecksumCatchesDamageTheFooterMisses() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let (path, _) = try makeShard(directory, dictionary: false)
        let entry = try ShardReader(path: path).footer.entries[1]
        var bytes = Fixtures.read(path)
        let position = Int(entry.offset) + entry.storedSize - 8  // inside the last block's data
        bytes[position] ^= 0x10
        Fixtures.write(bytes, to: path)
        let newCRC = CRC32.checksum(of: Array(bytes[Int(entry.offset)..<(Int(entry.offset) + entry.storedSize)]))
        try Surgery.editFooter(path) { footer in
            let base = ShardFormat.footerHeaderSize + 1 * ShardFormat.entrySize + 20
            withUnsafeBytes(of: newCRC.littleEndian) { for i in 0..<4 { footer[base + i] = $0[i] } }
        }
        let reader = try ShardReader(path: path)
        let error = #expect(throws: ShardError.self) { try reader.tile(at: 1) }
        guard case .tile(_, 1, .decodeFailed(let reason))? = error else {
            Issue.record("expected a decode failure of tile 1, got \(String(describing: error))")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test func notAShardAndFutureVersion() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { Fixtures.remove(directory) }
        let other = directory + "/other.dts"
        Fixtures.write(Array("PK\u{3}\u{4} this is a zip file, not a shard".utf8), to: other)
        #expect(throws: ShardError.notAShard(path: other)) { try ShardReader(path: other) }
        #expect(throws: ShardError.io(path: directory + "/missing.dts", operation: "open", errno: ENOENT)) {
            try ShardReader(path: directory + "/missing.dts")
        }
        let (path, _) = try makeShard(directory, dictionary: false)
        var bytes = Fixtures.read(path)
        bytes[8] = 2  // version 2 with a valid header CRC
        let crc = CRC32.checksum(of: Array(bytes[0..<60]))
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[60 + i] = $0[i] } }
        Fixtures.write(bytes, to: path)
        #expect(throws: ShardError.unsupportedVersion(path: path, version: 2)) { try ShardReader(path: path) }
    }

    @Test func errorMessagesNameFileAndTile() {
        let error = ShardError.tile(path: "/d/shard-000003.dts", index: 17, problem: .pixelChecksumMismatch)
        #expect(error.description == "/d/shard-000003.dts: tile 17: pixel checksum mismatch")
        #expect(error.detail == "tile 17: pixel checksum mismatch")
        #expect(ShardError.unfinalized(path: "/d/x.dts", fileBytes: 10).description
            == "/d/x.dts: truncated or never finalised: no valid trailer at the end of its 10 bytes")
        #expect(ShardError.corrupt(path: "/d/x.dts", section: .footer, reason: "checksum mismatch").description
            == "/d/x.dts: footer: checksum mismatch")
    }
}

/// Byte surgery on finished shards, for tests that need a consistent-looking but wrong shard.
enum Surgery {
    /// Lets `edit` change the footer bytes, then recomputes the trailer's footer CRC and its own CRC.
    static func editFooter(_ path: String, _ edit: (inout [UInt8]) -> Void) throws {
        var bytes = Fixtures.read(path)
        let trailerStart = bytes.count - 32
        let reader = ByteReader(Array(bytes[trailerStart...]))
        let footerStart = Int(reader.u64(0)), footerSize = Int(reader.u32(8))
        var footer = Array(bytes[footerStart..<(footerStart + footerSize)])
        edit(&footer)
        bytes.replaceSubrange(footerStart..<(footerStart + footerSize), with: footer)
        let footerCRC = CRC32.checksum(of: footer)
        withUnsafeBytes(of: footerCRC.littleEndian) { for i in 0..<4 { bytes[trailerStart + 16 + i] = $0[i] } }
        let trailerCRC = CRC32.checksum(of: Array(bytes[trailerStart..<(trailerStart + 20)]))
        withUnsafeBytes(of: trailerCRC.littleEndian) { for i in 0..<4 { bytes[trailerStart + 20 + i] = $0[i] } }
        Fixtures.write(bytes, to: path)
    }
}
