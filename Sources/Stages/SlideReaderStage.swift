import Dataflow
import Foundation
import ImageOps
import SlideIO

/// `slide-reader`: turns each ``SlideJob`` into its tiles and then one ``SlideReport`` (on one edge, so the
/// report follows the tiles).
///
/// Per slide: open a `Slide` (each replica its own handle), resolve the mpp (`mpp_override`, `mpp_csv`, then
/// the slide's metadata), read a thumbnail in bounded memory, detect tissue (`SaturationOtsuDetector`; a dark
/// background is reported as fluorescence and not tiled unless `fluorescence: bright-objects`), lay out the
/// `TileGrid` over the slide bounds, write `<run dir>/qc/<slide>.png`, then read each kept tile from the best
/// level (`LevelChoice`) and resample the residual scale to `size`. When the thumbnail is read from that same
/// level and the level fits `level_cache_mb`, the level is decoded once (`LevelRaster`) and both the
/// thumbnail and the tiles come from memory (tiles start at the nearest level pixel).
///
/// Errors: a slide that cannot be opened, has no mpp, is DICOM, or whose thumbnail does not decode gives a
/// `failed` report — never a crash or a hang. A tile that does not decode is recorded with
/// `recordItemError` (slide and coordinates) and skipped, on a fresh handle (OpenSlide poisons the handle
/// after an error); after `max_tile_errors` such tiles the slide is `quarantined`. With `fail_fast: true`
/// any slide error fails the run instead.
public struct SlideReaderStage: Stage {
    public static let summary = "Reads slides: mpp, tissue detection, tile grid, QC thumbnail, tiles"
    public static let input = InputPort<SlideJob>("in")
    public static let output = OutputPort<TileStreamItem>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("mpp", .number, default: .number(0.5), "target resolution, µm/px", fixedOnResume: true),
        ParameterSpec("size", .integer(1...8192), default: .integer(224), "tile side, px", fixedOnResume: true),
        ParameterSpec("overlap", .integer(0...8191), default: .integer(0), "px shared by neighbouring tiles (at the target mpp)", fixedOnResume: true),
        ParameterSpec("min_tissue", .number, default: .number(0.5), "minimum tissue fraction of a kept tile, 0…1", fixedOnResume: true),
        ParameterSpec("edge", .choice(["drop", "pad", "shift"]), default: .string("drop"), "partial tiles at the right/bottom edges", fixedOnResume: true),
        ParameterSpec("mpp_override", .number, default: .number(0), "µm/px for every slide (wins over metadata); 0 = none"),
        ParameterSpec("mpp_csv", .string, default: .string(""), "CSV of slide,mpp overrides; empty = none"),
        ParameterSpec("fluorescence", .choice(["reject", "bright-objects"]), default: .string("reject"), "dark-background slides: report and skip, or take bright regions as tissue"),
        ParameterSpec("thumbnail_side", .integer(64...16384), default: .integer(2048), "longest side of the tissue-detection thumbnail, px"),
        ParameterSpec("level_cache_mb", .integer(0...1 << 20), default: .integer(256), "MiB of RGB a level may take to be decoded once for thumbnail and tiles; 0 = always read tile by tile"),
        ParameterSpec("max_tile_errors", .integer(1...Int.max), default: .integer(10), "tile read errors after which a slide is quarantined"),
        ParameterSpec("fail_fast", .boolean, default: .boolean(false), "fail the run on the first slide or tile error"),
        ParameterSpec("qc", .boolean, default: .boolean(true), "write <run dir>/qc/<slide>.png"),
    ]

    public let targetMPP: Double
    public let size: Int
    public let overlap: Int
    public let minTissue: Double
    public let edge: TileGrid.EdgePolicy
    public let mppOverride: Double?
    public let mppCSV: String?
    public let brightObjects: Bool
    public let thumbnailSide: Int
    /// Bytes of RGB up to which the tile level is decoded once (``LevelRaster``); 0 = never.
    public let levelCacheBytes: Int
    public let maxTileErrors: Int
    public let failFast: Bool
    public let writeQC: Bool
    /// Tests only: tiles for which this returns true fail as if OpenSlide could not decode them.
    var tileFault: (@Sendable (TileGrid.Tile) -> Bool)?

    public init(parameters: StageParameters) throws {
        targetMPP = parameters.number("mpp")
        guard targetMPP > 0, targetMPP.isFinite else { throw ParameterError(key: "mpp", "must be a positive number of µm/px") }
        size = parameters.integer("size")
        overlap = parameters.integer("overlap")
        guard overlap < size else { throw ParameterError(key: "overlap", "must be smaller than size (\(size))") }
        minTissue = parameters.number("min_tissue")
        guard (0...1).contains(minTissue) else { throw ParameterError(key: "min_tissue", "must be between 0 and 1") }
        edge = TileGrid.EdgePolicy(rawValue: parameters.string("edge")) ?? .drop
        let override = parameters.number("mpp_override")
        guard override == 0 || MPPOverrideTable.plausibleMPP.contains(override) else {
            throw ParameterError(key: "mpp_override", "must be 0 (none) or a level-0 µm/px in \(MPPOverrideTable.plausibleMPP.lowerBound)…\(MPPOverrideTable.plausibleMPP.upperBound) (the range mpp_csv accepts), not \(override)")
        }
        mppOverride = override > 0 ? override : nil
        let csv = parameters.string("mpp_csv")
        mppCSV = csv.isEmpty ? nil : csv
        brightObjects = parameters.string("fluorescence") == "bright-objects"
        thumbnailSide = parameters.integer("thumbnail_side")
        levelCacheBytes = parameters.integer("level_cache_mb") << 20
        maxTileErrors = parameters.integer("max_tile_errors")
        failFast = parameters.boolean("fail_fast")
        writeQC = parameters.boolean("qc")
    }

    /// Reads `mpp_csv`, so a missing or malformed table fails validation rather than the run.
    /// - Throws: ``ParameterError`` for `mpp_csv`, with the table's error (file, line).
    public func validate(replicas: Int) throws {
        guard let mppCSV else { return }
        do { _ = try MPPOverrideTable(contentsOf: mppCSV) } catch { throw ParameterError(key: "mpp_csv", "\(error)") }
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        let table: MPPOverrideTable?
        do {
            table = try mppCSV.map { try MPPOverrideTable(contentsOf: $0) }
        } catch {
            throw SlideReaderError(message: "mpp_csv: \(error)")
        }
        while let job = try await inbox.next() {
            let report = try await read(job, table: table, context: context) { sample in
                try await out.send(.tile(sample))
            }
            context.metrics.add("slides")
            if report.status != .ok { context.metrics.add("slides_not_tiled") }
            try await out.send(.report(report))
        }
    }

    /// Reads one slide, handing each tile to `emit`, and returns its report.
    /// - Throws: only with `fail_fast` (the slide's error), or what `emit` throws (the run is stopping).
    public func read(_ job: SlideJob, table: MPPOverrideTable?, context: StageContext?,
                     emit: (TileSample) async throws -> Void) async throws -> SlideReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = SlideReport(slideID: job.slideID, path: job.path, status: .ok)
        func fail(_ status: SlideReport.Status, _ message: String) throws -> SlideReport {
            if failFast { throw SlideReaderError(message: "slide \(job.slideID): \(message)") }
            report.status = status
            report.error = message
            report.seconds = (clock.now - start) / .seconds(1)
            return report
        }
        let slide: Slide
        do {
            slide = try Slide(path: job.path)
        } catch {
            return try fail(.failed, "\(error)")
        }
        let mpp: ResolvedMPP
        do {
            let resolver = ResolutionResolver(slideOverrides: table, runOverride: job.mppOverride ?? mppOverride)
            mpp = try resolver.resolve(slide)
        } catch {
            return try fail(.failed, "\(error)")
        }
        report.mpp = mpp.x
        report.mppSource = mpp.source.description
        let grid: TileGrid
        do {
            let bounds = slide.bounds
            grid = try TileGrid(slideWidth: slide.width, slideHeight: slide.height, slideMPP: mpp.x, tileSize: size,
                                targetMPP: targetMPP, overlap: overlap, edgePolicy: edge, regionX: bounds.x,
                                regionY: bounds.y, regionWidth: bounds.width, regionHeight: bounds.height)
        } catch {
            return try fail(.failed, "tile grid: \(error)")
        }
        let choice = slide.chooseLevel(targetMPP: targetMPP * Double(grid.readExtent) / grid.extent, mpp: mpp)
        let maxSide = min(thumbnailSide, max(1, slide.width, slide.height))
        var thumbnail: SlideThumbnail
        var raster: LevelRaster?
        var handle = slide
        do {
            raster = try LevelRaster.sharedByThumbnailAndTiles(slide: slide, tileLevel: choice.level, thumbnailSide: maxSide,
                                                               budget: levelCacheBytes)
            thumbnail = try raster.map { try slide.thumbnail(maxSide: maxSide, from: $0) } ?? slide.thumbnail(maxSide: maxSide)
        } catch SlideError.readFailed {
            // A damaged tile in the thumbnail's level: read it again block by block, the damaged blocks as
            // background; their tiles are counted as tile errors below, the rest of the slide is tiled (C1, C2).
            do {
                handle = try Slide(path: job.path)
                raster = nil
                thumbnail = try handle.thumbnail(maxSide: maxSide, tolerateDamage: true)
                if !handle.isUsable { handle = try Slide(path: job.path) }
            } catch {
                return try fail(.failed, "thumbnail: \(error)")
            }
            let damagedArea = thumbnail.damaged.reduce(0) { $0 + $1.width * $1.height }
            if let first = thumbnail.damaged.first, damagedArea >= slide.width * slide.height {
                return try fail(.failed, "thumbnail: \(first.error)")  // nothing decodes
            }
        } catch {
            return try fail(.failed, "thumbnail: \(error)")
        }
        let frame = ThumbnailFrame(level0PerPixelX: thumbnail.level0PerPixelX, level0PerPixelY: thumbnail.level0PerPixelY)
        let detector = SaturationOtsuDetector(darkBackgroundPolicy: brightObjects ? .brightObjects : .reject)
        let detection: TissueDetection
        do {
            detection = try detector.detect(in: thumbnail.image, frame: frame)
        } catch let error as TissueDetectionError {
            if case .darkBackground = error { return try fail(.fluorescence, "\(error)") }
            return try fail(.failed, "tissue detection: \(error)")
        } catch {
            return try fail(.failed, "tissue detection: \(error)")
        }
        report.tissueFraction = detection.tissueFraction
        let all: [TileGrid.Tile]
        do {
            all = try grid.tiles(mask: detection.mask, minimumTissue: minTissue)
        } catch {
            return try fail(.failed, "tile grid: \(error)")
        }
        if writeQC, job.epoch == 0, let runDirectory = context?.runDirectory {
            let directory = (runDirectory as NSString).appendingPathComponent("qc")
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let name = job.slideID.replacingOccurrences(of: "/", with: "_") + ".png"
                try QCOverlay.write(thumbnail: thumbnail.image, frame: frame, mask: detection.mask, tiles: all,
                                    to: (directory as NSString).appendingPathComponent(name))
            } catch {
                context?.logger.warning("slide \(job.slideID): QC thumbnail not written: \(error)")
            }
        }
        var kept = all.filter(\.kept)
        if let first = thumbnail.damaged.first {
            // Each damaged block counts as one tile read error (whatever the tile size, one damaged TIFF tile costs
            // its own area, not the slide).
            report.tileErrors += thumbnail.damaged.count
            var message = "slide \(job.slideID): \(thumbnail.damaged.count) damaged block(s) of level \(first.level) read as background"
            if thumbnail.level == choice.level {
                // The tiles would be read from the same damaged level: not cut.
                func overDamage(_ tile: TileGrid.Tile) -> Bool {
                    thumbnail.damaged.contains { $0.overlaps(x: tile.x, y: tile.y, side: tile.readExtent) }
                }
                let before = kept.count
                kept.removeAll(where: overDamage)
                message += ", \(before - kept.count) tile(s) over them not cut"
            } else {
                message += " (no tissue is detected there)"
            }
            message += "; first: \(first.error)"
            if failFast { throw SlideReaderError(message: message) }
            context?.recordItemError(message)
            if report.tileErrors >= maxTileErrors {
                return try fail(.quarantined, "quarantined after \(report.tileErrors) tile read errors; last: \(message)")
            }
        }
        for (index, tile) in kept.enumerated() {
            try Task.checkCancellation()
            if context?.isDraining == true {
                // Not complete: the writer leaves the slide unfinished, and the next run tiles it again.
                report.status = .interrupted
                report.error = "the run stopped after \(index) of \(kept.count) tiles"
                break
            }
            let pixels: RGBImage
            do {
                if let tileFault, tileFault(tile) {
                    throw SlideError.readFailed(path: job.path, x: tile.x, y: tile.y, level: choice.level, detail: "injected fault")
                }
                if let raster {
                    pixels = Self.cutTile(raster, tile: tile, size: size)
                } else {
                    pixels = try Self.readTile(handle, tile: tile, choice: choice, size: size)
                }
            } catch {
                report.tileErrors += 1
                let message = "slide \(job.slideID) at (\(tile.x), \(tile.y)): \(error)"
                if failFast { throw SlideReaderError(message: message) }
                context?.recordItemError(message)
                if report.tileErrors >= maxTileErrors {
                    return try fail(.quarantined, "quarantined after \(report.tileErrors) tile read errors; last: \(message)")
                }
                if !handle.isUsable {
                    do { handle = try Slide(path: job.path) } catch {
                        return try fail(.quarantined, "cannot reopen after a tile read error: \(error)")
                    }
                }
                continue
            }
            try await emit(TileSample(slideID: job.slideID, x: tile.x, y: tile.y, mpp: targetMPP,
                                      tissueFraction: Float(tile.tissueFraction), size: size, pixels: pixels.pixels, epoch: job.epoch))
            report.tiles += 1
            context?.metrics.add("tiles")
        }
        report.seconds = (clock.now - start) / .seconds(1)
        return report
    }

    /// Reads the level-0 square of `tile` from `choice.level` and resizes it to `size × size`.
    public static func readTile(_ slide: Slide, tile: TileGrid.Tile, choice: LevelChoice, size: Int) throws -> RGBImage {
        let side = max(1, Int((Double(tile.readExtent) / choice.levelDownsample).rounded()))
        let region = try slide.readRegion(x: tile.x, y: tile.y, level: choice.level, width: side, height: side)
        return TileResampler.resize(region, width: size, height: size)
    }

    /// The same tile cut from its level already in memory (see ``LevelRaster/tileRegion(level0X:level0Y:side:)``).
    public static func cutTile(_ raster: LevelRaster, tile: TileGrid.Tile, size: Int) -> RGBImage {
        let side = max(1, Int((Double(tile.readExtent) / raster.downsample).rounded()))
        return TileResampler.resize(raster.tileRegion(level0X: tile.x, level0Y: tile.y, side: side), width: size, height: size)
    }
}

/// A slide or tile error under `fail_fast`, or a bad `mpp_csv`.
public struct SlideReaderError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
