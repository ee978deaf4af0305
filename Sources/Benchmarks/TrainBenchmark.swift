import Compute
import Foundation
import Models
import Training

#if canImport(Glibc)
import Glibc
#endif

/// `distill bench train`: one `DistillationTrainer` step of a small configuration on the CPU, beside the same step
/// in PyTorch eager (`tools/bench/train_reference.py`: timm `VisionTransformer`, DINOv2's `DINOHead`, softmax
/// centering, DINO + iBOT losses, backward, `clip_grad_norm_` 3.0 per module, `torch.optim.AdamW` with DINOv2's
/// fused parameter groups; float32, `torch.set_num_threads` the same count) in the same command.
///
/// The step (distillation-spec.md §4.11): frozen teacher heads on random teacher `x_norm` tokens `[Ng·B, D_t]`
/// and `[Ng·B·Np, D_t]` → teacher logits; student forward on `Ng·B` global crops of `S` px and `Nl·B` local crops
/// of `s` px (random, already normalised), `dino_head` on every CLS and `ibot_head` on every global patch token;
/// DINO loss over the `Ng·Nl + Ng(Ng − 1)` pairs and iBOT over all patches; backward; per-module clipping; AdamW.
/// The schedules have no warmup and no frozen last layer, so every step runs at the peak lr `baseLR·√(B/1024)`
/// with weight decay 0.04 and τ_t 0.07 (a step's cost does not depend on these values).
///
/// Each round and side: `warmupSteps` untimed steps (allocation, page faults, threads), then timed steps until
/// `minimumSeconds` (at least `minimumSteps`). With several rounds the sides alternate (Swift, PyTorch, Swift …)
/// so that load from other processes hits both alike; each side reports its **best round** (lowest wall s/step)
/// and its CPU seconds per step over all rounds (process user + system time), the steadier figure on a shared
/// machine. The ratio is PyTorch's s/step ÷ Swift's (> 1: Swift is faster); issue #5 item 8's target is ≥ 1.0×.
public enum TrainBenchmark {
    /// The step's shape and the run's settings.
    public struct Options: Sendable {
        /// The student backbone (default configs/models/vit-tiny-bench.yaml).
        public var student: ViTConfig
        /// B, samples per step.
        public var batch = 4
        /// Ng and Nl crops per sample, and their sizes in px.
        public var globalCrops = 2, localCrops = 8, globalSize = 224, localSize = 98
        /// K, prototypes of all four heads.
        public var prototypes = 4096
        /// The heads' hidden width and MLP depth, and the DINO / iBOT bottlenecks (H0-mini: 2048, 3, 384, 256).
        public var headHidden = 2048, headLayers = 3, dinoBottleneck = 384, ibotBottleneck = 256
        /// D_t, the teacher's token width (its heads' input).
        public var teacherWidth = 384
        /// Kernel and BLAS threads (and torch's thread count).
        public var threads = 1
        /// Untimed steps at the start of each round.
        public var warmupSteps = 1
        /// Timed steps repeat until this many wall seconds (per side and round), at least `minimumSteps`.
        public var minimumSeconds = 10.0
        public var minimumSteps = 3
        /// Alternating Swift/PyTorch rounds.
        public var rounds = 1
        /// The Python reference: nil = skip.
        public var reference: ReferenceOptions?

        /// The defaults above for `student`.
        public init(student: ViTConfig) { self.student = student }

        /// The trainer settings of the step: DINOv2's defaults (τ_s 0.1, centering momentum 0.9, clip 3.0,
        /// layer-wise decay 0.9, patch-embed lr × 0.2) with schedules that start at their peak (no lr warmup, no
        /// teacher-temperature warmup, last layer not frozen).
        public var trainerSettings: DistillationTrainer.Settings {
            var schedules = TrainingSchedules.Settings(epochs: 100, batchSize: batch)
            schedules.warmupEpochs = 0
            schedules.warmupTeacherTemperatureEpochs = 0
            schedules.freezeLastLayerEpochs = 0
            var settings = DistillationTrainer.Settings(batch: batch, schedules: schedules)
            settings.globalCrops = globalCrops
            settings.localCrops = localCrops
            settings.globalSize = globalSize
            settings.localSize = localSize
            return settings
        }
    }

