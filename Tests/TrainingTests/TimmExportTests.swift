import Compute
import Foundation
@testable import Models
import Testing
@testable import Training

/// `TimmExport` against timm through the committed fixtures of tools/fixtures/make_export_fixtures.py: the keys and
/// shapes are exactly timm's `state_dict()` for each config, the tiny student's exported backbone holds the source
/// values bit for bit, and read back under those names it gives timm's `forward_features`.
///
/// Set DISTILL_EXPORT_CHECK=FILE to also keep the exported tiny backbone at FILE, for
/// `make_export_fixtures.py --check FILE` (which loads it in timm with `strict=True`).
@Suite struct TimmExportTests {
    static func fixture(_ name: String) -> String { TrainingFixtures.root.appendingPathComponent("Tests/Fixtures/export/\(name)").path }

    /// The `[key, shape]` pairs of timm's `state_dict()` for `config`, in timm's order.
    static func timmStateDict(_ config: String) throws -> [(key: String, shape: [Int])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("\(config)-timm-keys.json")))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pairs = try #require(object["state_dict"] as? [[Any]])
        return try pairs.map { pair in
            (try #require(pair[0] as? String), try #require((pair[1] as? [NSNumber])?.map(\.intValue)))
        }
    }

    @Test(arguments: ["vit-tiny-train-test", "h0-mini", "vit-small-cpu"])
    func theLayoutIsTimmsStateDict(_ name: String) throws {
        let layout = ParameterLayout(config: try TrainingFixtures.config(name))
        let timm = try Self.timmStateDict(name)
        #expect(layout.parameters.map(\.name) == timm.map(\.key))
        #expect(layout.parameters.map(\.shape) == timm.map(\.shape))
        #expect(layout.count == timm.reduce(0) { $0 + $1.shape.reduce(1, *) })
    }

    @Test func theTinyStudentsBackboneExportsForTimm() throws {
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let layout = ParameterLayout(config: config)
        let source = try SafetensorsFile(path: TrainingFixtures.fixture("vit-tiny-train-test.safetensors"))
        let backbone = try TrainingFixtures.flat(source, names: layout.parameters.map { ($0.name, $0.count) }).scalars()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("distill-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("student.safetensors").path
        // A slice of a longer buffer, as the student's backbone is the front of its parameters.
        let student = backbone + [Float](repeating: 7, count: 100)
        try TimmExport.write(backbone: student[0..<backbone.count], config: config, role: .student, iteration: 7, to: path)
        if let keep = ProcessInfo.processInfo.environment["DISTILL_EXPORT_CHECK"] {
            try TimmExport.write(backbone: backbone[...], config: config, role: .student, iteration: 7, to: keep)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["student.safetensors"])

        // Keys and shapes are timm's exactly, F32, values bit-equal to the source's.
        let exported = try SafetensorsFile(path: path)
        let timm = try Self.timmStateDict("vit-tiny-train-test")
        #expect(exported.names == timm.map(\.key).sorted())
        for (key, shape) in timm {
            let entry = try exported.entry(key)
            #expect(entry.shape == shape && entry.dtype == .f32, "\(key)")
            // The source stores BF16 values; the export holds them exactly as float32.
            #expect(try exported.tensor(key).scalars().map(\.bitPattern) == source.tensor(key).scalars().map(\.bitPattern),
                    "\(key) differs from the source")
        }
        // The metadata builds the model in timm (make_export_fixtures.py --check uses exactly these arguments).
        #expect(exported.metadata["role"] == "student" && exported.metadata["iteration"] == "7")
        #expect(exported.metadata["architecture"] == "vit_base_patch14_reg4_dinov2")
        #expect(try JSONDecoder().decode(ViTConfig.self, from: Data(exported.metadata["config", default: ""].utf8)) == config)
        let kwargs = try #require(try JSONSerialization.jsonObject(with: Data(exported.metadata["timm_kwargs", default: ""].utf8)) as? NSDictionary)
        let expected: NSDictionary = [
            "num_classes": 0, "img_size": 224, "patch_size": 14, "embed_dim": 64, "depth": 2, "num_heads": 2, "mlp_ratio": 2.0078125,
            "qkv_bias": true, "init_values": 1e-5, "reg_tokens": 4, "no_embed_class": true, "dynamic_img_size": true,
            "mlp_layer": "SwiGLUPacked", "act_layer": "SiLU",
        ]
        #expect(kwargs == expected)

        // Read back under timm's names (strict), the model gives timm's forward_features rows of the source weights.
        let backend = CPUBackend(threads: 1)
        let model = ViT(config: config, parameters: try ViTCheckpoint.load(path: path, config: config, backend: backend), backend: backend)
        let pixels = try TrainingFixtures.pixels(size: 224, origins: TrainingFixtures.crops224)
        let activations = model.makeActivations(batch: 2, height: 224, width: 224)
        pixels.withUnsafeBufferPointer { model.normalize(pixels: $0, into: activations) }
        let features = backend.download(try model.forward(activations))
        let reference = try SafetensorsFile(path: Self.fixture("vit-tiny-train-test-features.safetensors"))
        let rows = [0, 1, 4, 5, 6, 133, 260], d = config.embedDim, length = 261
        let expectedRows = try reference.tensor("features").scalars()
        #expect(reference.metadata["rows"] == "[0, 1, 4, 5, 6, 133, 260]")
        var largest: Float = 0
        for image in 0..<2 {
            for (index, row) in rows.enumerated() {
                for column in 0..<d {
                    let got = features[(image * length + row) * d + column]
                    largest = max(largest, abs(got - expectedRows[(image * rows.count + index) * d + column]))
                }
            }
        }
        #expect(largest <= 1e-4, "max |Δ| \(largest) against timm forward_features")
    }

    @Test func aBackboneOfTheWrongSizeIsRefused() throws {
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("distill-\(UUID().uuidString).safetensors").path
        #expect(throws: SafetensorsError.cannotWrite(path: path, key: "backbone",
                                                     reason: "10 values, but vit-tiny-train-test has 113536 parameters")) {
            try TimmExport.write(backbone: [Float](repeating: 0, count: 10)[...], config: config, role: .ema, iteration: 0, to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
