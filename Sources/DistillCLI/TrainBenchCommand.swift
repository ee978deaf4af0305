import ArgumentParser
import Benchmarks
import CUDA
import Distillery
import Foundation

/// `distill bench train`.
struct TrainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "One DINO + iBOT distillation step on the CPU (student forward/backward, heads, losses, clip, AdamW; random frozen teacher heads and tokens): s/step beside the same step in PyTorch eager; or on a GPU (--device cuda: the ViT-g/14 teacher forward and the ViT-B/14 student step at batch 32, K 131,072) beside pytorch_baseline.py's figures (--anchor-json).")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Student backbone config (default: configs/models/vit-tiny-bench.yaml; on cuda configs/models/h0-mini.yaml).")
    var config: String?

    @Option(help: "cpu or cuda (the CUDA backend's step, docs/cuda.md).")
    var device = "cpu"

    @Option(name: .customLong("teacher-config"), help: "cuda: the teacher backbone config (default configs/models/h-optimus-0.yaml).")
    var teacherConfig: String?

    @Option(name: .customLong("anchor-json"), help: "cuda: the JSON pytorch_baseline.py wrote (--out) in the same GPU job.")
    var anchorJSON: String?

    @Option(help: "cuda: timed steps (after 2 warm-up steps).")
    var steps = 8

    @Option(name: .customLong("peak-tflops"), help: "cuda: the device's dense bf16 peak for the MFU (default: 989.4 on H100/H200).")
    var peakTFLOPs: Double?

    @Option(help: "cuda: the NVRTC library (libnvrtc.so.13) or its folder.")
    var nvrtc: String?

    @Flag(help: "cuda: after the timed steps, one step more with CUDA events around every kernel and GEMM: device time per operation.")
    var profile = false

    @Option(help: "Threads for BLAS and the kernels, and for torch.")
    var threads = 1

    @Option(help: "B, samples per step (default 4; on cuda 32).")
    var batch: Int?

    @Option(name: .customLong("local-crops"), help: "Local crops per sample (2 global crops).")
    var localCrops = 8

    @Option(name: .customLong("global-size"), help: "Global crop size, px.")
    var globalSize = 224

    @Option(name: .customLong("local-size"), help: "Local crop size, px.")
    var localSize = 98

    @Option(help: "K, prototypes of the DINO and iBOT heads (default 4096; on cuda 131072).")
    var prototypes: Int?

    @Option(name: .customLong("head-hidden"), help: "Hidden width of the heads' MLPs (3 layers; bottlenecks 384 DINO, 256 iBOT).")
    var headHidden = 2048

    @Option(name: .customLong("teacher-width"), help: "Width of the random teacher tokens (the frozen teacher heads' input).")
    var teacherWidth = 384

    @Option(name: .customLong("warmup-steps"), help: "Untimed steps per side and round.")
    var warmupSteps = 1

    @Option(name: .customLong("min-seconds"), help: "Timed steps repeat until this many wall seconds, per side and round.")
    var minimumSeconds = 10.0

    @Option(name: .customLong("min-steps"), help: "Timed steps per side and round, at least.")
    var minimumSteps = 3

    @Option(help: "Alternating Swift/PyTorch rounds; each side reports its best round.")
    var rounds = 1

    @Option(help: "Python interpreter for the reference (needs torch and timm; default $DISTILL_PYTHON, else python3).")
    var python = ProcessInfo.processInfo.environment["DISTILL_PYTHON"] ?? "python3"

    @Option(name: .customLong("reference-script"), help: "The reference script (default: tools/bench/train_reference.py, looked up from the current folder and the executable's).")
    var referenceScript: String?

    @Flag(inversion: .prefixedNo, help: "Run the PyTorch reference too (default: when --python can import torch and timm).")
    var reference: Bool?

    func validate() throws {
        guard device == "cpu" || device == "cuda" else { throw ValidationError("--device must be cpu or cuda, got '\(device)'") }
        guard threads >= 1, (batch ?? 1) >= 1, rounds >= 1, minimumSteps >= 1, steps >= 1 else {
            throw ValidationError("--threads, --batch, --rounds and --min-steps must be at least 1")
        }
        guard localCrops >= 0, warmupSteps >= 0 else { throw ValidationError("--local-crops and --warmup-steps must be at least 0") }
        guard (prototypes ?? 1) >= 1, headHidden >= 1, teacherWidth >= 1 else {
            throw ValidationError("--prototypes, --head-hidden and --teacher-width must be at least 1")
        }
    }

    func run() async throws {
        if device == "cuda" { return try runCUDA() }
        guard let path = config ?? TilingBench.findFile("configs/models/vit-tiny-bench.yaml") else {
            throw ValidationError("configs/models/vit-tiny-bench.yaml not found; give --config")
        }
        var options = TrainBenchmark.Options(student: try ViTConfig.load(path: path))
        options.threads = threads
        options.batch = batch ?? 4
        options.localCrops = localCrops
        options.globalSize = globalSize
        options.localSize = localSize
        options.prototypes = prototypes ?? 4096
        options.headHidden = headHidden
        options.teacherWidth = teacherWidth
        options.warmupSteps = warmupSteps
        options.minimumSeconds = minimumSeconds
        options.minimumSteps = minimumSteps
        options.rounds = rounds
        var skipped: String?
        if reference == false {
            skipped = "--no-reference"
        } else if let why = TrainBenchmark.referenceUnavailable(python) {
            if reference == true { throw ValidationError("\(why) (see tools/bench/README.md)") }
            skipped = why
        } else if let script = referenceScript ?? TilingBench.findFile("tools/bench/train_reference.py") {
            options.reference = TrainBenchmark.ReferenceOptions(python: python, script: script)
        } else {
            if reference == true { throw ValidationError("tools/bench/train_reference.py not found; give --reference-script") }
            skipped = "tools/bench/train_reference.py not found"
        }
        let report = try TrainBenchmark.run(options, referenceSkipped: skipped)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let c = report.configuration
        Console.out("train: one DINO + iBOT step, student \(c.student) (D \(c.embedDim), depth \(c.depth), \(c.parameters) parameters with heads), "
                    + "B \(c.batch), \(c.globalCrops) × \(c.globalSize) + \(c.localCrops) × \(c.localSize) px, K \(c.prototypes), heads \(c.headHidden) hidden, "
                    + "teacher width \(c.teacherWidth)")
        Console.out("  \(report.threads) threads, \(report.rounds) round(s), \(report.warmupSteps) warm-up step(s), \(report.cores) cores on the machine, "
                    + "OpenBLAS core \(report.blasCore)")
        Console.out("  side      s/step (best)  images/s  CPU s/step  peak RSS  steps")
        func row(_ name: String, _ side: TrainBenchmark.SideResult) {
            let padded = name.padding(toLength: 8, withPad: " ", startingAt: 0)
            Console.out("  " + padded + String(format: " %12.3f  %8.2f  %10.3f  %5.0f MiB  %5d", side.secondsPerStep, side.imagesPerSecond,
                                                side.cpuSecondsPerStep, side.peakRSSMiB ?? .nan, side.steps))
        }
        row("swift", report.swift)
        if let python = report.reference, let ratio = report.ratioPytorchOverSwift {
            row("pytorch", python.result)
            Console.out("  pytorch: torch \(python.torch ?? "?"), timm \(python.timm ?? "?"), AdamW \(python.optimizer ?? "?"), "
                        + "\(python.parameters.map(String.init) ?? "?") student parameters")
            Console.out(String(format: "  ratio pytorch/swift time: %.2f× wall (best round), %.2f× CPU (target ≥ %.1f×)", ratio.wall, ratio.cpu,
                               report.targetRatio))
        }
        if let why = report.referenceSkipped {
            Console.out("  anchor unavailable: \(why)")
        }
    }
}

