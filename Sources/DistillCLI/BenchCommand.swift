import ArgumentParser
import Benchmarks
import CUDA
import Distillery
import Foundation

/// `distill bench …`: benchmarks, each printed as a table or JSON.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure throughput.", subcommands: [EngineBench.self, TilingBench.self, ViTBench.self, AugmentBench.self, TrainBench.self])
}

/// `distill bench engine`.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Engine overhead: items/s and µs per item per hop through a 5-stage chain, GB/s with 1 MiB items.")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Items in the small-item pass.")
    var items = 200_000

    @Option(name: .customLong("large-items"), help: "Items in the 1 MiB pass.")
    var largeItems = 4_000

    @Option(help: "Edge capacity in items.")
    var capacity = 64

    func run() async throws {
        var options = EngineBenchmark.Options()
        options.smallItems = items
        options.largeItems = largeItems
        options.capacity = capacity
        let report = try await EngineBenchmark.run(options)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Console.out("engine: 5-stage chain (4 hops), capacity \(report.capacity), \(report.cores) cores")
        for (name, pass) in [("64 B items", report.small), ("1 MiB items", report.large)] {
            Console.out(String(format: "  %-11@ %9.0f items/s  %7.2f µs/item wall  %6.2f µs CPU/item/hop  %7.2f GB/s",
                               name, pass.itemsPerSecond, pass.wallMicrosecondsPerItem,
                               pass.cpuMicrosecondsPerItemPerHop, pass.gigabytesPerSecond))
        }
    }
}

/// `distill bench tiling`.
struct TilingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiling",
        abstract: "Whole tiling job on one thread (open, thumbnail, tissue, grid, read, resample, write shards): tiles/s per core, shard decode GB/s per core, and the Python reference side by side.")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .customLong("slide"), help: ArgumentHelp(
        "A slide, PATH or PATH=MPP (an mpp override); repeatable. Default: the sample slides under --slides-root.",
        valueName: "path[=mpp]"))
    var slides: [String] = []

    @Option(name: .customLong("slides-root"), help: "Folder of the sample slides (default slides: aperio/CMU-1-Small-Region.svs at its 0.499 µm/px, aperio/tcga-cr-7395-01a-01-ts1.svs at an override of 0.25).")
    var slidesRoot = "../shared/data/slides"

    @Option(name: .customLong("min-seconds"), help: "Repeat the job until it has run this long (wall seconds).")
    var minimumSeconds = 2.0

    @Option(name: .customLong("level-cache-mb"), help: "MiB of RGB up to which a level shared by the thumbnail and the tiles is decoded once (slide-reader's level_cache_mb); 0 = read every tile from OpenSlide, as the reference does.")
    var levelCacheMB = 256

    @Option(help: "Python interpreter for the reference (needs openslide-python, numpy, zstandard, pillow).")
    var python = "python3"

    @Option(name: .customLong("reference-script"), help: "The reference script (default: tools/bench/tiling_reference.py, looked up from the current folder and the executable's).")
    var referenceScript: String?

    @Flag(inversion: .prefixedNo, help: "Run the Python reference too (default: when --python can import openslide, numpy, zstandard and PIL).")
    var reference: Bool?

    func run() async throws {
        var options = TilingBenchmark.Options(
            slides: try slides.isEmpty ? TilingBenchmark.defaultSlides(root: slidesRoot) : slides.map(TilingBenchmark.SlideSpec.init(argument:)))
        options.minimumSeconds = minimumSeconds
        guard levelCacheMB >= 0 else { throw ValidationError("--level-cache-mb must be ≥ 0") }
        options.levelCacheBytes = levelCacheMB << 20
        var skipped: String?
        if reference == false {
            skipped = "--no-reference"
        } else if !TilingBenchmark.pythonHasReferenceModules(python) {
            if reference == true { throw ValidationError("\(python) cannot import openslide, numpy, zstandard and PIL (see tools/bench/README.md)") }
            skipped = "\(python) cannot import openslide, numpy, zstandard and PIL"
        } else if let script = referenceScript ?? Self.findScript() {
            options.reference = TilingBenchmark.ReferenceOptions(python: python, script: script)
        } else {
            if reference == true { throw ValidationError("tools/bench/tiling_reference.py not found; give --reference-script") }
            skipped = "tools/bench/tiling_reference.py not found"
        }
        let report = try TilingBenchmark.run(options, referenceSkipped: skipped)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Console.out("tiling: one thread, \(report.tileSize) px at \(report.targetMPP) µm/px, min tissue \(report.minimumTissue), \(report.cores) cores on the machine")
        for slide in report.slides {
            let override = slide.mppOverride.map { " (mpp OVERRIDE \($0))" } ?? ""
            Console.out(String(format: "  %@: mpp %.3f%@, level %d%@, read %d px, %d tiles, %.3f s/pass wall, %.3f s CPU (thumbnail %.3f, detect %.3f, tiles %.3f of which read %.3f)",
                               slide.slide, slide.mpp, override, slide.level, slide.levelDecoder.map { " decoded once (\($0))" } ?? "", slide.readSide,
                               slide.tiles, slide.seconds, slide.cpuSeconds,
                               slide.thumbnailCPUSeconds, slide.detectCPUSeconds, slide.tilesCPUSeconds, slide.readCPUSeconds))
        }
        let t = report.totals
        Console.out(String(format: "  swift:  %d passes, %d tiles, %.2f s wall, %.2f s CPU: %.1f tiles/s per core, %.1f tiles/wall s; tile phase %.1f tiles/s per core",
                           t.passes, t.tiles, t.wallSeconds, t.cpuSeconds, t.tilesPerSecondPerCore, t.tilesPerWallSecond,
                           t.tilePhaseTilesPerSecondPerCore))
        let d = report.decode
        Console.out(String(format: "  decode: %d tiles, %.2f GB/s per core (%.2f GB/s wall), target ≥ %.1f GB/s per core",
                           d.tiles, d.gigabytesPerSecondPerCore, d.gigabytesPerSecond, d.targetGigabytesPerSecondPerCore))
        if let r = report.reference, let ratio = report.ratioSwiftOverPython {
            Console.out(String(format: "  python: %d passes, %d tiles, %.2f s wall, %.2f s CPU: %.1f tiles/s per core, %.1f tiles/wall s; tile phase %.1f tiles/s per core",
                               r.passes, r.tiles, r.wallSeconds, r.cpuSeconds, r.tilesPerSecondPerCore, r.tilesPerWallSecond,
                               r.tilePhaseTilesPerSecondPerCore ?? .nan))
            Console.out(String(format: "  ratio swift/python (tiles/s per core): %.2f× whole job, %.2f× tile phase (target ≥ %.0f×)",
                               ratio, report.tilePhaseRatioSwiftOverPython ?? .nan, report.targetRatio))
        } else if let why = report.referenceSkipped {
            Console.out("  python reference skipped: \(why)")
        }
    }

    /// tools/bench/tiling_reference.py from the current folder, or from the executable's folder upwards.
    static func findScript() -> String? { findFile("tools/bench/tiling_reference.py") }

    /// A repository file (`relative` to the repository root) from the current folder, or from the executable's
    /// folder upwards.
    static func findFile(_ relative: String) -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.path + "/" + relative)
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

