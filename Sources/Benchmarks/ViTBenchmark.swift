import Compute
import Foundation
import Models

/// `distill bench vit`: ViT forward throughput on the CPU (images/s at 224 px) for given model configs with
/// random weights, beside PyTorch CPU running the same architecture through timm in the same command
/// (`tools/bench/vit_reference.py`: same batch, `torch.set_num_threads` the same count, `torch.inference_mode`).
///
/// Per model and side: one untimed warm-up pass (allocates the activations, faults in pages, starts threads),
/// then timed passes of `batch` images until `minimumSeconds` have passed (at least `minimumPasses`). A pass is
/// `ViT.forward` on an input already normalised, i.e. timm's `forward_features` — patch embedding to final
/// LayerNorm. The two sides alternate for `rounds` rounds (Swift, then Python, then Swift …), so that load
/// from other processes hits both alike; each side's figure is its **best round** (images/s = batch × passes
/// ÷ wall seconds), and images per CPU second (process user + system time over all rounds) is given too.
/// DESIGN.md §5's target is ≥ 1.0× PyTorch on the same model and thread count.
public enum ViTBenchmark {
    /// Settings of one run.
    public struct Options: Sendable {
        /// The models (e.g. configs/models/vit-small-cpu.yaml and h0-mini.yaml).
        public var models: [ViTConfig]
        public var batch = 32
        /// BLAS and kernel threads (and torch's thread count).
        public var threads: Int
        /// Timed passes repeat until this many wall seconds (per model, side and round).
        public var minimumSeconds = 10.0
        public var minimumPasses = 2
        /// Alternating Swift/Python rounds.
        public var rounds = 1
        /// The Python reference: nil = skip.
        public var reference: ReferenceOptions?

        public init(models: [ViTConfig], threads: Int) {
            self.models = models
            self.threads = threads
        }
    }

    /// How to run the Python reference.
    public struct ReferenceOptions: Sendable {
        public var python: String
        public var script: String
        public init(python: String, script: String) {
            self.python = python
            self.script = script
        }
    }

    /// One model's figures on one side: the best round, and totals over all rounds.
    public struct ModelResult: Codable, Sendable {
        public var name: String
        public var parameters: Int?
        /// Images/s of each round.
        public var rounds: [Double]
        /// Timed passes over all rounds.
        public var passes: Int
        /// Wall seconds of the timed passes, all rounds.
        public var seconds: Double
        /// Process CPU seconds (user + system) of the timed passes, all rounds.
        public var cpuSeconds: Double
        /// The best round's images per wall second.
        public var imagesPerSecond: Double
        /// Images per CPU second over all rounds.
        public var imagesPerCPUSecond: Double

        enum CodingKeys: String, CodingKey {
            case name, parameters, rounds = "rounds_images_per_s", passes, seconds = "wall_s", cpuSeconds = "cpu_s",
                 imagesPerSecond = "images_per_s", imagesPerCPUSecond = "images_per_cpu_s"
        }

        /// Merges one more round.
        mutating func add(_ round: ModelResult) {
            rounds += round.rounds
            passes += round.passes
            seconds += round.seconds
            cpuSeconds += round.cpuSeconds
            imagesPerSecond = max(imagesPerSecond, round.imagesPerSecond)
            imagesPerCPUSecond = (imagesPerCPUSecond * (cpuSeconds - round.cpuSeconds) + round.imagesPerCPUSecond * round.cpuSeconds)
                / max(cpuSeconds, 1e-12)
        }
    }

    /// What the Python reference printed (one round), with the command that ran it.
    public struct ReferenceResult: Codable, Sendable {
        public var python: String?
        public var command: [String]?
        public var torch: String?
        public var timm: String?
        public var threads: Int
        public var models: [ModelResult]
    }

    /// Swift ÷ PyTorch for one model.
    public struct Ratio: Codable, Sendable {
        /// Best-round images/s.
        public var wall: Double
        /// Images per CPU second.
        public var cpu: Double
    }

    /// The report `distill bench vit --json` prints.
    public struct Report: Codable, Sendable {
        public var benchmark = "vit"
        public var threads: Int
        public var cores: Int
        /// OpenBLAS's kernel family (`CPUBackend.blasCore`).
        public var blasCore: String
        /// How it was chosen.
        public var blasCoreSelection: BLASCoreSelection
        public var batch: Int
        public var imageSize = 224
        public var rounds: Int
        public var swift: [ModelResult]
        /// The reference's figures, merged over rounds like `swift`.
        public var reference: ReferenceResult?
        /// Why the reference did not run, when it did not.
        public var referenceSkipped: String?
        /// Swift ÷ PyTorch per model name.
        public var ratioSwiftOverPython: [String: Ratio]?
        /// DESIGN.md §5: ≥ 1.0× PyTorch.
        public var targetRatio = 1.0

