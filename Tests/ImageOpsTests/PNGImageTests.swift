import Foundation
import Testing

@testable import ImageOps
import TestSupport

/// `../shared/data` next to the package root.
private let sharedData: URL = PackageRoot.shared.appendingPathComponent("data")

/// A fresh empty directory under the system temporary directory.
private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("png-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// FNV-1a 64 of bytes (the reference values below were computed with the same hash by an independent pure
/// Python PNG decoder: zlib + PNG filter reconstruction, no libpng).
private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}

/// Reads a PNG made by `PNGTestEncoder`.
private func decode(_ data: Data) throws -> RGBImage {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("fixture.png")
    try data.write(to: url)
    return try PNGImage.read(path: url.path)
}

@Suite("PNG read and write (libpng simplified API)")
struct PNGImageTests {
    @Test("round trip: write then read gives the same pixels (odd sizes, 1×1)")
    func roundTrip() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (width, height) in [(37, 23), (1, 1), (256, 3)] {
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for index in pixels.indices { pixels[index] = UInt8((index * 7919 + index / 3) & 0xFF) }
            let image = RGBImage(width: width, height: height, pixels: pixels)
            let path = directory.appendingPathComponent("round-\(width)x\(height).png").path
            try PNGImage.write(image, to: path)
            #expect(try PNGImage.read(path: path) == image)
        }
    }

    @Test("write is atomic: replaces an existing file, leaves no temporary file")
    func atomicReplace() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("qc.png").path
        let first = RGBImage(width: 4, height: 4, fill: (10, 20, 30))
        let second = RGBImage(width: 5, height: 2, fill: (200, 100, 0))
        try PNGImage.write(first, to: path)
        try PNGImage.write(second, to: path)
        #expect(try PNGImage.read(path: path) == second)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["qc.png"])
    }

    @Test("write errors name the file and leave nothing behind")
    func writeErrors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("no-such-dir/qc.png").path
        #expect {
            try PNGImage.write(RGBImage(width: 2, height: 2), to: missing)
        } throws: { error in
            guard case PNGError.cannotWrite(let path, _) = error else { return false }
            return path == missing && "\(error)".contains(missing)
        }
        let empty = directory.appendingPathComponent("empty.png").path
        #expect(throws: PNGError.self) { try PNGImage.write(RGBImage(width: 0, height: 5), to: empty) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("read errors name the file: missing, not a PNG, truncated")
    func readErrors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.png").path
        let text = directory.appendingPathComponent("text.png")
        try Data("this is not a PNG file\n".utf8).write(to: text)
        let truncated = directory.appendingPathComponent("truncated.png")
        let real = try Data(contentsOf: sharedData.appendingPathComponent("tiles/single/wsidicom-data-test_tile-240.png"))
        try real.prefix(real.count / 2).write(to: truncated)
        for path in [missing, text.path, truncated.path] {
            #expect {
                _ = try PNGImage.read(path: path)
            } throws: { error in
                guard case PNGError.cannotRead(let named, let reason) = error else { return false }
                return named == path && !reason.isEmpty && "\(error)".contains(path)
            }
        }
    }

    @Test("real 8-bit RGB PNG (wsidicom H&E tile) matches an independent decoder")
    func realRGB() throws {
        let image = try PNGImage.read(path: sharedData.appendingPathComponent("tiles/single/wsidicom-data-test_tile-240.png").path)
        #expect(image.width == 240 && image.height == 240)
        #expect(image.pixels.reduce(0) { $0 + Int($1) } == 22_355_860)
        #expect(fnv1a(image.pixels) == 0x92A3_2EA9_8007_CF89)
        #expect(Array(image.pixels.prefix(6)) == [182, 137, 180, 186, 139, 180])
    }

    @Test("real 8-bit RGBA PNGs (torchstain, histolab) read as RGB matching an independent decoder")
    func realRGBA() throws {
        let cases: [(String, Int, Int, Int, UInt64)] = [
            ("tiles/single/torchstain-source.png", 584, 438, 152_653_297, 0x69D3_2752_8733_9E08),
            ("tiles/single/torchstain-target.png", 587, 441, 142_781_352, 0x4172_2CEE_B369_E32D),
            ("tiles/histolab-tissue-vs-background/no-tissue.png", 512, 512, 188_772_590, 0x289B_CB7C_2B90_C5E7),
        ]
        for (file, width, height, sum, hash) in cases {
            let image = try PNGImage.read(path: sharedData.appendingPathComponent(file).path)
            #expect(image.width == width && image.height == height, "\(file)")
            #expect(image.pixels.reduce(0) { $0 + Int($1) } == sum, "\(file)")
            #expect(fnv1a(image.pixels) == hash, "\(file)")
        }
    }

    @Test("RGBA alpha is composited onto white: (c·a + 255·(255 − a) + 127) / 255")
    func alphaCompositing() throws {
        // Pixels (R, G, B, A): opaque, fully transparent, half, and partial.
        let samples: [UInt8] = [
            0, 128, 255, 255,
            0, 0, 0, 0,
            0, 100, 200, 128,
            100, 0, 250, 51,
        ]
        let image = try decode(PNGTestEncoder.encode(width: 4, height: 1, bitDepth: 8, colorType: .rgba, samples: samples))
        // Hand-computed: a=128: c=0 → 32512/255 = 127.5… → 127; c=100 → 45312/255 → 177; c=200 → 58112/255 → 227.
        // a=51: c=100 → 57247/255 → 224; c=0 → 52147/255 → 204; c=250 → 65017/255 → 254.
        #expect(image.pixels == [0, 128, 255, 255, 255, 255, 127, 177, 227, 224, 204, 254])
    }

    @Test("grey, grey+alpha, 1-bit grey and palette+tRNS expand to RGB")
    func greyAndPalette() throws {
        let grey = try decode(PNGTestEncoder.encode(width: 3, height: 1, bitDepth: 8, colorType: .gray, samples: [0, 77, 255]))
        #expect(grey.pixels == [0, 0, 0, 77, 77, 77, 255, 255, 255])

        let greyAlpha = try decode(PNGTestEncoder.encode(width: 2, height: 1, bitDepth: 8, colorType: .grayAlpha,
                                                         samples: [50, 255, 0, 128]))
        #expect(greyAlpha.pixels == [50, 50, 50, 127, 127, 127])

        // 1-bit: 0b1010_0000 → pixels 1, 0, 1 (then padding bits).
        let bits = try decode(PNGTestEncoder.encode(width: 3, height: 1, bitDepth: 1, colorType: .gray, samples: [0b1010_0000]))
        #expect(bits.pixels == [255, 255, 255, 0, 0, 0, 255, 255, 255])

        let palette = try decode(PNGTestEncoder.encode(
            width: 3, height: 1, bitDepth: 8, colorType: .palette, samples: [0, 1, 2],
            palette: [(200, 30, 60), (10, 20, 30), (0, 0, 0)], transparency: [255, 0, 128]))
        // Entry 0 opaque; entry 1 fully transparent → white; entry 2 black at a = 128 → 127.
        #expect(palette.pixels == [200, 30, 60, 255, 255, 255, 127, 127, 127])
    }

    @Test("16-bit samples are reduced to 8 bits as sRGB values (0xABAB → 0xAB), not gamma-encoded as linear")
    func sixteenBit() throws {
        // RGB16 big-endian: (0x0000, 0x8080, 0xFFFF), (0xABAB, 0x1212, 0x0101).
        let samples: [UInt8] = [0x00, 0x00, 0x80, 0x80, 0xFF, 0xFF, 0xAB, 0xAB, 0x12, 0x12, 0x01, 0x01]
        let image = try decode(PNGTestEncoder.encode(width: 2, height: 1, bitDepth: 16, colorType: .rgb, samples: samples))
        // Linear-light interpretation would give 0x8080 → 188; sRGB-as-stored gives 128.
        #expect(image.pixels == [0x00, 0x80, 0xFF, 0xAB, 0x12, 0x01])
    }
}