extension TrainBench {
    /// `--device cuda`: `CUDATrainBenchmark` (exit 1 with the loader's message when no driver or toolkit loads).
    func runCUDA() throws {
        func load(_ given: String?, _ name: String) throws -> ViTConfig {
            guard let path = given ?? TilingBench.findFile("configs/models/\(name).yaml") else {
                throw ValidationError("configs/models/\(name).yaml not found; give --config / --teacher-config")
            }
            return try ViTConfig.load(path: path)
        }
        var options = CUDATrainBenchmark.Options(student: try load(config, "h0-mini"), teacher: try load(teacherConfig, "h-optimus-0"))
        options.batch = batch ?? 32
        options.localCrops = localCrops
        options.globalSize = globalSize
        options.localSize = localSize
        options.prototypes = prototypes ?? 131_072
        options.headHidden = headHidden
        options.steps = steps
        options.nvrtcPath = nvrtc
        options.peakTFLOPs = peakTFLOPs
        options.profile = profile
        if let anchorJSON {
            options.anchor = try CUDATrainBenchmark.Anchor.load(path: anchorJSON)
        } else {
            options.anchorUnavailable = "no --anchor-json (run ../shared/reference/pytorch_baseline.py --batch 32 --out FILE in the same GPU job)"
        }
        let report: CUDATrainBenchmark.Report
        do {
            report = try CUDATrainBenchmark.run(options)
        } catch let error as CUDAError {
            Console.error("error: device cuda: \(error)")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let d = report.device
        Console.out("train (cuda): \(d.name) (\(d.arch), \(d.multiprocessors) SMs), teacher \(report.teacher) → student \(report.student), "
                    + "B \(report.batch), \(report.crops) px, K \(report.prototypes), bf16, median of \(report.steps) steps")
        Console.out("  side      images/s  s/step   peak GiB        MFU")
        let mfu = report.modelFLOPsUtilization.map { String(format: "%5.1f %%", 100 * $0) } ?? "    -"
        Console.out(String(format: "  swift   %9.1f  %6.3f  %9.2f   ", report.imagesPerSecond, report.medianSeconds, report.poolPeakGiB) + mfu
                    + String(format: "   (cuMemGetInfo in use %.2f GiB; %.1f TFLOP/step)", report.deviceUsedGiB, report.teraFLOPsPerStep))
        Console.out(String(format: "  (swift, teacher forward of batch n + 1 beside the step on batch n; serial, one after the other: %.1f images/s, %.3f s/step)",
                           report.serialImagesPerSecond, report.serialMedianSeconds))
        if let anchor = report.anchor {
            let images = anchor.imagesPerSecond ?? .nan, peak = anchor.peakMemoryGiB ?? .nan
            let anchorMFU = report.peakTFLOPs.map { peakTFLOPs in
                String(format: "%5.1f %%", 100 * report.teraFLOPsPerStep * images / Double(anchor.batch ?? report.batch) / peakTFLOPs)
            } ?? "    -"
            Console.out(String(format: "  pytorch %9.1f  %6.3f  %9.2f   ", images, Double(anchor.batch ?? 0) / images, peak) + anchorMFU
                        + "   (pytorch_baseline.py on \(anchor.device ?? "?"), torch \(anchor.torch ?? "?"), batch \(anchor.batch.map(String.init) ?? "?"))")
            if let ratio = report.ratioOverPyTorch { Console.out(String(format: "  ratio %.2f× images/s", ratio)) }
        } else if let why = report.anchorUnavailable {
            Console.out("  anchor unavailable: \(why)")
        }
        Console.out(String(format: "  targets: ≥ %.0f images/s, ≤ %.0f GiB (issue #10); last loss %.4f; attention %@, CUDA graphs %@",
                           report.targetImagesPerSecond, report.targetPeakGiB, report.lastLoss, report.attention,
                           report.cudaGraphs ? "on" : "off"))
        if let rows = report.profile { Console.out(ProfileTable.lines(rows, title: "one step").joined(separator: "\n")) }
    }
}
