import Compute
import Foundation
import Models

/// `distill bench vit`: ViT forward throughput on the CPU (images/s at 224 px) for given model configs with
/// random weights, beside PyTorch CPU running the same architecture through timm in the same command
/// (`tools/bench/vit_reference.py`: same batch, `torch.set_num_threads` the same count, `torch.inference_mode`).
///
/// Per model: one untimed warm-up pass (allocates the activations, faults in pages, spins up threads), then
/// timed passes of `batch` images until `minimumSeconds` have passed (at least `minimumPasses`). A pass is
/// `ViT.forward` on an input already normalised, i.e. timm's `forward_features` — patch embedding to final
/// LayerNorm. Images/s = batch × passes ÷ wall seconds of the timed passes. DESIGN.md §5's target is
/// ≥ 1.0× PyTorch on the same model and thread count.
public enum ViTBenchmark {
    /// Settings of one run.
    public struct Options: Sendable {
        /// The models (e.g. configs/models/vit-small-cpu.yaml and h0-mini.yaml).
        public var models: [ViTConfig]
        public var batch = 32
        /// BLAS and kernel threads (and torch's thread count).
        public var threads: Int
        /// Timed passes repeat until this many wall seconds (per model and side).
        public var minimumSeconds = 10.0
        public var minimumPasses = 2
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

    /// One model's figures (either side).
    public struct ModelResult: Codable, Sendable {
        public var name: String
        public var parameters: Int?
        public var passes: Int
        public var seconds: Double
        public var imagesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case name, parameters, passes, seconds = "wall_s", imagesPerSecond = "images_per_s"
        }
    }

    /// What the Python reference printed.
    public struct ReferenceResult: Codable, Sendable {
        public var python: String?
        public var command: [String]?
        public var torch: String?
        public var timm: String?
        public var threads: Int
        public var models: [ModelResult]
    }

    /// The report `distill bench vit --json` prints.
    public struct Report: Codable, Sendable {
        public var benchmark = "vit"
        public var threads: Int
        public var cores: Int
        /// OpenBLAS's kernel family (`CPUBackend.blasCore`).
        public var blasCore: String
        public var batch: Int
        public var imageSize = 224
        public var swift: [ModelResult]
        public var reference: ReferenceResult?
        /// Why the reference did not run, when it did not.
        public var referenceSkipped: String?
        /// Swift images/s ÷ PyTorch images/s, per model name.
        public var ratioSwiftOverPython: [String: Double]?
        /// DESIGN.md §5: ≥ 1.0× PyTorch.
        public var targetRatio = 1.0

        enum CodingKeys: String, CodingKey {
            case benchmark, threads, cores, blasCore = "blas_core", batch, imageSize = "image_size", swift, reference,
                 referenceSkipped = "reference_skipped", ratioSwiftOverPython = "ratio_swift_over_python",
                 targetRatio = "target_ratio"
        }
    }

    /// Runs the Swift side for every model, then the reference (if any).
    /// - Throws: `BenchmarkError` when the reference fails or prints no report; `ViTError` for an unusable model.
    public static func run(_ options: Options, referenceSkipped: String? = nil) throws -> Report {
        guard !options.models.isEmpty else { throw BenchmarkError(message: "no models to benchmark") }
        let backend = CPUBackend(threads: options.threads)
        var results: [ModelResult] = []
        for config in options.models {
            results.append(try measure(config, backend: backend, options: options))
        }
        var report = Report(threads: options.threads, cores: ProcessInfo.processInfo.activeProcessorCount,
                            blasCore: CPUBackend.blasCore, batch: options.batch, swift: results, referenceSkipped: referenceSkipped)
        if let reference = options.reference {
            let result = try runReference(reference, options: options)
            report.reference = result
            var ratios: [String: Double] = [:]
            for model in results {
                if let python = result.models.first(where: { $0.name == model.name }) {
                    ratios[model.name] = model.imagesPerSecond / max(python.imagesPerSecond, 1e-12)
                }
            }
            report.ratioSwiftOverPython = ratios
        }
        return report
    }

    /// Times `ViT.forward` on random weights and inputs for one config at 224 px.
    static func measure(_ config: ViTConfig, backend: CPUBackend, options: Options) throws -> ModelResult {
        let parameters = ViTParameters.random(config: config, backend: backend, seed: 1)
        let model = ViT(config: config, parameters: parameters, backend: backend)
        let activations = model.makeActivations(batch: options.batch, height: config.imgSize, width: config.imgSize)
        var generator = SystemRandomNumberGenerator()
        let count = activations.images.count
        let values = (0..<count).map { _ in Float.random(in: -2...2, using: &generator) }
        values.withUnsafeBufferPointer { backend.upload($0, to: activations.images) }
        try model.forward(activations)
        var passes = 0
        let start = ContinuousClock.now
        var elapsed = 0.0
        repeat {
            try model.forward(activations)
            passes += 1
            elapsed = (ContinuousClock.now - start) / .seconds(1)
        } while elapsed < options.minimumSeconds || passes < options.minimumPasses
        return ModelResult(name: config.name, parameters: parameters.layout.count, passes: passes, seconds: elapsed,
                           imagesPerSecond: Double(passes * options.batch) / elapsed)
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
        let (status, output, errors) = try TilingBenchmark.runProcess(reference.python, arguments)
        guard status == 0 else {
            throw BenchmarkError(message: "the Python reference failed (exit \(status)): \(errors.suffix(2000))")
        }
        do {
            var result = try JSONDecoder().decode(ReferenceResult.self, from: Data(output.utf8))
            result.command = [reference.python] + arguments
            return result
        } catch {
            throw BenchmarkError(message: "the Python reference printed no report: \(error); output: \(output.prefix(500))")
        }
    }

    /// Whether `python` can import torch and timm.
    public static func pythonHasReferenceModules(_ python: String) -> Bool {
        (try? TilingBenchmark.runProcess(python, ["-c", "import torch, timm"]).status) == 0
    }
}
