import Compute
import Foundation
import Testing
@testable import Models

/// The model configs in configs/models and the parameter counts of distillation-spec.md §2.6, computed from
/// the configs without any weights.
@Suite struct ViTConfigTests {
    @Test func parameterCountsOfH0MiniAndHOptimus0() throws {
        let mini = try ModelFixtures.config("h0-mini")
        #expect(ParameterLayout(config: mini).count == 85_739_520)
        let teacher = try ModelFixtures.config("h-optimus-0")
        #expect(ParameterLayout(config: teacher).count == 1_134_774_272)
        // Per-block count of the spec: 7,090,432 (H0-mini) and 28,336,640 (H-optimus-0).
        for (config, perBlock) in [(mini, 7_090_432), (teacher, 28_336_640)] {
            let layout = ParameterLayout(config: config)
            let block = layout.parameters.filter { $0.name.hasPrefix("blocks.0.") }.reduce(0) { $0 + $1.count }
            #expect(block == perBlock)
        }
        #expect(mini.headDim == 64 && teacher.headDim == 64 && mini.mlpOutputInFeatures == 2048 && teacher.mlpOutputInFeatures == 4096)
        #expect(mini.sequenceLength(height: 224, width: 224) == 261 && mini.sequenceLength(height: 98, width: 98) == 54)
    }

    @Test func everyShippedConfigLoads() throws {
        let folder = ModelFixtures.root.appendingPathComponent("configs/models")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files == ["h-optimus-0.yaml", "h0-mini.yaml", "vit-small-cpu.yaml", "vit-tiny-bench.yaml", "vit-tiny-gelu-test.yaml",
                           "vit-tiny-student.yaml", "vit-tiny-teacher.yaml", "vit-tiny-test.yaml", "vit-tiny-train-gelu-test.yaml",
                           "vit-tiny-train-test.yaml"])
        for file in files {
            let config = try ViTConfig.load(path: folder.appendingPathComponent(file).path)
            #expect(config.name + ".yaml" == file)
            #expect(config.normalization == .hOptimus)
        }
        // timm's vit_small_patch14_reg4_dinov2 at img_size 224: 21,629,952 parameters.
        #expect(ParameterLayout(config: try ModelFixtures.config("vit-small-cpu")).count == 21_629_952)
    }

    @Test func layoutFollowsTimmNamesAndShapes() throws {
        let layout = ParameterLayout(config: try ModelFixtures.config("h0-mini"))
        #expect(Array(layout.parameters.prefix(5).map(\.name)) == ["cls_token", "reg_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"])
        #expect(layout.parameter("reg_token")?.shape == [1, 4, 768])
        #expect(layout.parameter("pos_embed")?.shape == [1, 256, 768])
        #expect(layout.parameter("blocks.11.mlp.fc1.weight")?.shape == [4096, 768])
        #expect(layout.parameter("blocks.11.mlp.fc2.weight")?.shape == [768, 2048])
        #expect(layout.parameter("blocks.0.attn.qkv.weight")?.shape == [2304, 768])
        #expect(layout.parameters.last?.name == "norm.bias")
        // The timm file of the fixture has exactly these names (and shapes) for its config.
        let config = try ModelFixtures.config("vit-tiny-test")
        let file = try SafetensorsFile(path: ModelFixtures.fixture("vit-tiny-test.safetensors"))
        let tiny = ParameterLayout(config: config)
        #expect(Set(file.names) == Set(tiny.parameters.map(\.name)))
        for parameter in tiny.parameters { #expect(file.entries[parameter.name]?.shape == parameter.shape) }
    }

    @Test func badConfigsNameTheKey() {
        let valid = """
        name: t
        img_size: 224
        patch_size: 14
        embed_dim: 64
        depth: 2
        num_heads: 2
        reg_tokens: 4
        mlp_layer: swiglu-packed
        mlp_hidden_features: 192
        layer_scale: true
        qkv_bias: true
        norm_eps: 1.0e-6
        pos_embed_interpolation: dinov2
        normalization: {mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}
        """
        #expect(throws: Never.self) { try ViTConfig(yaml: valid, source: "t.yaml") }
        let cases: [(String, String, String)] = [
            (valid.replacingOccurrences(of: "num_heads: 2", with: "num_heads: 3"), "num_heads", "not divisible"),
            (valid.replacingOccurrences(of: "depth: 2", with: "dept: 2"), "dept", "unknown key"),
            (valid.replacingOccurrences(of: "depth: 2\n", with: ""), "depth", "missing"),
            (valid.replacingOccurrences(of: "mlp_layer: swiglu-packed", with: "mlp_layer: swiglu"), "mlp_layer", "one of: swiglu-packed, gelu"),
            (valid.replacingOccurrences(of: "mlp_hidden_features: 192", with: "mlp_hidden_features: 191"), "mlp_hidden_features", "even"),
            (valid.replacingOccurrences(of: "img_size: 224", with: "img_size: 225"), "img_size", "multiple"),
            (valid.replacingOccurrences(of: "std: [0.2, 0.2, 0.2]", with: "std: [0.2, 0.2]"), "normalization", "3 means"),
            (valid.replacingOccurrences(of: "pos_embed_interpolation: dinov2", with: "pos_embed_interpolation: nearest"), "pos_embed_interpolation", "one of: dinov2, timm"),
        ]
        for (yaml, key, reason) in cases {
            let error = #expect(throws: ViTConfigError.self) { try ViTConfig(yaml: yaml, source: "t.yaml") }
            #expect(error?.source == "t.yaml")
            #expect(error?.key == key, "\(String(describing: error))")
            #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        }
    }
}
