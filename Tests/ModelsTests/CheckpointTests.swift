import Compute
import Foundation
import Testing
@testable import Models

/// Strict checkpoint loading, the DINOv2 → timm conversion, writing, and the negative parity checks: a model
/// with its SwiGLU halves swapped or its q/k rows exchanged must *fail* the 1e-4 tolerance (spec §7 checks 3, 4, 8).
@Suite struct CheckpointTests {
    let backend = CPUBackend(threads: 2)

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("distill-\(UUID().uuidString)-\(name)").path
    }

    @Test func dinov2LayoutConvertsToTheTimmWeights() throws {
        let config = try ModelFixtures.config("vit-tiny-test")
        let dinov2File = try SafetensorsFile(path: ModelFixtures.fixture("vit-tiny-test-dinov2.safetensors"))
        #expect(CheckpointLayout.detect(names: dinov2File.entries.keys) == .dinov2)
        #expect(dinov2File.entries["blocks.0.2.mlp.w12.weight"]?.dtype == .bf16)   // chunked keys, BF16 storage
        let converted = try ViTCheckpoint.load(dinov2File, config: config, backend: backend)
        let timm = try ViTCheckpoint.load(path: ModelFixtures.fixture("vit-tiny-test.safetensors"), config: config, backend: backend)
        // Bit-identical: the BF16 values convert exactly, and cls + pos[0] is exact in float32 for these values.
        #expect(converted.flat.scalars() == timm.flat.scalars())
    }

    @Test func wrongKeysAreAllNamedInOneError() throws {
        let config = try ModelFixtures.config("vit-tiny-test")
        let source = try SafetensorsFile(path: ModelFixtures.fixture("vit-tiny-test.safetensors"))
        var tensors = try source.names.map { (name: $0, tensor: try source.tensor($0)) }
        // Rename one key (missing + unused), add a classifier head (unused), drop a bias (missing), and give
        // fc1 the wrong width (mis-shaped).
        tensors = tensors.compactMap { item in
            switch item.name {
            case "blocks.1.attn.qkv.weight": (name: "blocks.1.attn.qkv.weights", tensor: item.tensor)
            case "blocks.2.mlp.fc2.bias": nil
            case "blocks.0.mlp.fc1.weight": (name: item.name, tensor: Tensor(shape: [190, 64], zeroed: true))
            default: item
            }
        }
        tensors.append((name: "head.weight", tensor: Tensor(shape: [10, 64], zeroed: true)))
        let path = temporaryPath("wrong-keys.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsWriter.write(tensors, to: path)
        let error = try #require(throws: CheckpointError.self) {
            try ViTCheckpoint.load(path: path, config: config, backend: backend)
        }
        #expect(error.layout == .timm)
        #expect(error.missing == ["blocks.1.attn.qkv.weight", "blocks.2.mlp.fc2.bias"])
        #expect(error.unused == ["blocks.1.attn.qkv.weights", "head.weight"])
        #expect(error.misshaped == [.init(key: "blocks.0.mlp.fc1.weight", expected: [192, 64], found: [190, 64])])
        let message = error.description
        for key in ["blocks.1.attn.qkv.weight", "blocks.1.attn.qkv.weights", "head.weight", "blocks.2.mlp.fc2.bias",
                    "blocks.0.mlp.fc1.weight is [190, 64], expected [192, 64]", path, "vit-tiny-test"] {
            #expect(message.contains(key), "message lacks \(key): \(message)")
        }
    }

    @Test func aCheckpointForAnotherModelIsRejected() throws {
        // The GELU fixture's weights for the SwiGLU config: every block tensor mis-shaped or missing.
        let error = try #require(throws: CheckpointError.self) {
            try ViTCheckpoint.load(path: ModelFixtures.fixture("vit-tiny-gelu-test.safetensors"),
                                   config: try ModelFixtures.config("vit-tiny-test"), backend: backend)
        }
        #expect(error.missing.contains("blocks.2.norm1.weight"))
        #expect(error.misshaped.contains { $0.key == "pos_embed" && $0.found == [1, 256, 96] && $0.expected == [1, 256, 64] })
    }

    @Test func writtenWeightsLoadBackIdentically() throws {
        let config = try ModelFixtures.config("vit-tiny-gelu-test")
        let parameters = try ViTCheckpoint.load(path: ModelFixtures.fixture("vit-tiny-gelu-test.safetensors"), config: config, backend: backend)
        let path = temporaryPath("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ViTCheckpoint.write(parameters, backend: backend, to: path, metadata: ["format": "pt"])
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == ["format": "pt"])
        #expect(Set(file.names) == Set(parameters.layout.parameters.map(\.name)))
        #expect(try ViTCheckpoint.load(file, config: config, backend: backend).flat.scalars() == parameters.flat.scalars())
    }

    /// Output at 224 px of the SwiGLU fixture model after `mutate` changes its weights, against timm's output.
    func errorAfter(_ mutate: (ViTParameters, ViTConfig) -> Void) throws -> Float {
        let config = try ModelFixtures.config("vit-tiny-test")
        let parameters = try ViTCheckpoint.load(path: ModelFixtures.fixture("vit-tiny-test.safetensors"), config: config, backend: backend)
        mutate(parameters, config)
        let model = ViT(config: config, parameters: parameters, backend: backend)
        let activations = model.makeActivations(batch: 2, height: 224, width: 224)
        try ModelFixtures.pixels(size: 224, origins: ModelFixtures.crops224).withUnsafeBufferPointer {
            model.normalize(pixels: $0, into: activations)
        }
        let output = backend.download(try model.forward(activations))
        let expected = try SafetensorsFile(path: ModelFixtures.fixture("vit-tiny-test-outputs.safetensors")).tensor("x224")
        return ModelFixtures.maxDifference(output, expected.scalars())
    }

    /// Swaps row blocks `[a, a+n)` and `[b, b+n)` of every `name` matrix (rows of `width` values) and its bias.
    static func swapRows(_ parameters: ViTParameters, depth: Int, name: String, width: Int, a: Int, b: Int, n: Int) {
        for block in 0..<depth {
            for (suffix, rowWidth) in [("weight", width), ("bias", 1)] {
                let values = parameters["blocks.\(block).\(name).\(suffix)"].floats
                for row in 0..<n {
                    for column in 0..<rowWidth {
                        values.swapAt(((a + row) * rowWidth + column), ((b + row) * rowWidth + column))
                    }
                }
            }
        }
    }

    @Test func unchangedWeightsPass() throws {
        #expect(try errorAfter { _, _ in } <= 1e-4)
    }

    @Test func swappedSwiGLUHalvesFail() throws {
        // Gate and value exchanged: fc1 rows [0, 96) ↔ [96, 192).
        let error = try errorAfter { parameters, config in
            Self.swapRows(parameters, depth: config.depth, name: "mlp.fc1", width: config.embedDim, a: 0, b: 96, n: 96)
        }
        #expect(error > 1e-2, "a swapped SwiGLU still matches timm to \(error)")
    }

    @Test func wrongQKVOrderFails() throws {
        // q and k exchanged: qkv rows [0, D) ↔ [D, 2D). (q·kᵀ is not symmetric in q and k once biases differ.)
        let error = try errorAfter { parameters, config in
            Self.swapRows(parameters, depth: config.depth, name: "attn.qkv", width: config.embedDim, a: 0, b: config.embedDim,
                          n: config.embedDim)
        }
        #expect(error > 1e-2, "q/k exchanged still matches timm to \(error)")
        // k and v exchanged.
        let kv = try errorAfter { parameters, config in
            Self.swapRows(parameters, depth: config.depth, name: "attn.qkv", width: config.embedDim, a: config.embedDim,
                          b: 2 * config.embedDim, n: config.embedDim)
        }
        #expect(kv > 1e-2, "k/v exchanged still matches timm to \(kv)")
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    func swapAt(_ i: Int, _ j: Int) {
        let value = self[i]
        self[i] = self[j]
        self[j] = value
    }
}
