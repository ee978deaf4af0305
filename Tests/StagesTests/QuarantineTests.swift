import Dataflow
import Foundation
import SlideIO
@testable import Stages
import Synchronization
import Testing
import TileShards
import TestSupport

func defaultParameters(_ specs: [ParameterSpec], _ extra: [String: ParameterValue] = [:]) -> StageParameters {
    var values: [String: ParameterValue] = [:]
    for spec in specs { if let value = spec.defaultValue { values[spec.name] = value } }
    values.merge(extra) { $1 }
    return StageParameters(stageName: "test", values: values)
}

let cmuJob = SlideJob(path: slidesRoot + "/aperio/CMU-1-Small-Region.svs", slideID: "CMU-1-Small-Region.svs")

/// Emits tiles and reports given by `script` (`A+3` = 3 tiles of slide A, `A=ok`/`A=quarantined` = its report).
struct ScriptedTileSource: Stage {
    static let summary = "test source"
    static let output = OutputPort<TileStreamItem>("out")
    static var outputs: [PortSpec] { [output.spec] }
    static let parameters: [ParameterSpec] = [ParameterSpec("script", .stringList, "steps")]
    let script: [String]
    init(parameters: StageParameters) throws { script = parameters.stringList("script") }
    func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        var counts: [String: Int] = [:]
        for step in script {
            if let plus = step.firstIndex(of: "+") {
                let slide = String(step[..<plus]), n = Int(step[step.index(after: plus)...])!
                for _ in 0..<n {
                    let i = counts[slide, default: 0]
                    counts[slide] = i + 1
                    try await out.send(.tile(TileSample(slideID: slide, x: i, y: 0, mpp: 0.5, tissueFraction: 1, size: 4,
                                                        pixels: [UInt8](repeating: UInt8(i), count: 48))))
                }
            } else if let eq = step.firstIndex(of: "=") {
                let slide = String(step[..<eq])
                let status = SlideReport.Status(rawValue: String(step[step.index(after: eq)...]))!
                try await out.send(.report(SlideReport(slideID: slide, path: slide, status: status, tiles: counts[slide, default: 0])))
            }
        }
    }
}

@Suite(.serialized) struct QuarantineTests {
    @Test func levelDecodedOnceGivesTheTilesOfPerTileReads() async throws {
        // CMU-1-Small-Region: the thumbnail and the tiles both come from level 0, which fits the default budget.
        func tiles(levelCacheMB: Int) async throws -> [TileSample] {
            let reader = try SlideReaderStage(parameters: defaultParameters(SlideReaderStage.parameters, [
                "qc": .boolean(false), "level_cache_mb": .integer(levelCacheMB)]))
            let collected = Mutex<[TileSample]>([])
            let report = try await reader.read(cmuJob, table: nil, context: nil) { tile in collected.withLock { $0.append(tile) } }
            #expect(report.status == .ok)
            return collected.withLock { $0 }
        }
        let once = try await tiles(levelCacheMB: 256)
        let perTile = try await tiles(levelCacheMB: 0)
        #expect(once.count > 10 && once.count == perTile.count)
        for (a, b) in zip(once, perTile) {
            #expect(a.x == b.x && a.y == b.y && a.pixels == b.pixels, "tile at (\(a.x), \(a.y))")
        }
    }

    /// A damaged TIFF tile in the level the thumbnail and the tiles come from (field cases C1, C2: "premature end of
    /// data segment" used to fail the whole slide at its thumbnail): the block reads as background, the tiles over it
    /// are not cut, the block counts as one tile error, every other tile is cut; past `max_tile_errors` the slide is
    /// quarantined.
    @Test func damagedTileCostsItsTilesNotTheSlide() async throws {
        let job = SlideJob(path: PackageRoot.path("Tests/Fixtures/slides/corrupt-tile.tiff"), slideID: "corrupt-tile.tiff")
        func read(maxTileErrors: Int) async throws -> (SlideReport, [TileSample]) {
            let reader = try SlideReaderStage(parameters: defaultParameters(SlideReaderStage.parameters, [
                "qc": .boolean(false), "mpp": .number(0.25), "size": .integer(32), "min_tissue": .number(0),
                "max_tile_errors": .integer(maxTileErrors)]))
            let collected = Mutex<[TileSample]>([])
            let report = try await reader.read(job, table: nil, context: nil) { tile in collected.withLock { $0.append(tile) } }
            return (report, collected.withLock { $0 })
        }
        let (report, tiles) = try await read(maxTileErrors: 10)
        #expect(report.status == .ok && report.tileErrors == 1 && report.tiles == 8, "\(report)")  // one damaged block
        // 4 × 3 tiles of 32 px; the four in the damaged 64 × 64 block at (0, 0) are missing.
        #expect(Set(tiles.map { "\($0.x),\($0.y)" }) == ["64,0", "96,0", "64,32", "96,32", "0,64", "32,64", "64,64", "96,64"])
        let reference = try Slide(path: PackageRoot.path("Tests/Fixtures/slides/res-cm-40000.tiff"))
        for tile in tiles {
            #expect(tile.pixels == (try reference.readRegion(x: tile.x, y: tile.y, level: 0, width: 32, height: 32)).pixels)
        }
        let (quarantined, _) = try await read(maxTileErrors: 1)
        #expect(quarantined.status == .quarantined && quarantined.error?.contains("damaged block") == true, "\(quarantined)")
    }

