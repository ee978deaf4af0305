import Compute
import Dataflow
import Foundation
import ImageOps
import Models
@testable import Stages
import Testing
import TestSupport

private func rootPath(_ relative: String) -> String { PackageRoot.path(relative) }

private func teacherGraph(key: String, batch: Int, weights: String, model: String = "configs/models/vit-tiny-test.yaml",
                          device: String = "cpu") -> String {
    """
    name: teacher
    run: {seed: 3}
    stages:
      - {name: crops, type: fixed-crops, params: {key: "\(key)"}}
      - {name: teacher, type: teacher-inference, device: \(device), params: {model: "\(rootPath(model))", weights: "\(weights)", batch: \(batch), threads: 2}}
      - {name: sink, type: collect-teacher, params: {key: "\(key)"}}
    edges:
      - {from: crops, to: teacher, capacity: 4}
      - {from: teacher, to: sink, capacity: 4}
    """
}

private var registry: StageRegistry {
    var registry = StageRegistry.builtIn
    registry.register(FixedSource<CropSet>.self, as: "fixed-crops")
    registry.register(CollectingSink<TeacherOutput>.self, as: "collect-teacher")
    return registry
}

private func run(_ text: String) async throws -> RunResult {
    let spec = try GraphLoader(registry: registry).load(yaml: text, path: "teacher.yaml")
    let directory = temporaryDirectory("teacher-run")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return await (try GraphRun(graph: spec, registry: registry, runDirectory: directory)).run()
}

/// The two 224-px crops of the ViT fixtures' tile (tools/fixtures/make_vit_fixtures.py), normalised with
/// H-optimus' mean and std, `[2, 3, 224, 224]` flat each.
private func fixtureCrops() throws -> [[Float]] {
    let tile = try PNGImage.read(path: rootPath("../shared/data/tiles/single/tiatoolbox-target_image-1000.png"))
    let backend = CPUBackend(threads: 1)
    return try [(0, 0), (517, 389)].map { x, y in
        var pixels: [UInt8] = []
        for row in y..<(y + 224) {
            let start = tile.offset(x: x, y: row)
            pixels.append(contentsOf: tile.pixels[start..<(start + 224 * 3)])
        }
        let output = backend.makeTensor(shape: [1, 3, 224, 224])
        pixels.withUnsafeBufferPointer {
            backend.normalizeImages(pixels: $0, normalization: .hOptimus, output: output, batch: 1, height: 224, width: 224)
        }
        return backend.download(output)
    }
}

private func cropSet(_ index: Int, globals: [[Float]]) -> CropSet {
    CropSet(sampleID: UInt64(index), slideID: "fixture", x: index * 224, y: 0, mpp: 0.5, epoch: 0,
            global: globals.flatMap { $0 }, globalShape: [globals.count, 3, 224, 224],
            local: [Float](repeating: 0.5, count: 3 * 98 * 98), localShape: [1, 3, 98, 98])
}

private func maxDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
}

@Suite(.serialized) struct TeacherInferenceStageTests {
    @Test("crop sets → teacher-inference → sink: x_norm CLS and patch tokens equal timm's, in order, with a partial last batch")
    func matchesTimmThroughTheGraph() async throws {
        let crops = try fixtureCrops()
        // Five samples in batches of two (the last one partial), each pairing the fixture's crops differently.
        let orders = [[0, 1], [1, 0], [0, 0], [1, 1], [0, 1]]
        FixedSource<CropSet>.set("timm", orders.enumerated().map { cropSet($0.offset, globals: $0.element.map { crops[$0] }) })
        let weights = rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors")
        let result = try await run(teacherGraph(key: "timm", batch: 2, weights: weights))
        #expect(result.outcome == .completed)

        let expected = try SafetensorsFile(path: rootPath("Tests/Fixtures/vit/vit-tiny-test-outputs.safetensors")).tensor("x224")
        let reference = Array(UnsafeBufferPointer(start: expected.floats, count: expected.count))  // [2, 261, 64]
        let length = 261, d = 64, prefix = 5, n = 256
        let outputs = CollectingSink<TeacherOutput>.items("timm")
        #expect(outputs.map(\.crops.sampleID) == [0, 1, 2, 3, 4])
        for (output, order) in zip(outputs, orders) {
            #expect(output.dim == d && output.patchTokens == n && output.crops == FixedSource<CropSet>.items("timm")[Int(output.crops.sampleID)])
            for (g, crop) in order.enumerated() {
                let cls = maxDifference(output.cls[(g * d)..<((g + 1) * d)], reference[(crop * length * d)..<(crop * length * d + d)])
                let start = (crop * length + prefix) * d
                let patches = maxDifference(output.patches[(g * n * d)..<((g + 1) * n * d)], reference[start..<(start + n * d)])
                #expect(cls <= 1e-4 && patches <= 1e-4, "sample \(output.crops.sampleID) crop \(g): |Δ| cls \(cls), patches \(patches)")
            }
        }
    }

