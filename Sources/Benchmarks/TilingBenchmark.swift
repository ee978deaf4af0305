import Foundation
import ImageOps
import SlideIO
import Stages
import TileShards

#if canImport(Glibc)
import Glibc
#endif

/// `distill bench tiling`: the whole tiling job on one thread, per core, and the decode rate of what it wrote.
///
/// Per slide and pass, as `slide-reader` does it: open, resolve the mpp (metadata, or an override),
/// `TileGrid` (224 px at 0.5 µm/px, drop, min tissue 0.5) and level choice, thumbnail (longest side 2048),
/// tissue detection (`SaturationOtsuDetector`), every kept tile from the chosen level, resampled
/// (`SlideReaderStage.readTile`, or `cutTile` when the thumbnail's level is the tile level and fits
/// `levelCacheBytes`: then that level is decoded once, `LevelRaster`), and appended to one
/// dataset per pass (`DatasetWriter`, zstd level 3, sealed and fsynced by `finish`) in a temporary folder.
/// Passes repeat until they have run `minimumSeconds`. Tiles/s per core = tiles ÷ process CPU seconds
/// (getrusage, user + system); tiles per wall second too. Then the last pass's dataset is read back
/// sequentially (`ShardReader` tile iterator, pread + zstd decode) and reported as GB/s of raw pixels.
///
/// With a Python reference (`tools/bench/tiling_reference.py`, openslide-python + numpy + zstandard), the
/// same job runs in a child process and the report gives its figures and the ratio swift / python.
public enum TilingBenchmark {
    /// One slide of the job.
    public struct SlideSpec: Sendable, Codable {
        public var path: String
        /// µm/px that replaces the slide's metadata, if any.
        public var mppOverride: Double?

        public init(path: String, mppOverride: Double? = nil) {
            self.path = path
            self.mppOverride = mppOverride
        }

        /// `PATH` or `PATH=MPP`.
        public init(argument: String) throws {
            if let equals = argument.lastIndex(of: "="), let mpp = Double(argument[argument.index(after: equals)...]) {
                guard mpp > 0, mpp.isFinite else { throw BenchmarkError(message: "--slide \(argument): the mpp must be positive") }
                self.init(path: String(argument[..<equals]), mppOverride: mpp)
            } else {
                self.init(path: argument)
            }
        }

        /// The argument form, `PATH` or `PATH=MPP`.
        public var argument: String { mppOverride.map { "\(path)=\($0)" } ?? path }
    }

    /// Settings of one benchmark run.
    public struct Options: Sendable {
        /// The slides; by default the two readable sample slides with an mpp.
        public var slides: [SlideSpec]
        /// Passes repeat until they have run this long (wall seconds); at least one pass.
        public var minimumSeconds = 2.0
        /// Decode passes repeat until they have run this long; at least one.
        public var minimumDecodeSeconds = 1.0
        public var tileSize = 224
        public var targetMPP = 0.5
        public var minimumTissue = 0.5
        public var thumbnailSide = 2048
        /// Bytes of RGB up to which a level shared by the thumbnail and the tiles is decoded once
        /// (`slide-reader`'s `level_cache_mb`, default 256 MiB); 0 = read tile by tile.
        public var levelCacheBytes = 256 << 20
        /// The Python reference: nil = skip.
        public var reference: ReferenceOptions?

        public init(slides: [SlideSpec]) { self.slides = slides }
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

    /// The default sample slides under `root` (`../shared/data/slides` from the repository): CMU-1-Small-Region
    /// at its own 0.499 µm/px, and the TCGA slide, which has no mpp, at an override of 0.25.
    public static func defaultSlides(root: String) -> [SlideSpec] {
        [SlideSpec(path: root + "/aperio/CMU-1-Small-Region.svs"),
         SlideSpec(path: root + "/aperio/tcga-cr-7395-01a-01-ts1.svs", mppOverride: 0.25)]
    }