/// `distill bench vit`.
struct ViTBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vit",
        abstract: "ViT forward images/s at 224 px with random weights: on the CPU (ViT-S/14 and ViT-B/14 by default) beside PyTorch CPU + timm on the same model, batch and thread count; or on a GPU (--device cuda: ViT-g/14 at batch 256, ViT-B/14 at batch 512) beside pytorch_baseline.py's figures (--anchor-json).")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Threads for BLAS and the kernels, and for torch (default: all cores).")
    var threads: Int?

    @Option(help: "Images per forward pass (default 32 on the CPU; on cuda 256 for h-optimus-0 and 512 for h0-mini).")
    var batch: Int?

    @Option(help: "cpu or cuda (the CUDA backend, docs/cuda.md).")
    var device = "cpu"

    @Option(name: .customLong("anchor-json"), help: "cuda: the JSON pytorch_baseline.py wrote (--out) in the same GPU job.")
    var anchorJSON: String?

    @Option(help: "cuda: timed passes per model (after 2 warm-up passes).")
    var passes = 8

    @Option(help: "cuda: the NVRTC library (libnvrtc.so.13) or its folder.")
    var nvrtc: String?

    @Flag(help: "cuda: after the timed passes, one pass more with CUDA events around every kernel and GEMM: device time per operation.")
    var profile = false

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "A model config; repeatable. Default: configs/models/vit-small-cpu.yaml and configs/models/h0-mini.yaml.",
        valueName: "yaml"))
    var configs: [String] = []

    @Option(name: .customLong("min-seconds"), help: "Timed passes repeat until this many wall seconds, per model, side and round (at least 2 passes).")
    var minimumSeconds = 10.0

    @Option(help: "Alternating Swift/PyTorch rounds; each side reports its best round.")
    var rounds = 1

    @Option(help: "Python interpreter for the reference (needs torch and timm; default $DISTILL_PYTHON, else python3).")
    var python = ProcessInfo.processInfo.environment["DISTILL_PYTHON"] ?? "python3"

    @Option(name: .customLong("reference-script"), help: "The reference script (default: tools/bench/vit_reference.py, looked up from the current folder and the executable's).")
    var referenceScript: String?

    @Flag(inversion: .prefixedNo, help: "Run the Python reference too (default: when --python can import torch and timm).")
    var reference: Bool?

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        guard device == "cpu" || device == "cuda" else { throw ValidationError("--device must be cpu or cuda, got '\(device)'") }
        guard passes >= 1 else { throw ValidationError("--passes must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        if device == "cuda" { return try runCUDA() }
        let paths = configs.isEmpty ? ["vit-small-cpu", "h0-mini"].compactMap { TilingBench.findFile("configs/models/\($0).yaml") } : configs
        guard !paths.isEmpty else { throw ValidationError("configs/models/*.yaml not found; give --config") }
        var options = ViTBenchmark.Options(models: try paths.map { try ViTConfig.load(path: $0) },
                                           threads: threads ?? CPUBackend.availableCores)
        options.batch = batch ?? 32
        options.minimumSeconds = minimumSeconds
        options.rounds = rounds
        var skipped: String?
        if reference == false {
            skipped = "--no-reference"
        } else if !ViTBenchmark.pythonHasReferenceModules(python) {
            if reference == true { throw ValidationError("\(python) cannot import torch and timm (see tools/bench/README.md)") }
            skipped = "\(python) cannot import torch and timm"
        } else if let script = referenceScript ?? TilingBench.findFile("tools/bench/vit_reference.py") {
            options.reference = ViTBenchmark.ReferenceOptions(python: python, script: script)
        } else {
            if reference == true { throw ValidationError("tools/bench/vit_reference.py not found; give --reference-script") }
            skipped = "tools/bench/vit_reference.py not found"
        }
        let report = try ViTBenchmark.run(options, referenceSkipped: skipped)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Console.out("vit: forward at \(report.imageSize) px, batch \(report.batch), \(report.threads) threads, \(report.rounds) round(s), \(report.cores) cores on the machine, OpenBLAS core \(report.blasCore) (\(report.blasCoreSelection.reason))")
        for model in report.swift {
            Console.out(String(format: "  swift   %-14@ %7.2f images/s (best round), %6.2f images/CPU-s  (%d passes)", model.name,
                               model.imagesPerSecond, model.imagesPerCPUSecond, model.passes))
            if let python = report.reference?.models.first(where: { $0.name == model.name }),
               let ratio = report.ratioSwiftOverPython?[model.name] {
                Console.out(String(format: "  pytorch %-14@ %7.2f images/s (best round), %6.2f images/CPU-s  (%d passes)", model.name,
                                   python.imagesPerSecond, python.imagesPerCPUSecond, python.passes))
                Console.out(String(format: "  ratio swift/pytorch %.2f× wall, %.2f× CPU (target ≥ %.1f×)", ratio.wall, ratio.cpu,
                                   report.targetRatio))
            }
        }
        if let why = report.referenceSkipped {
            Console.out("  anchor unavailable: \(why)")
        }
    }
}