    /// How to run the Python reference.
    public struct ReferenceOptions: Sendable {
        /// The interpreter (a path, or a name looked up on PATH).
        public var python: String
        /// `tools/bench/train_reference.py`.
        public var script: String
        /// Runs `script` with the interpreter `python`.
        public init(python: String, script: String) {
            self.python = python
            self.script = script
        }
    }

    /// The step's configuration as both sides ran it.
    public struct Configuration: Codable, Sendable {
        /// The student backbone's config name, width D and depth.
        public var student: String
        public var embedDim: Int, depth: Int
        /// Student parameters (backbone and both heads).
        public var parameters: Int
        /// B; Ng, Nl crops per sample and their sizes, px.
        public var batch: Int, globalCrops: Int, localCrops: Int, globalSize: Int, localSize: Int
        /// K; the heads' hidden width, MLP layers and bottlenecks.
        public var prototypes: Int, headHidden: Int, headLayers: Int, dinoBottleneck: Int, ibotBottleneck: Int
        /// D_t, the teacher tokens' width.
        public var teacherWidth: Int
        /// Schedule values of the step: lr, weight decay, τ_t.
        public var lr: Double, weightDecay: Double, teacherTemperature: Double

        enum CodingKeys: String, CodingKey {
            case student, embedDim = "embed_dim", depth, parameters, batch, globalCrops = "global_crops", localCrops = "local_crops",
                 globalSize = "global_size", localSize = "local_size", prototypes, headHidden = "head_hidden", headLayers = "head_layers",
                 dinoBottleneck = "dino_bottleneck", ibotBottleneck = "ibot_bottleneck", teacherWidth = "teacher_width", lr,
                 weightDecay = "weight_decay", teacherTemperature = "teacher_temperature"
        }
    }

    /// `L_dino_local`, `L_dino_global`, `L_ibot` of one step.
    public struct Losses: Codable, Sendable {
        /// `DistillationObjective.Losses`' three terms.
        public var dinoLocal: Double, dinoGlobal: Double, ibot: Double

        enum CodingKeys: String, CodingKey {
            case dinoLocal = "dino_local", dinoGlobal = "dino_global", ibot
        }
    }

    /// One side's figures: the best round, and totals over all rounds (the Python script prints the same keys).
    public struct SideResult: Codable, Sendable {
        /// Wall seconds per step of each round.
        public var rounds: [Double]
        /// Timed steps over all rounds.
        public var steps: Int
        /// Wall and process CPU seconds (user + system) of the timed steps, all rounds.
        public var seconds: Double, cpuSeconds: Double
        /// The best round's wall seconds per step.
        public var secondsPerStep: Double
        /// Samples (B per step) per wall second in the best round.
        public var imagesPerSecond: Double
        /// CPU seconds per step over all rounds.
        public var cpuSecondsPerStep: Double
        /// The process's peak resident set, MiB (getrusage `ru_maxrss`).
        public var peakRSSMiB: Double?
        /// The losses of the first and the last timed step of the last round (a sanity check, not a parity one:
        /// the two sides draw different weights and inputs).
        public var firstLosses: Losses?, lastLosses: Losses?

        enum CodingKeys: String, CodingKey {
            case rounds = "rounds_s_per_step", steps, seconds = "wall_s", cpuSeconds = "cpu_s", secondsPerStep = "s_per_step",
                 imagesPerSecond = "images_per_s", cpuSecondsPerStep = "cpu_s_per_step", peakRSSMiB = "peak_rss_mib",
                 firstLosses = "first_losses", lastLosses = "last_losses"
        }

