import Compute
import Dataflow
import Embedding
import Evaluation
import Foundation
import Models

/// `evaluator`: every `every` steps, embeds a held-out tile set with the weights of a ``ModelSnapshot`` (the EMA
/// of the student, usually) and computes the configured metrics — PLISM-style robustness on paired tiles, the
/// eva linear probe and kNN on labelled tiles (``HeldOutSet``, ``EmbeddingEvaluator``) — then publishes the
/// headline figures as stage metrics (`robustness_cosine`, `robustness_top1`, `probe_balanced_accuracy`,
/// `knn_balanced_accuracy`, …, ``EvaluationReport/headline``) and writes the whole report as
/// `eval/step-N.json` in the run directory (`eval/step-N-ROLE.json` for snapshots whose role is not `ema`),
/// atomically.
///
/// The held-out tiles are decoded once when the stage starts; files the robustness folder holds that cannot be
/// decoded are logged and left out. A snapshot whose step is a multiple of `every` is evaluated; with `final`,
/// so is the last snapshot of the stream if it was not. Snapshots arriving while an evaluation runs wait in
/// the edge (give it room, or a trainer blocks on it).
public struct EvaluatorStage: Stage {
    public static let summary = "Every N steps: embeds held-out tiles with the snapshot's weights, robustness / probe / kNN, eval/step-N.json"
    public static let input = InputPort<ModelSnapshot>("in")
    public static var inputs: [PortSpec] { [input.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("every", .integer(1...Int.max), default: .integer(1), "evaluate snapshots whose step is a multiple of this"),
        ParameterSpec("final", .boolean, default: .boolean(true), "also evaluate the stream's last snapshot"),
        ParameterSpec("probe_tiles", .string, default: .string(""), "folder of labelled tiles (PNG/JPEG) or a shard dataset; empty = no probe"),
        ParameterSpec("probe_labels", .string, default: .string(""), "labels CSV (file, label[, split]); empty = probe_tiles/labels.csv"),
        ParameterSpec("robustness_tiles", .string, default: .string(""),
                      "folder of slide folders STAINING_SCANNER… with the same tiles, or of image files (one slide each); empty = none"),
        ParameterSpec("staining", .string, default: .string("HE"), "staining name of single-file robustness slides"),
        ParameterSpec("pooling", .choice(Pooling.allCases.map(\.rawValue)), default: .string("cls"), "embedding: cls or cls+mean"),
        ParameterSpec("batch", .integer(1...4096), default: .integer(16), "tiles per forward pass"),
        ParameterSpec("threads", .integer(0...4096), default: .integer(0), "CPU threads; 0 = every core"),
        ParameterSpec("probe_steps", .integer(1...Int.max), default: .integer(500), "linear probe: maximum optimiser steps"),
        ParameterSpec("probe_runs", .integer(1...100), default: .integer(1), "linear probe: runs (seeds) averaged"),
        ParameterSpec("knn_k", .integer(0...Int.max), default: .integer(20), "kNN neighbours; 0 = no kNN"),
    ]

    let every: Int
    let final: Bool
    let probeTiles: String?
    let probeLabels: String?
    let robustnessTiles: String?
    let staining: String
    let pooling: Pooling
    let batch: Int
    let threads: Int
    let probeSteps: Int
    let probeRuns: Int
    let knnK: Int

    public init(parameters: StageParameters) throws {
        func path(_ name: String) -> String? { parameters.string(name).isEmpty ? nil : parameters.string(name) }
        every = parameters.integer("every")
        final = parameters.boolean("final")
        probeTiles = path("probe_tiles")
        probeLabels = path("probe_labels")
        robustnessTiles = path("robustness_tiles")
        staining = parameters.string("staining")
        pooling = Pooling(rawValue: parameters.string("pooling"))!
        batch = parameters.integer("batch")
        threads = parameters.integer("threads")
        probeSteps = parameters.integer("probe_steps")
        probeRuns = parameters.integer("probe_runs")
        knnK = parameters.integer("knn_k")
        guard probeTiles != nil || robustnessTiles != nil else {
            throw ParameterError(key: "probe_tiles", "give probe_tiles and/or robustness_tiles: there is nothing to evaluate")
        }
        if probeLabels != nil && probeTiles == nil {
            throw ParameterError(key: "probe_labels", "labels without probe_tiles")
        }
    }

    /// Checks that the held-out folders and the labels file exist.
    public func validate(replicas: Int) throws {
        let labels = probeLabels ?? probeTiles.map { ($0 as NSString).appendingPathComponent("labels.csv") }
        for (key, path) in [("probe_tiles", probeTiles), ("probe_labels", labels), ("robustness_tiles", robustnessTiles)] {
            guard let path else { continue }
            guard FileManager.default.fileExists(atPath: path) else { throw ParameterError(key: key, "\(path): no such file or folder") }
        }
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let heldOut = try HeldOutSet.load(probeTiles: probeTiles, labels: probeLabels, robustnessTiles: robustnessTiles,
                                          staining: staining)
        if !heldOut.skipped.isEmpty {
            context.logger.warning("robustness tiles: skipped \(heldOut.skipped.count) file(s): \(heldOut.skipped.joined(separator: "; "))")
        }
        context.logger.info("held-out set: \(heldOut.probeTiles.count) probe tiles, \(heldOut.robustnessSlides.count) robustness slides")
        let backend = CPUBackend(threads: threads == 0 ? CPUBackend.availableCores : threads)
        var probe = LinearProbe()
        probe.configuration.maxSteps = probeSteps
        probe.configuration.runs = probeRuns

        var latest: ModelSnapshot?
        var evaluated: Int?
        func evaluate(_ snapshot: ModelSnapshot) throws {
            let model = ViT(config: snapshot.config, parameters: snapshot.parameters, backend: backend)
            let embedder = TileEmbedder(model: model, pooling: pooling, batchSize: batch)
            let start = ContinuousClock.now
            let report = try heldOut.evaluate(embedder: embedder, probe: probe, knn: knnK > 0 ? KNNClassifier(k: knnK) : nil)
            let figures = report.headline
            for (name, value) in figures { context.metrics.set(name, value) }
            context.metrics.set("step", Double(snapshot.step))
            context.metrics.add("evaluations")
            if let runDirectory = context.runDirectory {
                let name = snapshot.role == "ema" ? "step-\(snapshot.step).json" : "step-\(snapshot.step)-\(snapshot.role).json"
                let directory = (runDirectory as NSString).appendingPathComponent("eval")
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try report.write(to: (directory as NSString).appendingPathComponent(name))
            }
            let summary = figures.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }
            context.logger.info("eval step \(snapshot.step) (\(snapshot.role)) in \(start.duration(to: .now)): \(summary.joined(separator: ", "))")
            evaluated = snapshot.step
        }

        while let snapshot = try await inbox.next() {
            latest = snapshot
            if snapshot.step % every == 0 { try evaluate(snapshot) }
        }
        if final, let latest, evaluated != latest.step, !context.isDraining { try evaluate(latest) }
    }
}
