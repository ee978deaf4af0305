import Dataflow
import Foundation
import ImageOps
import SlideIO
@testable import Stages
import Synchronization
import Testing
import TileShards
import TestSupport

/// The shared sample slides, relative to the package root (tests run from any directory).
let slidesRoot = PackageRoot.path("../shared/data/slides")

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "stages-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

struct SummaryFile: Decodable {
    let slides: [SlideReport]
    func slide(_ id: String) -> SlideReport? { slides.first { $0.slideID == id } }
}

/// Runs the tiling graph in-process; returns the outcome and the parsed summary.
func runTiling(_ tiling: TileGraph, runDirectory: String) async throws -> (RunOutcome, SummaryFile) {
    let (spec, _) = try tiling.load()
    let run = try GraphRun(graph: spec, registry: .builtIn, runDirectory: runDirectory)
    let result = await run.run()
    let data = try Data(contentsOf: URL(fileURLWithPath: runDirectory + "/tiling-summary.json"))
    return (result.outcome, try JSONDecoder().decode(SummaryFile.self, from: data))
}

@Suite(.serialized) struct TilingTests {
    @Test func slideListWalksDirectoriesSorted() throws {
        let jobs = try SlideListSource.jobs(inputs: [slidesRoot])
        let names = jobs.map(\.slideID)
        #expect(jobs.map(\.path) == jobs.map(\.path).sorted())
        for expected in ["CMU-1-Small-Region.svs", "tcga-cr-7395-01a-01-ts1.svs", "osp-small-16x16.svs", "osp-boxes.tiff",
                         "stritt-test3-DAPI-2-387.ndpi", "boxes_0.dcm", "boxes_1.dcm", "osp-unreadable.svs",
                         "osp-unopenable.tiff", "histolab-broken.svs", "aics-tiles-zstack.czi"] {
            #expect(names.contains(expected), "\(expected) missing from \(names)")
        }
        #expect(Set(names).count == names.count)
        #expect(throws: SlideListError.self) { try SlideListSource.jobs(inputs: [slidesRoot + "/nope"]) }
    }

    @Test func tilesEverySampleSlideWithSummaryResumeAndPixels() async throws {
        let out = temporaryDirectory("tile")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let csv = out + "-mpp.csv"
        try "slide,mpp\ntcga-cr-7395-01a-01-ts1.svs,0.25\n".write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        var tiling = TileGraph(inputs: [slidesRoot], out: out + "/data")
        tiling.mppCSV = csv
        tiling.tilesPerShard = 16
        let (outcome, summary) = try await runTiling(tiling, runDirectory: out + "/run1")
        #expect(outcome == .completed)

        let cmu = try #require(summary.slide("CMU-1-Small-Region.svs"))
        #expect(cmu.status == .ok)
        #expect(cmu.tiles > 10)
        #expect(abs((cmu.mpp ?? 0) - 0.499) < 1e-9)
        #expect(cmu.mppSource == "aperio.MPP")
        let tcga = try #require(summary.slide("tcga-cr-7395-01a-01-ts1.svs"))
        #expect(tcga.status == .ok && tcga.tiles > 0 && tcga.mpp == 0.25)
        #expect(tcga.mppSource?.contains("per-slide override") == true)
        let small = try #require(summary.slide("osp-small-16x16.svs"))
        #expect(small.status == .ok && small.tiles == 0 && small.error == nil)
        let ndpi = try #require(summary.slide("stritt-test3-DAPI-2-387.ndpi"))
        #expect(ndpi.status == .fluorescence && ndpi.tiles == 0)
        #expect(ndpi.error?.contains("fluorescence") == true)
        for (id, words) in [("boxes_0.dcm", "DICOM"), ("boxes_1.dcm", "DICOM"), ("osp-unreadable.svs", "Bogus marker"),
                            ("osp-unopenable.tiff", "Unsupported TIFF compression"), ("histolab-broken.svs", "plain text"),
                            ("aics-tiles-zstack.czi", "CZI"), ("osp-boxes.tiff", "no resolution")] {
            let report = try #require(summary.slide(id))
            #expect(report.status == .failed, "\(id)")
            #expect(report.error?.contains(words) == true, "\(id): \(report.error ?? "no error")")
            #expect(report.tiles == 0)
        }
        #expect(FileManager.default.fileExists(atPath: out + "/run1/tiling-summary.csv"))
        #expect(FileManager.default.fileExists(atPath: out + "/run1/qc/CMU-1-Small-Region.svs.png"))

        // The dataset verifies and holds exactly the reported tiles.
        let report = DatasetVerifier.verify(directory: out + "/data")
        #expect(report.isIntact, "\(report.lines)")
        let dataset = try ShardDataset(directory: out + "/data")
        #expect(dataset.tileCount == cmu.tiles + tcga.tiles)
        #expect(dataset.index.shards.count > 1)

        // Pixels: CMU tiles need no resampling (224.45 level-0 px read as 224) → identical to a direct read.
        // TCGA at 0.25 → 0.5 is read from level 1 (downsample 2.0005) → identical to a direct level-1 read of
        // the same square, resized; and close to a level-0 read averaged 2 × 2.
        let cmuSlide = try Slide(path: slidesRoot + "/aperio/CMU-1-Small-Region.svs")
        let tcgaSlide = try Slide(path: slidesRoot + "/aperio/tcga-cr-7395-01a-01-ts1.svs")
        var checkedCMU = 0, checkedTCGA = 0
        for shard in 0..<dataset.index.shards.count {
            let reader = try dataset.openShard(shard)
            for index in 0..<reader.count {
                let tile = try reader.tile(at: index)
                let x = Int(tile.metadata.x), y = Int(tile.metadata.y)
                #expect(tile.metadata.mpp == 0.5)
                if tile.metadata.slideID == "CMU-1-Small-Region.svs", checkedCMU < 5 {
                    let direct = try cmuSlide.readRegion(x: x, y: y, level: 0, width: 224, height: 224)
                    #expect(direct.pixels == tile.pixels, "CMU tile at (\(x), \(y))")
                    checkedCMU += 1
                } else if tile.metadata.slideID == "tcga-cr-7395-01a-01-ts1.svs", checkedTCGA < 3 {
                    let level0 = try tcgaSlide.readRegion(x: x, y: y, level: 0, width: 448, height: 448)
                    let reference = TileResampler.resize(level0, width: 224, height: 224)
                    var diff = 0.0
                    for i in reference.pixels.indices { diff += abs(Double(reference.pixels[i]) - Double(tile.pixels[i])) }
                    let mean = diff / Double(reference.pixels.count)
                    #expect(mean < 12, "TCGA tile at (\(x), \(y)): mean abs diff \(mean)")
                    checkedTCGA += 1
                }
            }
        }
        #expect(checkedCMU == 5 && checkedTCGA == 3)

        // Resume: a second run writes nothing new; the complete slides are reported skipped.
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/data/index.json"))
        let (outcome2, summary2) = try await runTiling(tiling, runDirectory: out + "/run2")
        #expect(outcome2 == .completed)
        let after = try Data(contentsOf: URL(fileURLWithPath: out + "/data/index.json"))
        #expect(before == after)
        #expect(summary2.slide("CMU-1-Small-Region.svs")?.status == .skipped)
        #expect(summary2.slide("tcga-cr-7395-01a-01-ts1.svs")?.status == .skipped)
        #expect(summary2.slides.reduce(0) { $0 + $1.tiles } == 0)
        // A rejected fluorescence slide is not complete: the next run looks at it again (and could tile it with
        // fluorescence: bright-objects).
        #expect(!dataset.index.completedSources.contains("stritt-test3-DAPI-2-387.ndpi"))
        #expect(summary2.slide("stritt-test3-DAPI-2-387.ndpi")?.status == .fluorescence)
    }