        /// Merges one more round (the peak RSS and losses are the later round's).
        mutating func add(_ round: SideResult) {
            rounds += round.rounds
            steps += round.steps
            seconds += round.seconds
            cpuSeconds += round.cpuSeconds
            secondsPerStep = min(secondsPerStep, round.secondsPerStep)
            imagesPerSecond = max(imagesPerSecond, round.imagesPerSecond)
            cpuSecondsPerStep = cpuSeconds / Double(max(steps, 1))
            peakRSSMiB = round.peakRSSMiB ?? peakRSSMiB
            firstLosses = round.firstLosses
            lastLosses = round.lastLosses
        }
    }

    /// What the Python reference printed (one round, or merged rounds), with the command that ran it.
    public struct ReferenceResult: Codable, Sendable {
        /// Python's version, and the command line `distill` ran.
        public var python: String?
        public var command: [String]?
        /// torch and timm versions.
        public var torch: String?
        public var timm: String?
        /// `torch.get_num_threads()`.
        public var threads: Int
        /// The AdamW implementation torch chose (`single-tensor`, `foreach` or `fused`).
        public var optimizer: String?
        /// The student's parameters (backbone and heads), to compare with `Configuration.parameters`.
        public var parameters: Int?
        /// The step's figures, as the Swift side's.
        public var result: SideResult
    }

    /// PyTorch ÷ Swift seconds per step.
    public struct Ratio: Codable, Sendable {
        /// Best-round wall seconds per step.
        public var wall: Double
        /// CPU seconds per step.
        public var cpu: Double
    }

    /// The report `distill bench train --json` prints.
    public struct Report: Codable, Sendable {
        /// Always `train`: which benchmark the JSON came from.
        public var benchmark = "train"
        /// Kernel threads of both sides, and the machine's active processors.
        public var threads: Int
        public var cores: Int
        /// OpenBLAS's kernel family (`CPUBackend.blasCore`) and how it was chosen.
        public var blasCore: String
        public var blasCoreSelection: BLASCoreSelection
        /// The step's shape as run (model, crops, heads, K, parameter count).
        public var configuration: Configuration
        /// Untimed steps per side and round; alternating rounds.
        public var warmupSteps: Int
        public var rounds: Int
        /// The Swift side, merged over rounds; the reference's, when it ran.
        public var swift: SideResult
        public var reference: ReferenceResult?
        /// Why the reference did not run, when it did not.
        public var referenceSkipped: String?
        /// PyTorch s/step ÷ Swift s/step.
        public var ratioPytorchOverSwift: Ratio?
        /// Issue #5 item 8: ≥ 1.0×.
        public var targetRatio = 1.0

        enum CodingKeys: String, CodingKey {
            case benchmark, threads, cores, blasCore = "blas_core", blasCoreSelection = "blas_core_selection", configuration,
                 warmupSteps = "warmup_steps", rounds, swift, reference, referenceSkipped = "reference_skipped",
                 ratioPytorchOverSwift = "ratio_pytorch_over_swift", targetRatio = "target_ratio"
        }
    }

