import Foundation
import Testing

/// `distill bench train` end to end on the tiny training student (configs/models/vit-tiny-train-test.yaml: D 64,
/// depth 2, packed SwiGLU 128, 4 registers) with small heads: the report's shape and its figures' consistency,
/// without the PyTorch anchor and without any timed assertion.
@Suite struct TrainBenchCommandTests {
    static let tiny = ["--config", Paths.packageRoot.appendingPathComponent("configs/models/vit-tiny-train-test.yaml").path,
                       "--batch", "2", "--local-crops", "2", "--global-size", "56", "--local-size", "28", "--prototypes", "256",
                       "--head-hidden", "48", "--teacher-width", "96", "--warmup-steps", "1", "--min-seconds", "0", "--min-steps", "2"]

    /// The student's parameter count, by hand from timm's and DINOv2's shapes: backbone 113,536 (patch_embed
    /// 3·14²·64 + 64, cls 64, reg 4·64, pos 256·64, final norm 128; per block norm1 128, qkv 64·192 + 192, proj
    /// 64·64 + 64, ls1 64, norm2 128, fc1 128·64 + 128, fc2 64·64 + 64, ls2 64), dino_head 122,848 (64·48 + 48,
    /// 48·48 + 48, 48·384 + 384, weight_g 256, weight_v 256·384), ibot_head 83,808 (bottleneck 256).
    static let parameters = 113_536 + 122_848 + 83_808

    @Test func jsonReportWithoutTheAnchor() async throws {
        let distill = try Paths.requireDistill()
        let result = try await runToEnd(distill, ["bench", "train", "--json", "--no-reference", "--rounds", "2"] + Self.tiny,
                                        timeout: .seconds(300))
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["benchmark"] as? String == "train")
        #expect(report["threads"] as? Int == 1 && report["rounds"] as? Int == 2 && report["warmup_steps"] as? Int == 1)
        #expect(report["reference_skipped"] as? String == "--no-reference")
        #expect(report["reference"] == nil && report["ratio_pytorch_over_swift"] == nil)
        #expect(report["target_ratio"] as? Double == 1.0)

        let configuration = try #require(report["configuration"] as? [String: Any])
        #expect(configuration["student"] as? String == "vit-tiny-train-test")
        #expect(configuration["parameters"] as? Int == Self.parameters)
        for (key, value) in [("batch", 2), ("global_crops", 2), ("local_crops", 2), ("global_size", 56), ("local_size", 28),
                             ("prototypes", 256), ("head_hidden", 48), ("head_layers", 3), ("dino_bottleneck", 384),
                             ("ibot_bottleneck", 256), ("teacher_width", 96)] {
            #expect(configuration[key] as? Int == value, "\(key)")
        }
        // No warmup in the bench's schedules: the first step runs at the top of the cosines (final + ½(base − final)·2,
        // equal to the base up to rounding): lr 0.004·√(2/1024), wd 0.04; τ_t is its final 0.07 from the start.
        let lr = try #require(configuration["lr"] as? Double), weightDecay = try #require(configuration["weight_decay"] as? Double)
        #expect(abs(lr - 0.004 * (2.0 / 1024).squareRoot()) <= 1e-15, "\(lr)")
        #expect(abs(weightDecay - 0.04) <= 1e-15, "\(weightDecay)")
        #expect(configuration["teacher_temperature"] as? Double == 0.07)

        let swift = try #require(report["swift"] as? [String: Any])
        let rounds = try #require(swift["rounds_s_per_step"] as? [Double])
        let steps = try #require(swift["steps"] as? Int)
        let perStep = try #require(swift["s_per_step"] as? Double)
        let wall = try #require(swift["wall_s"] as? Double)
        #expect(rounds.count == 2 && steps >= 4)
        #expect(perStep == rounds.min() && perStep > 0)
        #expect(abs(try #require(swift["images_per_s"] as? Double) - 2 / perStep) <= 1e-9 * (2 / perStep))
        #expect(abs(try #require(swift["cpu_s_per_step"] as? Double) - (try #require(swift["cpu_s"] as? Double)) / Double(steps)) < 1e-12)
        #expect(wall >= perStep * 4 * 0.999)
        #expect((swift["peak_rss_mib"] as? Double ?? 0) > 1)
        // Each loss is a cross-entropy (> 0) of student logits bounded by |s/τ_s| ≤ |weight_g|·‖x̂‖/0.1 ≈ 10 (weight_g 1 at
        // DINOv2's init and moved by ~lr per step, unit bottleneck features), so each (student, teacher) term is below
        // log K + 21; DINO local sums the Ng·Nl = 4 pairs over 6 terms, global the one swapped pair ×2 over 6, iBOT is a
        // mean over patches.
        let bound = log(256.0) + 21
        for key in ["first_losses", "last_losses"] {
            let losses = try #require(swift[key] as? [String: Double], "\(key)")
            let local = try #require(losses["dino_local"]), global = try #require(losses["dino_global"]), ibot = try #require(losses["ibot"])
            #expect(local > 0 && local <= 4.0 / 6 * bound, "\(key) \(losses)")
            #expect(global > 0 && global <= 2.0 / 6 * bound, "\(key) \(losses)")
            #expect(ibot > 0 && ibot <= bound, "\(key) \(losses)")
        }
    }

    @Test func tableSaysWhenTheAnchorIsUnavailable() async throws {
        let distill = try Paths.requireDistill()
        let result = try await runToEnd(distill, ["bench", "train", "--python", "/nonexistent/python3"] + Self.tiny, timeout: .seconds(300))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("train: one DINO + iBOT step, student vit-tiny-train-test (D 64, depth 2, \(Self.parameters) parameters") == true,
                "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("  swift ") })
        #expect(!lines.contains { $0.contains("pytorch") })
        #expect(lines.last == "  anchor unavailable: /nonexistent/python3 cannot import torch and timm")
    }
}
