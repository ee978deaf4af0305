import ArgumentParser
import Benchmarks
import Distillery
import Foundation

/// `distill bench augment`.
struct AugmentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "DINOv2 multi-crop sets/s per core on real tiles (one thread, and all cores), beside torchvision's pipeline on PIL images.")

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .customLong("tiles-root"), help: "Folder of PNG tiles; every 224-px square of each is a tile.")
    var tilesRoot = "../shared/data/tiles"

    @Option(help: "Augmentation config file (default: DINOv2's recipe, as in configs/augment/dinov2.yaml).")
    var config: String?

    @Option(name: .customLong("min-seconds"), help: "Each pass (Swift one thread, Swift all cores, Python) runs at least this long.")
    var minimumSeconds = 5.0

    @Option(help: "Workers of the all-cores pass (default: the machine's cores).")
    var threads = 0

    @Option(help: "Python for the torchvision anchor (needs torch, torchvision, pillow); default $DISTILL_PYTHON, else python3.")
    var python: String?

    @Option(name: .customLong("reference-script"), help: "The anchor script (default: tools/bench/augment_reference.py, looked up from the current folder and the executable's).")
    var referenceScript: String?

    func run() async throws {
        var options = AugmentBenchmark.Options(tilesRoot: tilesRoot)
        if let config {
            do { options.config = try MultiCropConfig.load(path: config) } catch { throw ValidationError("\(error)") }
        }
        options.minimumSeconds = minimumSeconds
        options.threads = threads
        let python = python ?? ProcessInfo.processInfo.environment["DISTILL_PYTHON"] ?? "python3"
        var unavailable = AugmentBenchmark.referenceUnavailable(python)
        if unavailable == nil {
            if let script = referenceScript ?? TilingBench.findFile("tools/bench/augment_reference.py") {
                options.reference = AugmentBenchmark.ReferenceOptions(python: python, script: script)
            } else {
                unavailable = "tools/bench/augment_reference.py not found; give --reference-script"
            }
        }
        let report = try AugmentBenchmark.run(options, anchorUnavailable: unavailable)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.out(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        Console.out("augment: DINOv2 multi-crop (2 × 224 + 8 × 98 px, blur \(report.blur)) on \(report.tiles) tiles of 224 px, \(report.cores) cores")
        for (name, pass) in [("swift, 1 thread", report.single), ("swift, \(report.allCores.threads) threads", report.allCores)] {
            Console.out(String(format: "  %-18@ %7d sets in %6.2f s wall, %6.2f s CPU: %7.1f sets/s, %6.1f sets/s per core",
                               name, pass.sets, pass.wallSeconds, pass.cpuSeconds, pass.setsPerSecond, pass.setsPerSecondPerCore))
        }
        if let r = report.reference, let ratio = report.ratioSwiftOverPython {
            Console.out(String(format: "  %-18@ %7d sets in %6.2f s wall, %6.2f s CPU: %7.1f sets/s, %6.1f sets/s per core",
                               "python (torchvision)", r.sets, r.wallSeconds, r.cpuSeconds, r.setsPerWallSecond, r.setsPerSecondPerCore))
            Console.out(String(format: "  ratio swift/python (sets/s per core): %.2f× one thread, %.2f× all cores (target ≥ %.0f×)",
                               ratio, report.allCoresRatioSwiftOverPython ?? .nan, report.targetRatio))
        } else if let why = report.anchorUnavailable {
            Console.out("  anchor unavailable: \(why)")
        }
    }
}
