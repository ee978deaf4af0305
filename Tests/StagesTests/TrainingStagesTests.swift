import Compute
import Dataflow
import Evaluation
import Foundation
import Models
@testable import Stages
import Testing
import Training
import TestSupport

private func rootPath(_ relative: String) -> String { PackageRoot.path(relative) }

private var registry: StageRegistry {
    var registry = StageRegistry.builtIn
    registry.register(FixedSource<TeacherOutput>.self, as: "fixed-teacher-outputs")
    registry.register(CollectingSink<ModelSnapshot>.self, as: "collect-snapshots")
    return registry
}

/// Sample `index`: 2 global 56-px and 2 local 28-px crops and teacher tokens (width 64, 16 patches), noise in [-1, 1).
private func teacherOutput(_ index: Int, nan: Bool = false) -> TeacherOutput {
    var generator = SplitMix64(seed: 500 + UInt64(index))
    func noise(_ count: Int) -> [Float] { (0..<count).map { _ in Float(2 * (Double(generator.next() >> 11) * 0x1p-53) - 1) } }
    let crops = CropSet(sampleID: UInt64(1000 + index), slideID: "slide-\(index % 2)", x: 224 * index, y: 448, mpp: 0.5, epoch: 0,
                        global: noise(2 * 3 * 56 * 56), globalShape: [2, 3, 56, 56], local: noise(2 * 3 * 28 * 28), localShape: [2, 3, 28, 28])
    var patches = noise(2 * 16 * 64)
    if nan { patches[5] = .nan }
    return TeacherOutput(crops: crops, dim: 64, patchTokens: 16, cls: noise(2 * 64), patches: patches)
}

private let trainerParameters = """
    model: "\(rootPath("configs/models/vit-tiny-train-test.yaml"))", teacher_model: "\(rootPath("configs/models/vit-tiny-test.yaml"))",
    prototypes: 256, head_hidden: 48, dino_bottleneck: 32, ibot_bottleneck: 16, teacher_head_hidden: 48,
    teacher_dino_bottleneck: 32, teacher_ibot_bottleneck: 16, batch: 2, epochs: 2, epoch_length: 4, warmup_epochs: 1,
    warmup_teacher_temp_epochs: 1, checkpoint_every: 2, threads: 1
    """

private func trainingGraph(key: String, emaEvery: Int = 2, extra: String = "") -> String {
    """
    name: training
    run: {seed: 9}
    stages:
      - {name: source, type: fixed-teacher-outputs, params: {key: "\(key)"}}
      - {name: trainer, type: student-trainer, params: {\(trainerParameters)\(extra)}}
      - {name: ema, type: ema, params: {every: \(emaEvery)}}
      - {name: sink, type: collect-snapshots, params: {key: "\(key)"}}
    edges:
      - {from: source, to: trainer, capacity: 4}
      - {from: trainer, to: ema, capacity: 4}
      - {from: ema, to: sink, capacity: 4}
    """
}

private func run(_ text: String, directory: String) async throws -> RunResult {
    let spec = try GraphLoader(registry: registry).load(yaml: text, path: "training.yaml")
    return await (try GraphRun(graph: spec, registry: registry, runDirectory: directory)).run()
}