        enum CodingKeys: String, CodingKey {
            case benchmark, threads, cores, blasCore = "blas_core", blasCoreSelection = "blas_core_selection", batch, imageSize = "image_size", rounds, swift,
                 reference, referenceSkipped = "reference_skipped", ratioSwiftOverPython = "ratio_swift_over_python",
                 targetRatio = "target_ratio"
        }
    }

    /// Runs the rounds: the Swift side for every model, then the reference (if any), `rounds` times.
    /// - Throws: `BenchmarkError` when the reference fails or prints no report; `ViTError` for an unusable model.
    public static func run(_ options: Options, referenceSkipped: String? = nil) throws -> Report {
        guard !options.models.isEmpty else { throw BenchmarkError(message: "no models to benchmark") }
        guard options.rounds >= 1 else { throw BenchmarkError(message: "rounds must be at least 1") }
        let backend = CPUBackend(threads: options.threads)
        let models = options.models.map { config in
            ViT(config: config, parameters: ViTParameters.random(config: config, backend: backend, seed: 1), backend: backend)
        }
        var swift: [ModelResult] = []
        var reference: ReferenceResult?
        for round in 0..<options.rounds {
            for (index, model) in models.enumerated() {
                let result = try measure(model, options: options)
                if round == 0 { swift.append(result) } else { swift[index].add(result) }
            }
            if let referenceOptions = options.reference {
                let result = try runReference(referenceOptions, options: options)
                if var merged = reference {
                    for (index, model) in result.models.enumerated() where index < merged.models.count {
                        merged.models[index].add(model)
                    }
                    reference = merged
                } else {
                    reference = result
                }
            }
        }
        var report = Report(threads: options.threads, cores: ProcessInfo.processInfo.activeProcessorCount,
                            blasCore: CPUBackend.blasCore, blasCoreSelection: .current, batch: options.batch, rounds: options.rounds, swift: swift,
                            reference: reference, referenceSkipped: referenceSkipped)
        if let reference {
            var ratios: [String: Ratio] = [:]
            for model in swift {
                if let python = reference.models.first(where: { $0.name == model.name }) {
                    ratios[model.name] = Ratio(wall: model.imagesPerSecond / max(python.imagesPerSecond, 1e-12),
                                               cpu: model.imagesPerCPUSecond / max(python.imagesPerCPUSecond, 1e-12))
                }
            }
            report.ratioSwiftOverPython = ratios
        }
        return report
    }

    /// Times `ViT.forward` on random inputs at the config's image size: one round.
    static func measure(_ model: ViT, options: Options) throws -> ModelResult {
        let config = model.config
        let activations = model.makeActivations(batch: options.batch, height: config.imgSize, width: config.imgSize)
        // Inputs in [-2, 2) from a 32-bit LCG (Numerical Recipes constants): cheap, and any values do for timing.
        var state: UInt32 = 12345
        let values = (0..<activations.images.count).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) * 4 - 2
        }
        values.withUnsafeBufferPointer { model.backend.upload($0, to: activations.images) }
        try model.forward(activations)
        var passes = 0
        let cpuStart = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        var elapsed = 0.0
        repeat {
            try model.forward(activations)
            passes += 1
            elapsed = (ContinuousClock.now - start) / .seconds(1)
        } while elapsed < options.minimumSeconds || passes < options.minimumPasses
        let cpu = EngineBenchmark.cpuSeconds() - cpuStart
        let images = Double(passes * options.batch)
        return ModelResult(name: config.name, parameters: model.parameters.layout.count, rounds: [images / elapsed],
                           passes: passes, seconds: elapsed, cpuSeconds: cpu, imagesPerSecond: images / elapsed,
                           imagesPerCPUSecond: images / max(cpu, 1e-12))
    }

    /// Runs `python vit_reference.py --batch … --threads … --min-seconds … --model JSON…` and parses its JSON.
    static func runReference(_ reference: ReferenceOptions, options: Options) throws -> ReferenceResult {
        var arguments = [reference.script, "--batch", String(options.batch), "--threads", String(options.threads),
                         "--min-seconds", String(options.minimumSeconds), "--min-passes", String(options.minimumPasses)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for model in options.models {
            arguments += ["--model", String(decoding: try encoder.encode(model), as: UTF8.self)]
        }
        var result = try PythonReference.report(reference.python, arguments, as: ReferenceResult.self)
        result.command = [reference.python] + arguments
        return result
    }

    /// Whether `python` can import torch and timm.
    public static func pythonHasReferenceModules(_ python: String) -> Bool {
        PythonReference.hasModules(python, "torch, timm")
    }
}