    @Test func tileErrorsAreCountedAndTheSlideQuarantined() async throws {
        var reader = try SlideReaderStage(parameters: defaultParameters(SlideReaderStage.parameters, ["qc": .boolean(false)]))
        let emitted = Mutex(0)
        // Two bad tiles: the slide is still tiled, without them.
        let bad = Mutex<Set<Int>>([])
        reader.tileFault = { tile in
            bad.withLock { set in
                if set.count < 2 && !set.contains(tile.x * 100_000 + tile.y) { set.insert(tile.x * 100_000 + tile.y); return true }
                return false
            }
        }
        let report = try await reader.read(cmuJob, table: nil, context: nil) { _ in emitted.withLock { $0 += 1 } }
        #expect(report.status == .ok)
        #expect(report.tileErrors == 2)
        #expect(report.tiles == emitted.withLock { $0 })
        #expect(report.tiles > 10)

        // Every tile fails: quarantined after max_tile_errors, the reader goes on (returns a report).
        var failing = try SlideReaderStage(parameters: defaultParameters(SlideReaderStage.parameters,
                                                                           ["qc": .boolean(false), "max_tile_errors": .integer(4)]))
        failing.tileFault = { _ in true }
        let quarantined = try await failing.read(cmuJob, table: nil, context: nil) { _ in }
        #expect(quarantined.status == .quarantined)
        #expect(quarantined.tileErrors == 4)
        #expect(quarantined.tiles == 0)
        #expect(quarantined.error?.contains("CMU-1-Small-Region.svs at (") == true)

        // fail_fast: the first tile error is thrown.
        var fast = try SlideReaderStage(parameters: defaultParameters(SlideReaderStage.parameters,
                                                                        ["qc": .boolean(false), "fail_fast": .boolean(true)]))
        fast.tileFault = { _ in true }
        await #expect(throws: SlideReaderError.self) { _ = try await fast.read(cmuJob, table: nil, context: nil) { _ in } }
    }

    @Test func writerDropsTilesOfQuarantinedSlides() async throws {
        let out = temporaryDirectory("quarantine")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var registry = StageRegistry.builtIn
        registry.register(ScriptedTileSource.self, as: "scripted")
        let yaml = """
            stages:
              - {name: source, type: scripted, params: {script: ["a.svs+5", "b.svs+4", "a.svs=ok", "b.svs+3", "b.svs=quarantined", "c.svs=ok"]}}
              - {name: writer, type: shard-writer, params: {out: "\(out)/data", size: 4, tiles_per_shard: 3}}
            edges:
              - {from: source, to: writer}
            """
        let spec = try GraphLoader(registry: registry, environment: [:]).load(yaml: yaml, path: "q.yaml")
        let result = await (try GraphRun(graph: spec, registry: registry, runDirectory: out + "/run")).run()
        #expect(result.outcome == .completed)
        let verify = DatasetVerifier.verify(directory: out + "/data")
        #expect(verify.isIntact, "\(verify.lines)")
        let dataset = try ShardDataset(directory: out + "/data")
        #expect(dataset.tileCount == 5)
        #expect(Set(dataset.index.completedSources) == ["a.svs", "c.svs"])
        for shard in 0..<dataset.index.shards.count {
            let reader = try dataset.openShard(shard)
            for i in 0..<reader.count { #expect(try reader.metadata(at: i).slideID == "a.svs") }
        }
        let csv = try String(contentsOfFile: out + "/run/tiling-summary.csv", encoding: .utf8)
        #expect(csv.contains("b.svs,quarantined"))
    }
}
