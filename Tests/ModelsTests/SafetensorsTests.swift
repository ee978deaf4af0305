import Compute
import Foundation
import Testing
@testable import Models

/// The safetensors reader and writer: round trips in every float dtype, and each kind of malformed header
/// rejected with the file and tensor named.
@Suite struct SafetensorsTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("distill-\(UUID().uuidString).safetensors").path
    }

    /// A file of `header` JSON (padded) followed by `dataBytes` zero bytes.
    func writeRaw(header: String, dataBytes: Int) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        let json = Array(header.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        bytes += json + [UInt8](repeating: 0, count: dataBytes)
        let path = temporaryPath()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func roundTripInEveryFloatType() throws {
        let f32 = Tensor(shape: [2, 3], values: [1, -2.5, 3.25, 0, 1e-3, -7])
        // 1.0, −2.0, 0.5 in bf16 and f16 bit patterns.
        let bf16 = Tensor(shape: [3], dtype: .bf16)
        let f16 = Tensor(shape: [3], dtype: .f16)
        for (index, (b, h)) in [(UInt16(0x3F80), UInt16(0x3C00)), (0xC000, 0xC000), (0x3F00, 0x3800)].enumerated() {
            bf16.rawPointer.assumingMemoryBound(to: UInt16.self)[index] = b
            f16.rawPointer.assumingMemoryBound(to: UInt16.self)[index] = h
        }
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsWriter.write([("weights", f32), ("b", bf16), ("h", f16), ("empty", Tensor(shape: [0, 4]))],
                                    metadata: ["format": "pt"], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.names == ["b", "empty", "h", "weights"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor("weights").scalars() == f32.scalars())
        #expect(try file.tensor("weights").shape == [2, 3])
        #expect(try file.tensor("b").scalars() == [1, -2, 0.5])
        #expect(try file.tensor("h").scalars() == [1, -2, 0.5])
        #expect(try file.entry("b").dtype == .bf16 && file.entry("h").dtype == .f16)
        #expect(try file.tensor("empty").count == 0)
        // Header length is a multiple of 8, so the data is 8-byte aligned.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8 == 0)
        #expect(throws: SafetensorsError.missingTensor(path: path, key: "nope")) { try file.tensor("nope") }
    }

    /// Array-slice payloads: F32 parts of a longer buffer and F64 values (also at an offset that is not 8-byte
    /// aligned) round-trip bit for bit; a dtype other than the one asked for is named.
    @Test func sliceAndFloat64PayloadsRoundTrip() throws {
        let doubles: [Double] = [1, -0.0, .pi, 1e-300, .greatestFiniteMagnitude, -.infinity, 0x1p-1074]
        let floats: [Float] = [9, 1, 2, 3, 4, 5, 6, 9]
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsWriter.write(entries: [("part", .float32(floats[1..<7], shape: [2, 3])), ("sums", .float64(doubles[...], shape: [7])),
                                              ("odd", .float32(floats[0..<1], shape: [1])), ("tail", .float64(doubles[2..<4], shape: [2]))],
                                    to: path)
        let file = try SafetensorsFile(path: path)
        #expect(try file.entry("sums").dtype == .f64 && file.entry("sums").shape == [7])
        #expect(try file.entry("tail").byteRange == 84..<100, "F64 data after an odd F32 tensor starts unaligned")
        #expect(try file.doubles("sums").map(\.bitPattern) == doubles.map(\.bitPattern))
        #expect(try file.doubles("tail").map(\.bitPattern) == doubles[2..<4].map(\.bitPattern))
        #expect(try file.tensor("part").scalars() == [1, 2, 3, 4, 5, 6] && file.tensor("part").shape == [2, 3])
        #expect(throws: SafetensorsError.dtypeMismatch(path: path, key: "part", dtype: "F32", expected: "F64")) { try file.doubles("part") }
        #expect(throws: SafetensorsError.unsupportedDType(path: path, key: "sums", dtype: "F64")) { try file.tensor("sums") }
        // The little-endian IEEE 754 bytes of π as the reference format stores them.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let data = 8 + Int(raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect(Array(raw[(data + 24 + 16)..<(data + 24 + 24)]) == [0x18, 0x2D, 0x44, 0x54, 0xFB, 0x21, 0x09, 0x40])

        let wrong = temporaryPath()
        #expect(throws: SafetensorsError.cannotWrite(path: wrong, key: "part", reason: "5 values for shape [2, 3] (6)")) {
            try SafetensorsWriter.write(entries: [("part", .float32(floats[1..<6], shape: [2, 3]))], to: wrong)
        }
        #expect(!FileManager.default.fileExists(atPath: wrong))
    }

    @Test func writerRefusesDuplicatesAndLeavesNoTemporaryFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("distill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.safetensors").path
        let t = Tensor(shape: [1], values: [1])
        #expect(throws: SafetensorsError.cannotWrite(path: path, key: "a", reason: "duplicate name")) {
            try SafetensorsWriter.write([("a", t), ("a", t)], to: path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func malformedHeadersAreRejected() throws {
        let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let cases: [(String, Int, (String) -> SafetensorsError)] = [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, 8, { .badHeader(path: $0, reason: "the header is not valid JSON") }),
            (#"[1,2]"#, 0, { .badHeader(path: $0, reason: "the header is not a JSON object") }),
            (#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, 8, { .badEntry(path: $0, key: "a", reason: "unknown dtype F33") }),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8,
             { .badEntry(path: $0, key: "a", reason: "shape [3] of F32 needs 12 bytes, data_offsets give 8") }),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4,
             { .badEntry(path: $0, key: "a", reason: "data_offsets [0, 8] outside the 4-byte data section") }),
            (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, 8,
             { .badEntry(path: $0, key: "a", reason: "shape is not a list of non-negative integers") }),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8,
             { .badEntry(path: $0, key: "b", reason: "data_offsets 4..<8 overlaps the previous tensor (previous ends at 8)") }),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, 12,
             { .badEntry(path: $0, key: "a", reason: "data_offsets 4..<12 leaves a hole before it (previous ends at 0)") }),
            (good, 12, { .badHeader(path: $0, reason: "the tensors cover 8 bytes of a 12-byte data section") }),
        ]
        for (header, dataBytes, expected) in cases {
            let path = try writeRaw(header: header, dataBytes: dataBytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: expected(path)) { try SafetensorsFile(path: path) }
        }
        // A header length beyond the file, and a file shorter than 8 bytes.
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data([200, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D]).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafetensorsError.badHeader(path: path, reason: "header length 200 exceeds the file (10 bytes)")) {
            try SafetensorsFile(path: path)
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafetensorsError.badHeader(path: path, reason: "3 bytes, shorter than the 8-byte header length")) {
            try SafetensorsFile(path: path)
        }
        #expect(throws: SafetensorsError.io(path: path + ".missing", operation: "open", errno: ENOENT)) {
            try SafetensorsFile(path: path + ".missing")
        }
    }

    @Test func nonFloatTensorsAreReadableAsBytesOnly() throws {
        let path = try writeRaw(header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafetensorsFile(path: path)
        #expect(try file.bytes("ids").count == 8)
        #expect(throws: SafetensorsError.unsupportedDType(path: path, key: "ids", dtype: "I64")) { try file.tensor("ids") }
    }
}