@Suite(.serialized) struct TrainingStagesTests {
    @Test("teacher outputs → student-trainer → ema: the EMA snapshots equal DistillationTrainer + StudentEMA run by hand; train.jsonl has every step")
    func graphEqualsTheLibrary() async throws {
        let items = (0..<7).map { teacherOutput($0) }
        FixedSource<TeacherOutput>.set("library", items)
        let directory = temporaryDirectory("training-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await run(trainingGraph(key: "library"), directory: directory)
        #expect(result.outcome == .completed)

        // The same run by hand: 7 samples in batches of 2 → 3 steps, the last sample dropped.
        let backend = CPUBackend(threads: 1)
        let config = try ViTConfig.load(path: rootPath("configs/models/vit-tiny-train-test.yaml"))
        let stage = try StudentTrainerStage(parameters: GraphLoader(registry: registry).load(yaml: trainingGraph(key: "library"), path: "t.yaml")
            .stages.first { $0.name == "trainer" }!.parameters)
        let layout = stage.studentLayout(config, teacherWidth: 64)
        let student = Student.initialized(layout: layout, backend: backend, seed: 9)
        let heads = stage.teacherHeadConfigs(width: 64)
        let teacher = TeacherHeads.initialized(dino: heads.dino, ibot: heads.ibot, backend: backend,
                                               seed: StudentTrainerStage.teacherHeadSeed(runSeed: 9))
        var settings = DistillationTrainer.Settings(batch: 2, schedules: try stage.schedules())
        (settings.localCrops, settings.globalSize, settings.localSize) = (2, 56, 28)
        let trainer = try DistillationTrainer(settings: settings, student: student, teacherHeads: teacher)
        let backboneCount = layout.backboneLayout.count
        var ema = StudentEMA(parameters: Array(UnsafeBufferPointer(start: student.parameters.floats, count: backboneCount)))
        var losses: [Double] = []
        for step in 0..<3 {
            let report = try trainer.step(TrainingBatch(Array(items[(2 * step)..<(2 * step + 2)])))
            ema.update(student: UnsafeBufferPointer(start: student.parameters.floats, count: backboneCount), momentum: report.schedule.momentum)
            losses.append(report.totalLoss)
        }

        let snapshots = CollectingSink<ModelSnapshot>.items("library")
        #expect(snapshots.map(\.step) == [2, 3] && snapshots.allSatisfy { $0.role == "ema" })
        let final = Array(UnsafeBufferPointer(start: snapshots.last!.parameters.flat.floats, count: backboneCount))
        #expect(final == ema.parameters)
        #expect(final != Array(UnsafeBufferPointer(start: student.parameters.floats, count: backboneCount)))

        let lines = try String(contentsOfFile: directory + "/train.jsonl", encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(logged.map { $0["step"] as? Int } == [1, 2, 3])
        // JSON carries the loss to 15–17 significant digits.
        for (line, loss) in zip(logged, losses) { #expect(abs((line["loss"] as? Double ?? 0) - loss) <= 1e-12 * loss) }
        #expect(logged[0]["lr"] as? Double == 0)
    }

    @Test("objective features with a teacher checkpoint without heads: the EMA snapshots and the checkpoint equal the feature trainer run by hand")
    func featureDistillationGraphEqualsTheLibrary() async throws {
        let items = (0..<5).map { teacherOutput($0) }
        FixedSource<TeacherOutput>.set("features", items)
        let directory = temporaryDirectory("training-features")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let headless = ", objective: features, teacher_weights: \"\(rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors"))\""
        let result = try await run(trainingGraph(key: "features", extra: headless), directory: directory)
        #expect(result.outcome == .completed)

        // By hand: 5 samples in batches of 2 → 2 steps (the last sample dropped), projector 64 → 64, no heads.
        let backend = CPUBackend(threads: 1)
        let config = try ViTConfig.load(path: rootPath("configs/models/vit-tiny-train-test.yaml"))
        let stage = try StudentTrainerStage(parameters: GraphLoader(registry: registry).load(yaml: trainingGraph(key: "features", extra: headless), path: "t.yaml")
            .stages.first { $0.name == "trainer" }!.parameters)
        let layout = stage.studentLayout(config, teacherWidth: 64)
        #expect(layout.heads.isEmpty && layout.projector == FeatureProjector(inFeatures: 64, outFeatures: 64))
        let student = Student.initialized(layout: layout, backend: backend, seed: 9)
        var settings = DistillationTrainer.Settings(batch: 2, schedules: try stage.schedules())
        (settings.localCrops, settings.globalSize, settings.localSize) = (2, 56, 28)
        let trainer = try DistillationTrainer(settings: settings, student: student, featureLoss: FeatureDistillationLoss(), teacherWidth: 64)
        let backboneCount = layout.backboneLayout.count
        var ema = StudentEMA(parameters: Array(UnsafeBufferPointer(start: student.parameters.floats, count: backboneCount)))
        var losses: [Double] = []
        for step in 0..<2 {
            let report = try trainer.step(TrainingBatch(Array(items[(2 * step)..<(2 * step + 2)])))
            ema.update(student: UnsafeBufferPointer(start: student.parameters.floats, count: backboneCount), momentum: report.schedule.momentum)
            losses.append(report.totalLoss)
        }

        let snapshots = CollectingSink<ModelSnapshot>.items("features")
        #expect(snapshots.last?.step == 2)
        #expect(Array(UnsafeBufferPointer(start: snapshots.last!.parameters.flat.floats, count: backboneCount)) == ema.parameters)
        let state = try TrainCheckpoint.read(path: directory + "/" + EMAStage.checkpointPath, layout: layout)
        #expect(state.iteration == 2 && state.dinoCentering == nil && state.student == Array(UnsafeBufferPointer(start: student.parameters.floats, count: layout.count)))

        let lines = try String(contentsOfFile: directory + "/train.jsonl", encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(logged.map { $0["step"] as? Int } == [1, 2] && logged.allSatisfy { $0["dino_local_loss"] == nil && $0["cls_feature_loss"] is Double })
        for (line, loss) in zip(logged, losses) { #expect(abs((line["loss"] as? Double ?? 0) - loss) <= 1e-12 * loss) }
    }

    @Test("the H0-mini dry run with OBJECTIVE=features prints the projector and its memory, and no teacher heads")
    func h0MiniDryRunInFeatureMode() throws {
        let text = try String(contentsOfFile: rootPath("graphs/h0-mini.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "configs/models/", with: rootPath("configs/models") + "/")
        func report(_ environment: [String: String]) throws -> [String] {
            var loader = GraphLoader(registry: .builtIn, environment: environment)
            loader.validatesStages = false   // as `distill run --dry-run`: resource checks are the report's
            let graph = try loader.load(yaml: text, path: "h0-mini.yaml")
            return GraphDryRun.report(graph, registry: .builtIn).lines
        }
        let features = try report(["OBJECTIVE": "features"])
        #expect(features.contains { $0.contains("85,739,520 backbone parameters") })
        // Linear(768, 1536): 768·1536 + 1536.
        #expect(features.contains { $0.contains("objective features: projector 768 → 1536 (projector.linear) — 1,181,184 parameters") })
        #expect(features.contains { $0.contains("projector rows") } && !features.contains { $0.contains("teacher heads (frozen") || $0.contains("dino_head:") })
        let heads = try report([:])
        #expect(heads.contains { $0.contains("teacher heads (frozen") } && !heads.contains { $0.contains("projector") })
        // The device step is DINO + iBOT: feature distillation with the trainer on cuda is a failed check.
        let refused = "FAIL student-trainer on device cuda: the device step is DINO + iBOT"
        #expect(features.contains { $0.contains(refused) } && !heads.contains { $0.contains(refused) })
        #expect(try !report(["OBJECTIVE": "features", "TRAINER_DEVICE": "cpu"]).contains { $0.contains(refused) })
    }

    @Test("a NaN teacher token stops the run naming the step, the slide and the tile's coordinates")
    func nanStopsTheRunNamingTheTile() async throws {
        FixedSource<TeacherOutput>.set("nan", [teacherOutput(0), teacherOutput(1), teacherOutput(2), teacherOutput(3, nan: true)])
        let directory = temporaryDirectory("training-nan")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await run(trainingGraph(key: "nan"), directory: directory)
        guard case .failed(let stage, let message) = result.outcome else {
            Issue.record("expected a failed run, got \(result.outcome)")
            return
        }
        #expect(stage == "trainer")
        #expect(message.contains("training step 1") && message.contains("slide-1 (672, 448) #1003"), "\(message)")
    }

    @Test("the trainer refuses replicas and a teacher checkpoint without heads, naming the key")
    func validation() throws {
        let replicated = trainingGraph(key: "x").replacingOccurrences(of: "type: student-trainer,", with: "type: student-trainer, replicas: 2,")
        #expect { _ = try GraphLoader(registry: registry).load(yaml: replicated, path: "t.yaml") } throws: { "\($0)".contains("one replica") }
        let headless = trainingGraph(key: "x").replacingOccurrences(
            of: "threads: 1", with: "threads: 1, teacher_weights: \"\(rootPath("Tests/Fixtures/vit/vit-tiny-test.safetensors"))\"")
        #expect { _ = try GraphLoader(registry: registry).load(yaml: headless, path: "t.yaml") } throws: {
            "\($0)".contains("teacher_weights") && "\($0)".contains("dino_head.mlp.0.weight is missing")
        }
        let negative = trainingGraph(key: "x", extra: ", objective: features, feature_smooth_l1_weight: -1")
        #expect { _ = try GraphLoader(registry: registry).load(yaml: negative, path: "t.yaml") } throws: {
            "\($0)".contains("feature_smooth_l1_weight") && "\($0)".contains("non-negative weights")
        }
    }
}