    /// Builds the trainer and runs the rounds: the Swift step, then the reference (if any), `rounds` times.
    /// - Throws: `BenchmarkError` for an unusable setting or when the reference fails or prints no report;
    ///   `TrainingError` from the trainer's construction; `TrainingStepError` from a step.
    public static func run(_ options: Options, referenceSkipped: String? = nil) throws -> Report {
        guard options.rounds >= 1, options.minimumSteps >= 1, options.warmupSteps >= 0, options.threads >= 1 else {
            throw BenchmarkError(message: "rounds, min steps and threads must be at least 1, warm-up steps at least 0")
        }
        let backend = CPUBackend(threads: options.threads)
        let trainer = try makeTrainer(options, backend: backend)
        let batch = makeBatch(options, patchTokens: trainer.patchTokens)
        let values = trainer.schedules[0]
        let student = options.student
        let configuration = Configuration(
            student: student.name, embedDim: student.embedDim, depth: student.depth, parameters: trainer.table.count,
            batch: options.batch, globalCrops: options.globalCrops, localCrops: options.localCrops, globalSize: options.globalSize,
            localSize: options.localSize, prototypes: options.prototypes, headHidden: options.headHidden, headLayers: options.headLayers,
            dinoBottleneck: options.dinoBottleneck, ibotBottleneck: options.ibotBottleneck, teacherWidth: options.teacherWidth,
            lr: values.lr, weightDecay: values.weightDecay, teacherTemperature: values.teacherTemperature)

        var swift: SideResult?
        var reference: ReferenceResult?
        for _ in 0..<options.rounds {
            let round = try measure(trainer, batch: batch, options: options)
            if swift == nil { swift = round } else { swift!.add(round) }
            if let referenceOptions = options.reference {
                let result = try runReference(referenceOptions, options: options, configuration: configuration)
                if reference == nil { reference = result } else { reference!.result.add(result.result) }
            }
        }
        var report = Report(threads: options.threads, cores: ProcessInfo.processInfo.activeProcessorCount, blasCore: CPUBackend.blasCore,
                            blasCoreSelection: .current, configuration: configuration, warmupSteps: options.warmupSteps,
                            rounds: options.rounds, swift: swift!, reference: reference, referenceSkipped: referenceSkipped)
        if let python = reference?.result, let swift {
            report.ratioPytorchOverSwift = Ratio(wall: python.secondsPerStep / max(swift.secondsPerStep, 1e-12),
                                                 cpu: python.cpuSecondsPerStep / max(swift.cpuSecondsPerStep, 1e-12))
        }
        return report
    }

    /// The student (`StudentInitialization.dinov2`, seed 1) with `dino_head` and `ibot_head`, random frozen teacher
    /// heads of input width D_t (`TeacherHeads.initialized`, seed 2), and the trainer over them.
    static func makeTrainer(_ options: Options, backend: CPUBackend) throws -> DistillationTrainer {
        guard options.student.patchSize > 0, options.globalSize % options.student.patchSize == 0,
              options.localSize % options.student.patchSize == 0 else {
            throw BenchmarkError(message: "crop sizes \(options.globalSize) and \(options.localSize) px must be multiples of the patch size \(options.student.patchSize)")
        }
        guard [options.batch, options.globalCrops, options.prototypes, options.headHidden, options.headLayers, options.dinoBottleneck,
               options.ibotBottleneck, options.teacherWidth].allSatisfy({ $0 >= 1 }), options.localCrops >= 0 else {
            throw BenchmarkError(message: "batch, crops, prototypes and head sizes must be at least 1 (local crops at least 0)")
        }
        func head(_ inFeatures: Int, _ bottleneck: Int) -> HeadConfig {
            HeadConfig(inFeatures: inFeatures, hiddenFeatures: options.headHidden, bottleneckFeatures: bottleneck,
                       prototypes: options.prototypes, layers: options.headLayers)
        }
        let d = options.student.embedDim
        let layout = StudentLayout(backbone: options.student, heads: [
            .init(name: "dino_head", config: head(d, options.dinoBottleneck)),
            .init(name: "ibot_head", config: head(d, options.ibotBottleneck)),
        ])
        let student = Student.initialized(layout: layout, backend: backend, seed: 1)
        let teacher = TeacherHeads.initialized(dino: head(options.teacherWidth, options.dinoBottleneck),
                                               ibot: head(options.teacherWidth, options.ibotBottleneck), backend: backend, seed: 2)
        return try DistillationTrainer(settings: options.trainerSettings, student: student, teacherHeads: teacher)
    }