    /// A drain (SIGINT) while a slide is being read: the slide is reported `interrupted`, not complete, and the
    /// next run tiles it again, whole (before, it was marked complete with the tiles read so far, for good).
    @Test func slideCutShortByADrainIsTiledAgainByTheNextRun() async throws {
        let out = temporaryDirectory("drain")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let id = "tcga-cr-7395-01a-01-ts1.svs"
        var tiling = TileGraph(inputs: [slidesRoot + "/aperio/" + id], out: out + "/data")
        tiling.mppOverride = 0.25
        tiling.mpp = 0.1  // 1,225 tiles: the drain comes long before the last
        tiling.tilesPerShard = 50
        let run = try GraphRun(graph: try tiling.load().spec, registry: .builtIn, runDirectory: out + "/run1")
        let stopper = Task {
            while run.snapshot().stages.first(where: { $0.name == "writer" })?.itemsIn ?? 0 < 60 { try await Task.sleep(for: .milliseconds(2)) }
            run.requestStop(.interrupt)
        }
        let result = await run.run()
        stopper.cancel()
        #expect(result.outcome == .stopped(.interrupt))
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/run1/tiling-summary.json"))
        let cut = try #require(try JSONDecoder().decode(SummaryFile.self, from: data).slide(id))
        #expect(cut.status == .interrupted && cut.tiles == 0, "\(cut)")
        #expect(cut.error?.contains("of 1225 tiles") == true, "\(cut.error ?? "")")
        // The partial tiles are gone before the run ends: index.json lists no tile of the slide (here, no shard).
        let indexPath = out + "/data/index.json"
        let partial = try DatasetIndex.decode(Array(try Data(contentsOf: URL(fileURLWithPath: indexPath))), path: indexPath)
        #expect(!partial.completedSources.contains(id) && partial.tiles == 0 && partial.shards.isEmpty, "\(partial)")

        let (outcome, summary) = try await runTiling(tiling, runDirectory: out + "/run2")
        #expect(outcome == .completed)
        #expect(summary.slide(id)?.status == .ok && summary.slide(id)?.tiles == 1225)
        let dataset = try ShardDataset(directory: out + "/data")
        #expect(dataset.tileCount == 1225 && dataset.index.completedSources == [id])
        #expect(DatasetVerifier.verify(directory: out + "/data").isIntact)
    }