    /// One slide's figures, per pass.
    public struct SlideResult: Codable, Sendable {
        public var slide: String
        public var path: String
        public var mpp: Double
        public var mppSource: String
        public var mppOverride: Double?
        public var level: Int
        public var readSide: Int
        public var tiles: Int
        public var seconds: Double
        public var cpuSeconds: Double
        /// CPU seconds per pass in open + mpp + thumbnail.
        public var thumbnailCPUSeconds: Double
        /// … in tissue detection + tile grid.
        public var detectCPUSeconds: Double
        /// … in reading, resampling and writing the kept tiles.
        public var tilesCPUSeconds: Double
        /// … of which reading and resampling (`readRegion` + `TileResampler`); the rest is the writer.
        public var readCPUSeconds: Double
        /// Whether the tile level was decoded once for the thumbnail and the tiles (`LevelRaster`).
        public var decodedOnce: Bool
        /// The reader that decoded that level (`tiff`: `TIFFLevelDecoder`, `openSlide`); nil when not decoded once.
        public var levelDecoder: String?

        enum CodingKeys: String, CodingKey {
            case slide, path, mpp, mppSource = "mpp_source", mppOverride = "mpp_override", level,
                 decodedOnce = "decoded_once", levelDecoder = "level_decoder", readSide = "read_side", tiles, seconds, cpuSeconds = "cpu_s", thumbnailCPUSeconds = "thumbnail_cpu_s",
                 detectCPUSeconds = "detect_cpu_s", tilesCPUSeconds = "tiles_cpu_s",
                 readCPUSeconds = "read_cpu_s"
        }
    }

    /// The whole job over all passes.
    public struct Totals: Codable, Sendable {
        public var passes: Int
        public var tiles: Int
        public var wallSeconds: Double
        public var cpuSeconds: Double
        public var tilesPerSecondPerCore: Double
        public var tilesPerWallSecond: Double
        /// Tiles ÷ CPU seconds of the tile phase only (read + resample + write; no thumbnail or detection).
        public var tilePhaseTilesPerSecondPerCore: Double

        enum CodingKeys: String, CodingKey {
            case passes, tiles, wallSeconds = "wall_s", cpuSeconds = "cpu_s",
                 tilesPerSecondPerCore = "tiles_per_s_per_core", tilesPerWallSecond = "tiles_per_wall_s",
                 tilePhaseTilesPerSecondPerCore = "tile_phase_tiles_per_s_per_core"
        }
    }

    /// Sequential read-back of the last pass's dataset.
    public struct Decode: Codable, Sendable {
        public var passes: Int
        public var tiles: Int
        public var rawBytes: Int64
        public var storedBytes: Int64
        public var wallSeconds: Double
        public var cpuSeconds: Double
        /// GB (10⁹ B) of raw pixels per wall second.
        public var gigabytesPerSecond: Double
        /// GB of raw pixels per CPU second: per core.
        public var gigabytesPerSecondPerCore: Double
        /// DESIGN.md §5: ≥ 1 GB/s per core.
        public var targetGigabytesPerSecondPerCore = 1.0

        enum CodingKeys: String, CodingKey {
            case passes, tiles, rawBytes = "raw_bytes", storedBytes = "stored_bytes", wallSeconds = "wall_s",
                 cpuSeconds = "cpu_s", gigabytesPerSecond = "gb_per_s", gigabytesPerSecondPerCore = "gb_per_s_per_core",
                 targetGigabytesPerSecondPerCore = "target_gb_per_s_per_core"
        }
    }

    /// The Python reference's figures (parsed from its JSON).
    public struct ReferenceResult: Codable, Sendable {
        public struct Slide: Codable, Sendable {
            public var slide: String
            public var tiles: Int
            public var seconds: Double
            public var cpuSeconds: Double?
            public var mpp: Double?
            public var mppOverride: Double?
            public var thumbnailCPUSeconds: Double?
            public var detectCPUSeconds: Double?
            public var tilesCPUSeconds: Double?
            public var readCPUSeconds: Double?

