import Compute
import Foundation
import Models
import Testing
@testable import Training

/// The student's flat layout (names, counts, module ranges), DINOv2's initialisation, and the training forward
/// against the inference forward.
@Suite struct StudentTests {
    let backend = CPUBackend(threads: 2)

    @Test func h0MiniLayoutHasThePaperCounts() throws {
        // distillation-spec.md §2.6 and §3.1: backbone 85,739,520 (timm layout), DINO head 57,020,800, iBOT head
        // 39,981,312 at K = 131,072.
        let config = try TrainingFixtures.config("h0-mini")
        let layout = StudentLayout.dinov2(backbone: config)
        #expect(layout.modules == ["backbone", "dino_head", "ibot_head"])
        #expect(layout.range(of: "backbone") == 0..<85_739_520)
        #expect(layout.range(of: "dino_head").count == 57_020_800)
        #expect(layout.range(of: "ibot_head").count == 39_981_312)
        #expect(layout.range(of: "ibot_head").upperBound == layout.count)
        #expect(layout.layout.parameter("dino_head.last_layer.weight_v")?.shape == [131_072, 384])
        #expect(layout.layout.parameter("ibot_head.last_layer.weight_g")?.shape == [131_072, 1])
        #expect(layout.layout.parameter("ibot_head.mlp.4.weight")?.shape == [256, 2048])
        #expect(layout.layout.parameter("blocks.11.mlp.fc1.weight")?.shape == [4096, 768])
        // Every name lies in its module's range.
        for parameter in layout.layout.parameters {
            let module = layout.heads.map(\.name).first { parameter.name.hasPrefix($0 + ".") } ?? "backbone"
            #expect(layout.range(of: module).contains(parameter.offset), "\(parameter.name) outside \(module)")
        }
    }

