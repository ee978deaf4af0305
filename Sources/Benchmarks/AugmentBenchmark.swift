import Foundation
import ImageOps

#if canImport(Glibc)
import Glibc
#endif

/// `distill bench augment`: DINOv2 multi-crop sets per second per core on real tiles (``MultiCrop``: 2 global
/// 224-px + 8 local 98-px crops, PIL-exact ops, normalised floats), beside torchvision's pipeline on PIL images
/// (`tools/bench/augment_reference.py`) on the same tiles.
///
/// Tiles: every 224 × 224 square of a grid over each PNG under the tiles root (`../shared/data/tiles`), in sorted
/// path order (``tiles(root:)``; the Python script builds the same list). Two Swift passes:
/// - **one thread**: tiles in order, repeated until `minimumSeconds`; sets per core = sets ÷ process CPU seconds.
/// - **all cores**: `threads` workers (default: the machine's cores), each with its own workspace, taking tiles
///   round-robin until `minimumSeconds`; sets per second, and per core = sets ÷ (wall seconds × threads), which
///   includes what scaling loses (memory bandwidth, frequency).
/// The ratio is Swift's one-thread sets/s per core over Python's (Python also on one core: torch on one thread).
public enum AugmentBenchmark {
    /// Settings of one run.
    public struct Options: Sendable {
        /// Folder of PNG tiles, searched recursively.
        public var tilesRoot: String
        /// The recipe (DINOv2's by default).
        public var config = MultiCropConfig()
        /// Each pass repeats until it has run this long (wall seconds); at least one round over the tiles.
        public var minimumSeconds = 5.0
        /// Workers of the all-cores pass; 0 = the machine's active processors.
        public var threads = 0
        /// The Python reference, or nil to skip it.
        public var reference: ReferenceOptions?

        /// Defaults for the tiles under `tilesRoot`.
        public init(tilesRoot: String) { self.tilesRoot = tilesRoot }
    }

    /// How to run the Python reference.
    public struct ReferenceOptions: Sendable {
        /// The interpreter (a path, or a name looked up on PATH).
        public var python: String
        /// `tools/bench/augment_reference.py`.
        public var script: String
        /// `python script …`.
        public init(python: String, script: String) {
            self.python = python
            self.script = script
        }
    }

    /// One Swift pass.
    public struct Pass: Codable, Sendable {
        /// Workers.
        public var threads: Int
        /// Crop sets made.
        public var sets: Int
        /// Wall seconds of the pass.
        public var wallSeconds: Double
        /// Process CPU seconds (user + system) of the pass.
        public var cpuSeconds: Double
        /// Sets per wall second, all threads together.
        public var setsPerSecond: Double
        /// One thread: sets ÷ CPU seconds. All cores: sets ÷ (wall seconds × threads).
        public var setsPerSecondPerCore: Double

        enum CodingKeys: String, CodingKey {
            case threads, sets, wallSeconds = "wall_s", cpuSeconds = "cpu_s", setsPerSecond = "sets_per_s",
                 setsPerSecondPerCore = "sets_per_s_per_core"
        }
    }

    /// The Python reference's figures (its JSON: tiles, rounds over them, sets, wall and CPU seconds, sets per
    /// CPU second and per wall second, blur choice, versions) and the command that ran it.
    public struct ReferenceResult: Codable, Sendable {
        public var tiles: Int
        public var passes: Int
        public var sets: Int
        public var wallSeconds: Double
        public var cpuSeconds: Double
        public var setsPerSecondPerCore: Double
        public var setsPerWallSecond: Double
        public var blur: String?
        public var versions: [String: String]?
        public var command: [String]?

        enum CodingKeys: String, CodingKey {
            case tiles, passes, sets, wallSeconds = "wall_s", cpuSeconds = "cpu_s",
                 setsPerSecondPerCore = "sets_per_s_per_core", setsPerWallSecond = "sets_per_wall_s", blur, versions, command
        }
    }

    /// What `distill bench augment --json` prints: the tiles, the two Swift passes, the reference (or why it
    /// did not run) and the ratios.
    public struct Report: Codable, Sendable {
        public var benchmark = "augment"
        public var tiles: Int
        public var tileSize = 224
        public var cores: Int
        public var blur: String
        public var single: Pass
        public var allCores: Pass
        public var reference: ReferenceResult?
        /// Why the Python anchor did not run, when it did not.
        public var anchorUnavailable: String?
        /// Swift one-thread sets/s per core ÷ Python sets/s per core.
        public var ratioSwiftOverPython: Double?
        /// Swift all-cores sets/s per core ÷ Python sets/s per core.
        public var allCoresRatioSwiftOverPython: Double?
        /// Issue #6's target for the ratio.
        public var targetRatio = 3.0

        enum CodingKeys: String, CodingKey {
            case benchmark, tiles, tileSize = "tile_size", cores, blur, single, allCores = "all_cores", reference,
                 anchorUnavailable = "anchor_unavailable", ratioSwiftOverPython = "ratio_swift_over_python",
                 allCoresRatioSwiftOverPython = "all_cores_ratio_swift_over_python", targetRatio = "target_ratio"
        }
    }