            enum CodingKeys: String, CodingKey {
                case slide, tiles, seconds, cpuSeconds = "cpu_s", mpp, mppOverride = "mpp_override",
                     thumbnailCPUSeconds = "thumbnail_cpu_s", detectCPUSeconds = "detect_cpu_s",
                     tilesCPUSeconds = "tiles_cpu_s", readCPUSeconds = "read_cpu_s"
            }
        }

        public var python: String?
        public var command: [String]?
        public var passes: Int
        public var slides: [Slide]
        public var tiles: Int
        public var wallSeconds: Double
        public var cpuSeconds: Double
        public var tilesPerSecondPerCore: Double
        public var tilesPerWallSecond: Double
        public var tilePhaseTilesPerSecondPerCore: Double?
        public var notes: [String]?

        enum CodingKeys: String, CodingKey {
            case python, command, passes, slides, tiles, wallSeconds = "wall_s", cpuSeconds = "cpu_s",
                 tilesPerSecondPerCore = "tiles_per_s_per_core", tilesPerWallSecond = "tiles_per_wall_s",
                 tilePhaseTilesPerSecondPerCore = "tile_phase_tiles_per_s_per_core", notes
        }
    }

    /// The report `distill bench tiling --json` prints.
    public struct Report: Codable, Sendable {
        public var benchmark = "tiling"
        public var threads = 1
        public var cores: Int
        public var tileSize: Int
        public var targetMPP: Double
        public var minimumTissue: Double
        public var slides: [SlideResult]
        public var totals: Totals
        public var decode: Decode
        public var reference: ReferenceResult?
        /// Why the reference did not run, when it did not.
        public var referenceSkipped: String?
        /// Swift tiles/s per core ÷ Python tiles/s per core (whole job).
        public var ratioSwiftOverPython: Double?
        /// The same for the tile phase only.
        public var tilePhaseRatioSwiftOverPython: Double?
        /// Issue #3's target for that ratio.
        public var targetRatio = 2.0

        enum CodingKeys: String, CodingKey {
            case benchmark, threads, cores, tileSize = "tile_size", targetMPP = "target_mpp",
                 minimumTissue = "min_tissue", slides, totals, decode, reference,
                 referenceSkipped = "reference_skipped", ratioSwiftOverPython = "ratio_swift_over_python",
                 tilePhaseRatioSwiftOverPython = "tile_phase_ratio_swift_over_python",
                 targetRatio = "target_ratio"
        }
    }

    /// Runs the Swift job, the read-back, then the reference (if any).
    public static func run(_ options: Options, referenceSkipped: String? = nil) throws -> Report {
        guard !options.slides.isEmpty else { throw BenchmarkError(message: "no slides to tile") }
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }

        var results: [SlideResult] = []
        var perSlideWall = [Double](repeating: 0, count: options.slides.count)
        var perSlideCPU = [Double](repeating: 0, count: options.slides.count)
        var phases = [(thumbnail: Double, detect: Double, tiles: Double, read: Double)](repeating: (0, 0, 0, 0), count: options.slides.count)
        var passes = 0
        var tiles = 0
        var lastDataset = ""
        let cpuStart = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        repeat {
            let directory = root + "/pass-\(passes)"
            let writer = try DatasetWriter(directory: directory, options: .init(geometry: TileGeometry(size: options.tileSize)))
            results = []
            for (number, spec) in options.slides.enumerated() {
                let cpu0 = EngineBenchmark.cpuSeconds(), wall0 = ContinuousClock.now
                var result = try tileSlide(spec, options: options, writer: writer)
                perSlideWall[number] += (ContinuousClock.now - wall0) / .seconds(1)
                perSlideCPU[number] += EngineBenchmark.cpuSeconds() - cpu0
                phases[number].thumbnail += result.thumbnailCPUSeconds
                phases[number].detect += result.detectCPUSeconds
                phases[number].tiles += result.tilesCPUSeconds
                phases[number].read += result.readCPUSeconds
                tiles += result.tiles
                result.seconds = 0
                results.append(result)
            }
            _ = try writer.finish()
            if !lastDataset.isEmpty { try? FileManager.default.removeItem(atPath: lastDataset) }
            lastDataset = directory
            passes += 1
        } while (ContinuousClock.now - start) / .seconds(1) < options.minimumSeconds
        let wall = (ContinuousClock.now - start) / .seconds(1)
        let cpu = EngineBenchmark.cpuSeconds() - cpuStart
        for index in results.indices {
            results[index].seconds = perSlideWall[index] / Double(passes)
            results[index].cpuSeconds = perSlideCPU[index] / Double(passes)
            results[index].thumbnailCPUSeconds = phases[index].thumbnail / Double(passes)
            results[index].detectCPUSeconds = phases[index].detect / Double(passes)
            results[index].tilesCPUSeconds = phases[index].tiles / Double(passes)
            results[index].readCPUSeconds = phases[index].read / Double(passes)
        }
        let tilePhaseCPU = phases.reduce(0) { $0 + $1.tiles }
        let totals = Totals(passes: passes, tiles: tiles, wallSeconds: wall, cpuSeconds: cpu,
                            tilesPerSecondPerCore: Double(tiles) / max(cpu, 1e-9),
                            tilesPerWallSecond: Double(tiles) / max(wall, 1e-9),
                            tilePhaseTilesPerSecondPerCore: Double(tiles) / max(tilePhaseCPU, 1e-9))
        let decode = try readBack(lastDataset, minimumSeconds: options.minimumDecodeSeconds)

        var report = Report(cores: ProcessInfo.processInfo.activeProcessorCount, tileSize: options.tileSize,
                            targetMPP: options.targetMPP, minimumTissue: options.minimumTissue, slides: results,
                            totals: totals, decode: decode, referenceSkipped: referenceSkipped)
        if let reference = options.reference {
            let result = try runReference(reference, options: options)
            report.reference = result
            report.ratioSwiftOverPython = totals.tilesPerSecondPerCore / max(result.tilesPerSecondPerCore, 1e-9)
            report.tilePhaseRatioSwiftOverPython = result.tilePhaseTilesPerSecondPerCore.map {
                totals.tilePhaseTilesPerSecondPerCore / max($0, 1e-9)
            }
        }
        return report
    }

    /// One slide, end to end, into `writer`.
    static func tileSlide(_ spec: SlideSpec, options: Options, writer: DatasetWriter) throws -> SlideResult {
        let cpu0 = EngineBenchmark.cpuSeconds()
        let slide = try Slide(path: spec.path)
        let mpp = try ResolutionResolver(runOverride: spec.mppOverride).resolve(slide)
        let bounds = slide.bounds
        let grid = try TileGrid(slideWidth: slide.width, slideHeight: slide.height, slideMPP: mpp.x,
                                tileSize: options.tileSize, targetMPP: options.targetMPP, regionX: bounds.x,
                                regionY: bounds.y, regionWidth: bounds.width, regionHeight: bounds.height)
        let choice = slide.chooseLevel(targetMPP: options.targetMPP * Double(grid.readExtent) / grid.extent, mpp: mpp)
        let maxSide = min(options.thumbnailSide, max(1, slide.width, slide.height))
        let raster = try LevelRaster.sharedByThumbnailAndTiles(slide: slide, tileLevel: choice.level, thumbnailSide: maxSide,
                                                               budget: options.levelCacheBytes)
        let thumbnail = try raster.map { try slide.thumbnail(maxSide: maxSide, from: $0) } ?? slide.thumbnail(maxSide: maxSide)
        let frame = ThumbnailFrame(level0PerPixelX: thumbnail.level0PerPixelX, level0PerPixelY: thumbnail.level0PerPixelY)
        let cpu1 = EngineBenchmark.cpuSeconds()
        let detection = try SaturationOtsuDetector().detect(in: thumbnail.image, frame: frame)
        let kept = try grid.keptTiles(mask: detection.mask, minimumTissue: options.minimumTissue)
        let source = slide.fileName
        let cpu2 = EngineBenchmark.cpuSeconds()
        var readCPU = 0.0
        for tile in kept {
            let before = threadCPUSeconds()
            let pixels = try raster.map { SlideReaderStage.cutTile($0, tile: tile, size: options.tileSize) }
                ?? SlideReaderStage.readTile(slide, tile: tile, choice: choice, size: options.tileSize)
            readCPU += threadCPUSeconds() - before
            try writer.append(pixels.pixels, metadata: TileMetadata(
                slideID: source, x: Int64(tile.x), y: Int64(tile.y), mpp: options.targetMPP,
                tissueFraction: Float(tile.tissueFraction)))
        }
        try writer.finishSource(source)
        let cpu3 = EngineBenchmark.cpuSeconds()
        return SlideResult(slide: source, path: spec.path, mpp: mpp.x, mppSource: mpp.source.description,
                           mppOverride: spec.mppOverride, level: choice.level,
                           readSide: max(1, Int((Double(grid.readExtent) / choice.levelDownsample).rounded())),
                           tiles: kept.count, seconds: 0, cpuSeconds: 0, thumbnailCPUSeconds: cpu1 - cpu0,
                           detectCPUSeconds: cpu2 - cpu1, tilesCPUSeconds: cpu3 - cpu2,
                           readCPUSeconds: readCPU, decodedOnce: raster != nil,
                           levelDecoder: raster?.decoder.rawValue)
    }