    @Test("a missing config or a file that is not safetensors fails validation naming the parameter; random weights run")
    func validationAndRandomWeights() async throws {
        #expect {
            _ = try GraphLoader(registry: registry).load(yaml: teacherGraph(key: "x", batch: 2, weights: "", model: "configs/models/nope.yaml"),
                                                         path: "teacher.yaml")
        } throws: { "\($0)".contains("stages.teacher.params.model") && "\($0)".contains("nope.yaml") }
        let notSafetensors = rootPath("configs/models/vit-tiny-test.yaml")
        #expect {
            _ = try GraphLoader(registry: registry).load(yaml: teacherGraph(key: "x", batch: 2, weights: notSafetensors), path: "teacher.yaml")
        } throws: { "\($0)".contains("stages.teacher.params.weights") && "\($0)".contains("vit-tiny-test.yaml") }

        let crops = try fixtureCrops()
        FixedSource<CropSet>.set("random", [cropSet(0, globals: crops)])
        #expect(try await run(teacherGraph(key: "random", batch: 4, weights: "")).outcome == .completed)
        let outputs = CollectingSink<TeacherOutput>.items("random")
        #expect(outputs.count == 1 && outputs[0].cls.count == 2 * 64 && outputs[0].cls.allSatisfy(\.isFinite))
    }

    @Test("a checkpoint that also holds the teacher's heads loads (heads set aside); any other extra key is refused")
    func checkpointWithHeads() async throws {
        let source = try SafetensorsFile(path: rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors"))
        var tensors = try source.entries.keys.sorted().map { (name: $0, tensor: try source.tensor($0)) }
        let head = Tensor(shape: [8, 64])
        for index in 0..<head.count { head.floats[index] = Float(index) }
        tensors.append((name: "dino_head.mlp.0.weight", tensor: head))
        let directory = temporaryDirectory("teacher-heads")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SafetensorsWriter.write(tensors, to: directory + "/with-heads.safetensors")
        tensors.append((name: "projector.weight", tensor: head))
        try SafetensorsWriter.write(tensors, to: directory + "/with-extra.safetensors")

        let crops = try fixtureCrops()
        FixedSource<CropSet>.set("heads", [cropSet(0, globals: crops)])
        #expect(try await run(teacherGraph(key: "heads", batch: 1, weights: directory + "/with-heads.safetensors")).outcome == .completed)
        let expected = try SafetensorsFile(path: rootPath("Tests/Fixtures/vit/vit-tiny-test-outputs.safetensors")).tensor("x224")
        let output = try #require(CollectingSink<TeacherOutput>.items("heads").first)
        #expect(maxDifference(output.cls[0..<64], Array(UnsafeBufferPointer(start: expected.floats, count: 64))[...]) <= 1e-4)

        FixedSource<CropSet>.set("extra", [])
        let refused = try await run(teacherGraph(key: "extra", batch: 1, weights: directory + "/with-extra.safetensors"))
        guard case .failed(_, let message) = refused.outcome else { Issue.record("outcome \(refused.outcome)"); return }
        #expect(message.contains("unused") && message.contains("projector.weight") && !message.contains("dino_head"), "\(message)")
    }

    @Test("a checkpoint of another architecture fails the run naming the mis-shaped key")
    func wrongCheckpointFailsTheRun() async throws {
        FixedSource<CropSet>.set("wrong", [])
        let result = try await run(teacherGraph(key: "wrong", batch: 2, weights: rootPath("Tests/Fixtures/vit/vit-tiny-gelu-test.safetensors")))
        guard case .failed(_, let message) = result.outcome else { Issue.record("outcome \(result.outcome)"); return }
        #expect(message.contains("mlp.fc1.weight") && message.contains("vit-tiny-gelu-test.safetensors"), "\(message)")
    }

    @Test("device: cuda where the driver does not load fails the run naming the library and the files tried")
    func cudaWithoutADriverIsOneClearError() async throws {
        FixedSource<CropSet>.set("cuda", [])
        let driverLoads = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) != nil
        let result = try await run(teacherGraph(key: "cuda", batch: 2, weights: rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors"),
                                                device: "cuda"))
        if driverLoads {
            // A machine with the driver (the GPU job): the stage opens the device instead of refusing it.
            if case .failed(_, let message) = result.outcome { #expect(!message.contains("libcuda could not be loaded"), "\(message)") }
        } else {
            guard case .failed(_, let message) = result.outcome else { Issue.record("outcome \(result.outcome)"); return }
            #expect(message.contains("stage teacher: device 'cuda' is not available: libcuda could not be loaded (tried"), "\(message)")
            #expect(message.contains("libcuda.so.1") && message.contains("; set device: cpu"), "\(message)")
        }
    }
}