    /// One batch of uniform values in [-2, 2) (crops as if normalised, teacher tokens as if LayerNorm outputs),
    /// reused by every step: a step's cost does not depend on its inputs.
    static func makeBatch(_ options: Options, patchTokens: Int) -> TrainingBatch {
        // A 32-bit LCG (Numerical Recipes constants): cheap, and any values do for timing.
        var state: UInt32 = 12345
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 8) / Float(1 << 24) * 4 - 2
            }
        }
        let b = options.batch, globals = options.globalCrops * b, locals = options.localCrops * b
        let samples = (0..<b).map { SampleTag(sampleID: UInt64($0), slideID: "bench", x: 224 * $0, y: 0) }
        return TrainingBatch(samples: samples, globalImages: values(globals * 3 * options.globalSize * options.globalSize),
                             localImages: values(locals * 3 * options.localSize * options.localSize),
                             teacherCLS: values(globals * options.teacherWidth),
                             teacherPatches: values(globals * patchTokens * options.teacherWidth))
    }

    /// One round of the Swift side: warm-up steps, then timed steps.
    static func measure(_ trainer: DistillationTrainer, batch: TrainingBatch, options: Options) throws -> SideResult {
        for _ in 0..<options.warmupSteps { _ = try trainer.step(batch) }
        var steps = 0
        var first: TrainingStepReport?, last: TrainingStepReport?
        let cpuStart = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        var elapsed = 0.0
        repeat {
            let report = try trainer.step(batch)
            if first == nil { first = report }
            last = report
            steps += 1
            elapsed = (ContinuousClock.now - start) / .seconds(1)
        } while elapsed < options.minimumSeconds || steps < options.minimumSteps
        let cpu = EngineBenchmark.cpuSeconds() - cpuStart
        let perStep = elapsed / Double(steps)
        return SideResult(rounds: [perStep], steps: steps, seconds: elapsed, cpuSeconds: cpu, secondsPerStep: perStep,
                          imagesPerSecond: Double(options.batch) / perStep, cpuSecondsPerStep: cpu / Double(steps),
                          peakRSSMiB: peakRSSMiB(), firstLosses: first?.losses.map(losses), lastLosses: last?.losses.map(losses))
    }

    /// The report's copy of a step's losses.
    static func losses(_ l: DistillationObjective.Losses) -> Losses {
        Losses(dinoLocal: l.dinoLocal, dinoGlobal: l.dinoGlobal, ibot: l.ibot)
    }

    /// This process's peak resident set in MiB (`ru_maxrss`, KiB on Linux).
    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Runs `python train_reference.py --model JSON --batch … ` and parses its JSON.
    static func runReference(_ reference: ReferenceOptions, options: Options, configuration c: Configuration) throws -> ReferenceResult {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let model = String(decoding: try encoder.encode(options.student), as: UTF8.self)
        let settings = options.trainerSettings
        var arguments = [reference.script, "--model", model, "--threads", String(options.threads)]
        let numbers: [(String, String)] = [
            ("batch", "\(c.batch)"), ("global-crops", "\(c.globalCrops)"), ("local-crops", "\(c.localCrops)"),
            ("global-size", "\(c.globalSize)"), ("local-size", "\(c.localSize)"), ("prototypes", "\(c.prototypes)"),
            ("head-hidden", "\(c.headHidden)"), ("head-layers", "\(c.headLayers)"), ("dino-bottleneck", "\(c.dinoBottleneck)"),
            ("ibot-bottleneck", "\(c.ibotBottleneck)"), ("teacher-width", "\(c.teacherWidth)"), ("lr", "\(c.lr)"),
            ("weight-decay", "\(c.weightDecay)"), ("teacher-temperature", "\(c.teacherTemperature)"),
            ("student-temperature", "\(settings.studentTemperature)"), ("clip", "\(settings.clipGradient)"),
            ("layerwise-decay", "\(settings.layerwiseDecay)"), ("patch-embed-lr-mult", "\(settings.patchEmbedLRMultiplier)"),
            ("warmup-steps", "\(options.warmupSteps)"), ("min-seconds", "\(options.minimumSeconds)"), ("min-steps", "\(options.minimumSteps)"),
        ]
        for (name, value) in numbers { arguments += ["--" + name, value] }
        var result = try PythonReference.report(reference.python, arguments, as: ReferenceResult.self)
        result.command = [reference.python] + arguments
        return result
    }

    /// Why the reference cannot run with `python` (it cannot import torch and timm), or nil when it can.
    public static func referenceUnavailable(_ python: String) -> String? {
        PythonReference.hasModules(python, "torch, timm") ? nil : "\(python) cannot import torch and timm"
    }
}
