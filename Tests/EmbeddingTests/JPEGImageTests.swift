import Foundation
import ImageOps
import Testing

/// `JPEGImage` against Pillow's decode of the same real files (fixtures from tools/fixtures/make_embedding_fixtures.py),
/// and its errors on broken files.
@Suite struct JPEGImageTests {
    static let codecVariants = EmbeddingFixtures.shared.appendingPathComponent("data/paired/wsidicom-data-codec-variants")

    /// Both baseline JPEGs (RGB with Adobe transform 0; YCbCr 4:4:4 with JFIF) decode to Pillow's pixels exactly:
    /// both are libjpeg-turbo with the islow IDCT, and 4:4:4 needs no chroma upsampling.
    @Test(arguments: [("JPEG_Baseline_(Process_1)-RGB-8.jpg", "jpeg-pillow-rgb.png"),
                      ("JPEG_Baseline_(Process_1)-YBR-8.jpg", "jpeg-pillow-ybr.png")])
    func decodesLikePillow(file: String, reference: String) throws {
        let image = try JPEGImage.read(path: Self.codecVariants.appendingPathComponent(file).path)
        let pillow = try PNGImage.read(path: EmbeddingFixtures.fixture(reference))
        #expect(image.width == 240 && image.height == 240)
        #expect(pillow.width == image.width && pillow.height == image.height)
        let differences = zip(image.pixels, pillow.pixels).map { abs(Int($0) - Int($1)) }
        #expect(differences.max() == 0, "max |Δ| \(differences.max() ?? -1), \(differences.filter { $0 > 0 }.count) bytes differ")
    }

    /// The two encodings of the same tile decode differently (YCbCr loses more), and both are close to the
    /// lossless PNG (MANIFEST: 51.6 dB and 44.5 dB PSNR): the decoder does not swap channels or rows.
    @Test func decodedTilesAreCloseToTheLosslessOriginal() throws {
        let original = try PNGImage.read(path: Self.codecVariants.appendingPathComponent("reference_test_tile.png").path)
        for (file, psnr) in [("JPEG_Baseline_(Process_1)-RGB-8.jpg", 51.6), ("JPEG_Baseline_(Process_1)-YBR-8.jpg", 44.5)] {
            let image = try JPEGImage.read(path: Self.codecVariants.appendingPathComponent(file).path)
            let squared = zip(image.pixels, original.pixels).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
            let measured = 10 * log10(255 * 255 / (squared / Double(image.pixels.count)))
            #expect(abs(measured - psnr) < 0.1, "\(file): PSNR \(measured) dB, MANIFEST says \(psnr)")
        }
    }

    @Test func truncatedFileIsAnErrorNamingIt() throws {
        let bytes = try Data(contentsOf: Self.codecVariants.appendingPathComponent("JPEG_Baseline_(Process_1)-YBR-8.jpg"))
        let folder = try EmbeddingFixtures.temporaryFolder("jpeg")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/truncated.jpg"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        #expect {
            try JPEGImage.read(path: path)
        } throws: { error in
            guard case JPEGError.cannotDecode(let named, let reason) = error else { return false }
            return named == path && reason.contains("Premature end of JPEG file") && "\(error)".contains(path)
        }
    }

    @Test func corruptEntropyDataIsAnError() throws {
        var bytes = [UInt8](try Data(contentsOf: Self.codecVariants.appendingPathComponent("JPEG_Baseline_(Process_1)-RGB-8.jpg")))
        // Overwrite part of the entropy-coded data (after the headers) with marker bytes.
        for index in stride(from: bytes.count / 2, to: bytes.count / 2 + 64, by: 2) { bytes[index] = 0xFF; bytes[index + 1] = 0xD0 }
        #expect(throws: JPEGError.self) { try JPEGImage.decode(bytes, name: "corrupt.jpg") }
    }

    @Test func notAJPEGAndMissingFile() throws {
        let png = EmbeddingFixtures.fixture("jpeg-pillow-rgb.png")
        #expect {
            try JPEGImage.read(path: png)
        } throws: { error in
            guard case JPEGError.cannotDecode(let named, let reason) = error else { return false }
            return named == png && reason.contains("Not a JPEG file")
        }
        #expect(throws: JPEGError.cannotOpen(path: "/nonexistent/tile.jpg", reason: "No such file or directory")) {
            try JPEGImage.read(path: "/nonexistent/tile.jpg")
        }
        #expect(throws: JPEGError.cannotDecode(path: "empty", reason: "libjpeg: empty file")) {
            try JPEGImage.decode([], name: "empty")
        }
    }
}