    @Test func initializationFollowsDINOv2() throws {
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let head = HeadConfig(inFeatures: 64, hiddenFeatures: 256, bottleneckFeatures: 32, prototypes: 2048)
        let layout = StudentLayout(backbone: config, heads: [.init(name: "dino_head", config: head)])
        let values = StudentInitialization.dinov2(layout, seed: 5)
        #expect(values == StudentInitialization.dinov2(layout, seed: 5))
        #expect(values != StudentInitialization.dinov2(layout, seed: 6))
        func parameter(_ name: String) -> [Float] {
            let p = layout.layout.parameter(name)!
            return Array(values[p.offset..<(p.offset + p.count)])
        }
        func std(_ names: [String]) -> Double {
            let all = names.flatMap(parameter).map(Double.init)
            let mean = all.reduce(0, +) / Double(all.count)
            return (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot()
        }
        // Head: MLP weights N(0, 0.02²) (≈ 90k draws: std within 2 %), biases 0, g 1, v U(±1/√32).
        let mlpWeights = ["dino_head.mlp.0.weight", "dino_head.mlp.2.weight", "dino_head.mlp.4.weight"]
        #expect(abs(std(mlpWeights) - 0.02) < 0.0004)
        #expect(["dino_head.mlp.0.bias", "dino_head.mlp.2.bias", "dino_head.mlp.4.bias"].flatMap(parameter).allSatisfy { $0 == 0 })
        #expect(parameter("dino_head.last_layer.weight_g").allSatisfy { $0 == 1 })
        let v = parameter("dino_head.last_layer.weight_v")
        let bound = 1 / Float(32).squareRoot()
        #expect(v.allSatisfy { abs($0) <= bound })
        #expect(abs(std(["dino_head.last_layer.weight_v"]) - Double(bound) / 3.0.squareRoot()) < 0.02 * Double(bound))
        // Backbone: Linear weights N(0, 0.02²), LayerNorm 1/0, gammas 1e-5, patch embed U(±1/√588), registers ~1e-6.
        let linear = (0..<2).flatMap { ["blocks.\($0).attn.qkv.weight", "blocks.\($0).attn.proj.weight", "blocks.\($0).mlp.fc1.weight",
                                        "blocks.\($0).mlp.fc2.weight"] }
        #expect(abs(std(linear) - 0.02) < 0.0006)
        #expect(parameter("blocks.1.ls2.gamma").allSatisfy { $0 == 1e-5 })
        #expect(parameter("blocks.0.norm1.weight").allSatisfy { $0 == 1 } && parameter("norm.bias").allSatisfy { $0 == 0 })
        #expect(parameter("blocks.0.attn.qkv.bias").allSatisfy { $0 == 0 })
        let patchBound = 1 / Float(588).squareRoot()
        #expect(parameter("patch_embed.proj.weight").allSatisfy { abs($0) <= patchBound })
        #expect(abs(std(["patch_embed.proj.weight"]) - Double(patchBound) / 3.0.squareRoot()) < 0.03 * Double(patchBound))
        #expect(parameter("reg_token").allSatisfy { abs($0) < 1e-5 } && parameter("reg_token").contains { $0 != 0 })
        #expect(abs(std(["pos_embed"]) - 0.02) < 0.001)

        // Student.initialized puts them in its parameter buffer, gradients zero.
        let student = Student.initialized(layout: layout, backend: backend, seed: 5)
        #expect(student.parameters.scalars() == values)
        #expect(student.gradients.scalars().allSatisfy { $0 == 0 })
        #expect(student.heads["dino_head"]?.parameters["last_layer.weight_v"].scalars() == v)
    }

    @Test(arguments: ["vit-tiny-test", "vit-tiny-gelu-test"])
    func trainingForwardEqualsInferenceForward(_ name: String) throws {
        // Same kernels in the same order: the same float32 numbers as ViT.forward (which matches timm), at the
        // stored grid and at a resampled one.
        let config = try TrainingFixtures.config(name)
        let path = TrainingFixtures.root.appendingPathComponent("Tests/Fixtures/vit/\(name).safetensors").path
        let parameters = try ViTCheckpoint.load(path: path, config: config, backend: backend)
        let layout = ParameterLayout(config: config)
        let inference = ViT(config: config, parameters: parameters, backend: backend)
        let training = ViTTraining(config: config, parameters: parameters,
                                   gradients: ViTParameters(layout: layout, flat: Tensor(shape: [layout.count], zeroed: true)), backend: backend)
        for (size, origins) in [(224, TrainingFixtures.crops224), (98, TrainingFixtures.crops98)] {
            let pixels = try TrainingFixtures.pixels(size: size, origins: origins)
            let a = inference.makeActivations(batch: 2, height: size, width: size)
            let t = training.makeActivations(batch: 2, height: size, width: size)
            pixels.withUnsafeBufferPointer {
                inference.normalize(pixels: $0, into: a)
                training.normalize(pixels: $0, into: t)
            }
            let expected = try inference.forward(a).scalars()
            #expect(try training.forward(t).scalars() == expected, "\(name) at \(size) px")
        }
    }

    @Test func trainingForwardRejectsWhatTheInferenceForwardRejects() throws {
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let other = try TrainingFixtures.config("vit-tiny-train-gelu-test")
        let student = Student.initialized(layout: StudentLayout(backbone: config, heads: []), backend: backend, seed: 1)
        let otherStudent = Student.initialized(layout: StudentLayout(backbone: other, heads: []), backend: backend, seed: 1)
        #expect(throws: ViTError.activationsMismatch(model: "vit-tiny-train-test", activationsModel: "vit-tiny-train-gelu-test")) {
            try student.backbone.forward(otherStudent.backbone.makeActivations(batch: 1, height: 28, width: 28))
        }
        #expect(throws: ViTError.badInputShape(model: "vit-tiny-train-test", shape: [1, 3, 30, 28], patchSize: 14)) {
            try student.backbone.forward(student.backbone.makeActivations(batch: 1, height: 30, width: 28))
        }
    }
}