    /// The 224-px tiles of every PNG under `root`: PNGs in sorted path order, squares left to right, top to bottom.
    /// - Throws: a PNG that cannot be read (``PNGError``), or no tile at all.
    public static func tiles(root: String) throws -> [RGBImage] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw BenchmarkError(message: "cannot list the tiles folder \(root)")
        }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".png") { paths.append(root + "/" + relative) }
        }
        paths.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var tiles: [RGBImage] = []
        for path in paths {
            let image = try PNGImage.read(path: path)
            for top in stride(from: 0, through: image.height - 224, by: 224) {
                for left in stride(from: 0, through: image.width - 224, by: 224) {
                    tiles.append(image.cropped(to: CropBox(top: top, left: left, height: 224, width: 224)))
                }
            }
        }
        guard !tiles.isEmpty else { throw BenchmarkError(message: "no 224-px tiles in the PNGs under \(root)") }
        return tiles
    }

    /// Runs both Swift passes, then the reference (if any).
    public static func run(_ options: Options, anchorUnavailable: String? = nil) throws -> Report {
        let tiles = try tiles(root: options.tilesRoot)
        let multiCrop = MultiCrop(config: options.config)
        let single = singleThread(multiCrop, tiles: tiles, minimumSeconds: options.minimumSeconds)
        let threads = options.threads > 0 ? options.threads : ProcessInfo.processInfo.activeProcessorCount
        let all = allCores(multiCrop, tiles: tiles, threads: threads, minimumSeconds: options.minimumSeconds)
        var report = Report(tiles: tiles.count, cores: ProcessInfo.processInfo.activeProcessorCount,
                            blur: options.config.blur.choice.rawValue, single: single, allCores: all,
                            anchorUnavailable: anchorUnavailable)
        if let reference = options.reference {
            let result = try runReference(reference, options: options)
            report.reference = result
            report.ratioSwiftOverPython = single.setsPerSecondPerCore / max(result.setsPerSecondPerCore, 1e-9)
            report.allCoresRatioSwiftOverPython = all.setsPerSecondPerCore / max(result.setsPerSecondPerCore, 1e-9)
        }
        return report
    }

    /// One thread over the tiles in order, rounds until `minimumSeconds`.
    static func singleThread(_ multiCrop: MultiCrop, tiles: [RGBImage], minimumSeconds: Double) -> Pass {
        var workspace = MultiCropWorkspace()
        _ = multiCrop.apply(to: tiles[0], key: AugmentationKey(seed: 0, epoch: 0, sample: 0), workspace: &workspace)
        var sets = 0, round = 0
        var checksum: Float = 0
        let cpu0 = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        repeat {
            for (index, tile) in tiles.enumerated() {
                let crops = multiCrop.apply(to: tile, key: AugmentationKey(seed: 0, epoch: round, sample: UInt64(index)),
                                            workspace: &workspace)
                checksum += crops.global[sets % crops.global.count]
                sets += 1
            }
            round += 1
        } while (ContinuousClock.now - start) / .seconds(1) < minimumSeconds
        let wall = (ContinuousClock.now - start) / .seconds(1)
        let cpu = EngineBenchmark.cpuSeconds() - cpu0
        precondition(checksum.isFinite, "non-finite crops")
        return Pass(threads: 1, sets: sets, wallSeconds: wall, cpuSeconds: cpu, setsPerSecond: Double(sets) / wall,
                    setsPerSecondPerCore: Double(sets) / max(cpu, 1e-9))
    }

    /// `threads` workers, each its own workspace, tiles dealt round-robin, until `minimumSeconds`.
    static func allCores(_ multiCrop: MultiCrop, tiles: [RGBImage], threads: Int, minimumSeconds: Double) -> Pass {
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        nonisolated(unsafe) let perWorker = counts
        let cpu0 = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            var workspace = MultiCropWorkspace()
            var sets = 0, round = 0
            repeat {
                for index in stride(from: worker, to: tiles.count, by: threads) {
                    let crops = multiCrop.apply(to: tiles[index], key: AugmentationKey(seed: 0, epoch: round, sample: UInt64(index)),
                                                workspace: &workspace)
                    precondition(crops.local.count > 0)
                    sets += 1
                }
                round += 1
            } while (ContinuousClock.now - start) / .seconds(1) < minimumSeconds
            perWorker[worker] = sets
        }
        let wall = (ContinuousClock.now - start) / .seconds(1)
        let cpu = EngineBenchmark.cpuSeconds() - cpu0
        let sets = counts.reduce(0, +)
        return Pass(threads: threads, sets: sets, wallSeconds: wall, cpuSeconds: cpu, setsPerSecond: Double(sets) / wall,
                    setsPerSecondPerCore: Double(sets) / max(wall * Double(threads), 1e-9))
    }

    /// Runs `python script --tiles-root … --min-seconds … --blur …` and parses its JSON.
    static func runReference(_ reference: ReferenceOptions, options: Options) throws -> ReferenceResult {
        let arguments = [reference.script, "--tiles-root", options.tilesRoot, "--min-seconds", String(options.minimumSeconds),
                         "--blur", options.config.blur.choice.rawValue]
        var result = try PythonReference.report(reference.python, arguments, as: ReferenceResult.self)
        result.command = [reference.python] + arguments
        return result
    }

    /// Nil when `python` can import what the reference needs; otherwise why not.
    public static func referenceUnavailable(_ python: String) -> String? {
        PythonReference.hasModules(python, "torch, torchvision, PIL") ? nil : "\(python) cannot import torch, torchvision and PIL"
    }
}