    /// Reads every tile of the dataset in order, repeatedly until `minimumSeconds`.
    static func readBack(_ directory: String, minimumSeconds: Double) throws -> Decode {
        let dataset = try ShardDataset(directory: directory, allowEmpty: true)
        var readers: [ShardReader] = []
        for number in 0..<dataset.index.shards.count { readers.append(try dataset.openShard(number)) }
        let rawPerTile = readers.first?.geometry.rawBytes ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(rawPerTile, 1), alignment: 64)
        defer { buffer.deallocate() }
        var passes = 0, tiles = 0
        let cpuStart = EngineBenchmark.cpuSeconds()
        let start = ContinuousClock.now
        repeat {
            for reader in readers {
                var iterator = reader.makeTileIterator()
                while try iterator.nextPixels(into: buffer) != nil { tiles += 1 }
            }
            passes += 1
        } while (ContinuousClock.now - start) / .seconds(1) < minimumSeconds && tiles > 0
        let wall = (ContinuousClock.now - start) / .seconds(1)
        let cpu = EngineBenchmark.cpuSeconds() - cpuStart
        let raw = Int64(tiles) * Int64(rawPerTile)
        return Decode(passes: passes, tiles: tiles, rawBytes: raw,
                      storedBytes: readers.reduce(0) { $0 + $1.storedBytes } * Int64(passes),
                      wallSeconds: wall, cpuSeconds: cpu,
                      gigabytesPerSecond: Double(raw) / max(wall, 1e-9) / 1e9,
                      gigabytesPerSecondPerCore: Double(raw) / max(cpu, 1e-9) / 1e9)
    }

    /// Runs `python script --min-seconds … --slide …` and parses its JSON.
    static func runReference(_ reference: ReferenceOptions, options: Options) throws -> ReferenceResult {
        var arguments = [reference.script, "--min-seconds", String(options.minimumSeconds)]
        for slide in options.slides { arguments += ["--slide", slide.argument] }
        var result = try PythonReference.report(reference.python, arguments, as: ReferenceResult.self)
        result.command = [reference.python] + arguments
        return result
    }

    /// Whether `python` can import what the reference needs.
    public static func pythonHasReferenceModules(_ python: String) -> Bool {
        PythonReference.hasModules(python, "openslide, numpy, zstandard, PIL")
    }

    /// CPU seconds of the calling thread (the job runs on one thread; cheaper than getrusage per tile).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/distill-tiling-bench-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw BenchmarkError(message: "mkdtemp in /tmp failed: errno \(errno)") }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