extension ViTBench {
    /// `--device cuda`: `CUDAViTBenchmark` (exit 1 with the loader's message when no driver or toolkit loads).
    func runCUDA() throws {
        let defaults = [("h-optimus-0", 256), ("h0-mini", 512)]
        var models: [CUDAViTBenchmark.Model] = []
        if configs.isEmpty {
            for (name, defaultBatch) in defaults {
                guard let path = TilingBench.findFile("configs/models/\(name).yaml") else {
                    throw ValidationError("configs/models/\(name).yaml not found; give --config")
                }
                models.append(.init(config: try ViTConfig.load(path: path), batch: batch ?? defaultBatch))
            }
        } else {
            models = try configs.map { .init(config: try ViTConfig.load(path: $0), batch: batch ?? 32) }
        }
        var options = CUDAViTBenchmark.Options(models: models)
        options.passes = passes
        options.nvrtcPath = nvrtc
        options.profile = profile
        if let anchorJSON {
            options.anchor = try CUDAViTBenchmark.Anchor.load(path: anchorJSON)
        } else {
            options.anchorUnavailable = "no --anchor-json (run ../shared/reference/pytorch_baseline.py --out FILE in the same GPU job)"
        }
        let report: CUDAViTBenchmark.Report
        do {
            report = try CUDAViTBenchmark.run(options)
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
        let device = report.device
        Console.out("vit (cuda): \(device.name) (\(device.arch), \(device.multiprocessors) SMs, driver \(device.driverVersion)), \(report.imageSize) px, bf16, median of \(passes) passes")
        for model in report.models {
            var line = String(format: "  swift   %-12@ batch %4d  %9.1f images/s  (%.1f ms/pass)", model.name, model.batch,
                              model.imagesPerSecond, model.medianSeconds * 1000)
            if let anchor = model.anchorImagesPerSecond, let ratio = model.ratioOverPyTorch {
                line += String(format: "   pytorch %9.1f images/s   ratio %.2f×", anchor, ratio)
            }
            if let target = model.targetImagesPerSecond { line += String(format: "   target ≥ %.0f", target) }
            Console.out(line)
            if let rows = model.profile { Console.out(ProfileTable.lines(rows, title: "\(model.name), one pass").joined(separator: "\n")) }
        }
        if let anchor = report.anchor {
            Console.out("  anchor: pytorch_baseline.py on \(anchor.device ?? "?"), torch \(anchor.torch ?? "?")")
        } else if let why = report.anchorUnavailable {
            Console.out("  anchor unavailable: \(why)")
        }
    }
}