    /// Tiles at another µm/px into a dataset that holds tiles: refused before anything is written (one dataset, one
    /// resolution), where the run used to append them beside the others.
    @Test func datasetAtAnotherResolutionIsRefused() async throws {
        let out = temporaryDirectory("mpp")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var tiling = TileGraph(inputs: [slidesRoot + "/aperio/CMU-1-Small-Region.svs"], out: out + "/data")
        let (first, _) = try await runTiling(tiling, runDirectory: out + "/run1")
        #expect(first == .completed)
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/data/index.json"))
        tiling.inputs = [slidesRoot + "/aperio/tcga-cr-7395-01a-01-ts1.svs"]
        tiling.mppOverride = 0.25
        tiling.mpp = 1.0
        let result = await (try GraphRun(graph: try tiling.load().spec, registry: .builtIn, runDirectory: out + "/run2")).run()
        guard case .failed(let stage, let message) = result.outcome else {
            Issue.record("expected the writer to fail, got \(result.outcome)")
            return
        }
        #expect(stage == "writer")
        #expect(message.contains("holds tiles at 0.5 µm/px, this run cuts tiles at 1.0 µm/px"), "\(message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/data/index.json")) == before)
    }

    @Test func slideWithoutMPPIsReportedNotCrashed() async throws {
        let out = temporaryDirectory("nompp")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let tiling = TileGraph(inputs: [slidesRoot + "/aperio/tcga-cr-7395-01a-01-ts1.svs"], out: out + "/data")
        let (outcome, summary) = try await runTiling(tiling, runDirectory: out + "/run")
        #expect(outcome == .completed)
        let tcga = try #require(summary.slide("tcga-cr-7395-01a-01-ts1.svs"))
        #expect(tcga.status == .failed)
        #expect(tcga.error?.contains("no resolution") == true)
        #expect(tcga.error?.contains("--mpp-override") == true)
    }

    @Test func failFastStopsTheRun() async throws {
        let out = temporaryDirectory("failfast")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var tiling = TileGraph(inputs: [slidesRoot + "/bad-input/histolab-broken.svs"], out: out + "/data")
        tiling.failFast = true
        let (spec, _) = try tiling.load()
        let result = await (try GraphRun(graph: spec, registry: .builtIn, runDirectory: out)).run()
        guard case .failed(_, let message) = result.outcome else {
            Issue.record("expected a failed run, got \(result.outcome)")
            return
        }
        #expect(message.contains("histolab-broken.svs"))
    }

    @Test func resamplerKeepsSizeAndAverages() {
        let image = RGBImage(width: 4, height: 4, pixels: (0..<48).map { UInt8($0 * 5) })
        #expect(TileResampler.resize(image, width: 4, height: 4) == image)
        let half = TileResampler.resize(image, width: 2, height: 2)
        #expect(half.width == 2 && half.height == 2)
        // Top-left output pixel, red: mean of source pixels (0,0),(1,0),(0,1),(1,1) red = 0, 15, 60, 75 → 37.5 → 38.
        #expect(half.pixels[0] == 38)
        let up = TileResampler.resize(half, width: 8, height: 8)
        #expect(up.pixels.count == 8 * 8 * 3)
    }
}

@Suite struct TileGraphTests {
    /// The built-in copy of the graph matches graphs/tile.yaml, and inputs with quotes, `$` and commas survive.
    @Test func embeddedGraphMatchesTheFile() throws {
        let path = try #require(TileGraph.packageGraphPath)
        var tiling = TileGraph(inputs: ["/data/a \"b\", $c.svs", "/x"], out: "/tmp/out")
        tiling.mppOverride = 0.3
        let env = tiling.environment
        let file = try String(contentsOfFile: path, encoding: .utf8)
        let list = "[" + tiling.inputs.map { TileGraph.quoted($0) }.joined(separator: ", ") + "]"
        func load(_ text: String) throws -> GraphSpec {
            var loader = GraphLoader(registry: .builtIn, environment: env)
            loader.validatesStages = false  // the inputs do not exist
            return try loader.load(yaml: text.replacingOccurrences(of: "\"${SLIDES}\"", with: list), path: "t.yaml")
        }
        let a = try load(file), b = try load(TileGraph.embeddedYAML)
        #expect(a.stages.map(\.type) == b.stages.map(\.type))
        #expect(a.stages.map(\.replicas) == b.stages.map(\.replicas))
        for (x, y) in zip(a.stages, b.stages) { #expect(x.parameters.values == y.parameters.values, "\(x.name)") }
        #expect(a.edges.map(\.name) == b.edges.map(\.name))
        #expect(a.stage("slides")?.parameters.stringList("inputs") == tiling.inputs)
        #expect(a.stage("reader")?.parameters.number("mpp_override") == 0.3)
        #expect(a.stage("writer")?.parameters.string("out") == "/tmp/out")
    }
}
