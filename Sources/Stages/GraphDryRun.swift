import Dataflow
import Foundation
import Models
import Training

/// `distill run --dry-run`: everything about a graph that can be known without running it, weights, data or a
/// GPU — each stage resolved with its own checks (files, datasets, checkpoints; a failure is listed, not fatal),
/// the models' architectures and parameter counts, the shapes that must agree between stages (teacher width,
/// crop sizes and patch sizes), and the training step's memory estimate.
public enum GraphDryRun {
    /// The report's lines, and how many checks failed.
    public static func report(_ graph: GraphSpec, registry: StageRegistry) -> (lines: [String], problems: Int) {
        var lines = ["dry run of \(graph.name): \(graph.stages.count) stages, \(graph.edges.count) edges — nothing runs, no weights, data or GPU needed"]
        var problems = 0
        func check(_ ok: Bool, _ text: String) {
            lines.append("  \(ok ? "ok  " : "FAIL") \(text)")
            if !ok { problems += 1 }
        }
        func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
        func count(_ n: Int) -> String { n.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US"))) }

        lines.append("stages:")
        for node in graph.stages {
            let replicas = node.replicas > 1 ? " ×\(node.replicas)\(node.ordered ? " ordered" : "")" : ""
            lines.append("  \(node.name) (\(node.type)\(replicas), device \(node.device))")
            guard let descriptor = registry.descriptor(node.type) else { continue }
            do {
                try descriptor.instance(node.parameters).validate(replicas: node.replicas)
                lines.append("    resources: ok")
            } catch {
                lines.append("    resources: NOT READY — \(error) (needed when the graph runs)")
            }
        }

        // Models and shapes.
        let crops = graph.stages.first { $0.type == "multi-crop" }.flatMap { try? MultiCropStage(parameters: $0.parameters).config }
        let teacherNode = graph.stages.first { $0.type == "teacher-inference" }
        let trainerNode = graph.stages.first { $0.type == "student-trainer" }
        lines.append("models:")
        var teacher: ViTConfig?
        if let teacherNode {
            do {
                let config = try ViTConfig.load(path: teacherNode.parameters.string("model"))
                teacher = config
                let n = ParameterLayout(config: config).count
                lines.append("  teacher \(config.name)\(config.architecture.map { " (\($0))" } ?? ""): ViT/\(config.patchSize), D \(config.embedDim), depth \(config.depth), \(config.numHeads) heads, \(config.regTokens) registers — \(count(n)) parameters (\(gigabytes(4 * n)) fp32, \(gigabytes(2 * n)) bf16)")
                let weights = teacherNode.parameters.string("weights")
                lines.append("    weights: \(weights.isEmpty ? "none given (random, for tests only)" : weights)")
                if let crops {
                    let batch = teacherNode.parameters.integer("batch") * crops.global.number
                    let length = config.prefixTokens + (crops.global.size / config.patchSize) * (crops.global.size / config.patchSize)
                    let working = batch * (length * (4 * config.embedDim + config.mlpHiddenFeatures) + config.numHeads * length * length) * 4
                    lines.append("    forward of \(batch) crops of \(crops.global.size) px (\(length) tokens): ~\(gigabytes(working)) of fp32 working memory per block")
                }
            } catch {
                check(false, "teacher model: \(error)")
            }
        }
        if let trainerNode, let stage = try? StudentTrainerStage(parameters: trainerNode.parameters) {
            do {
                let student = try ViTConfig.load(path: trainerNode.parameters.string("model"))
                let teacherConfig = try ViTConfig.load(path: trainerNode.parameters.string("teacher_model"))
                let layout = stage.studentLayout(student, teacherWidth: teacherConfig.embedDim)
                let heads = stage.teacherHeadConfigs(width: teacherConfig.embedDim)
                let k = trainerNode.parameters.integer("prototypes")
                lines.append("  student \(student.name)\(student.architecture.map { " (\($0))" } ?? ""): ViT/\(student.patchSize), D \(student.embedDim), depth \(student.depth), \(student.numHeads) heads, \(student.regTokens) registers — \(count(layout.backboneLayout.count)) backbone parameters")
                for head in layout.heads {
                    lines.append("    \(head.name): \(head.config.layers) layers, hidden \(head.config.hiddenFeatures), bottleneck \(head.config.bottleneckFeatures), K \(count(k)) — \(count(head.config.layout.count)) parameters")
                }
                var teacherHeadCount = 0
                if let projector = layout.projector {
                    lines.append("  objective features: projector \(projector.inFeatures) → \(projector.outFeatures) (projector.linear) — \(count(projector.count)) parameters; no teacher heads")
                } else {
                    teacherHeadCount = heads.dino.layout.count + heads.ibot.layout.count
                    lines.append("  teacher heads (frozen, from teacher_weights): DINO \(count(heads.dino.layout.count)) + iBOT \(count(heads.ibot.layout.count)) parameters")
                }
                let schedules = try stage.schedules()
                lines.append("  schedule: \(schedules.epochs) epochs × \(schedules.officialEpochLength) = \(count(schedules.totalIterations)) iterations, B \(schedules.batchSize), peak lr \(String(format: "%.6g", schedules.lr)) after \(schedules.warmupEpochs) warm-up epochs, wd \(schedules.weightDecay) → \(schedules.weightDecayEnd), τ_t \(schedules.warmupTeacherTemperature) → \(schedules.teacherTemperature), EMA momentum \(schedules.momentum) → \(schedules.finalMomentum)")

                lines.append("checks:")
                if trainerNode.device == "cuda" {
                    check(layout.projector == nil, "student-trainer on device cuda: the device step is DINO + iBOT (feature distillation runs with device: cpu)")
                }
                if let teacher {
                    check(teacher.embedDim == teacherConfig.embedDim,
                          "teacher width: teacher-inference \(teacher.name) D \(teacher.embedDim), student-trainer teacher_model \(teacherConfig.name) D \(teacherConfig.embedDim)")
                }
                if let crops {
                    for (what, size) in [("global", crops.global.size), ("local", crops.local.size)] {
                        check(size % student.patchSize == 0, "\(what) crops of \(size) px on the student's \(student.patchSize)-px patches")
                    }
                    if let teacher { check(crops.global.size % teacher.patchSize == 0, "global crops of \(crops.global.size) px on the teacher's \(teacher.patchSize)-px patches") }
                    var settings = DistillationTrainer.Settings(batch: schedules.batchSize, schedules: schedules)
                    (settings.globalCrops, settings.localCrops) = (crops.global.number, crops.local.number)
                    (settings.globalSize, settings.localSize) = (crops.global.size, crops.local.size)
                    let memory = TrainingMemoryEstimate(layout: layout, settings: settings, teacherHeadParameters: teacherHeadCount)
                    lines.append("memory estimate of one training step (fp32, as the CPU path keeps it):")
                    if layout.projector != nil {
                        lines.append("  parameters, gradients, AdamW moments (backbone + projector), EMA: \(gigabytes(memory.state))")
                        lines.append("  activations of \(settings.globalCrops) × \(settings.batch) global crops (local crops unused): \(gigabytes(memory.activations))")
                        lines.append("  projector rows (CLS + patch inputs, predictions, targets, gradients): \(gigabytes(memory.logits))")
                    } else {
                        lines.append("  parameters, gradients, AdamW moments, EMA, teacher heads: \(gigabytes(memory.state))")
                        lines.append("  activations of \(settings.globalCrops) × \(settings.batch) global + \(settings.localCrops) × \(settings.batch) local crops: \(gigabytes(memory.activations))")
                        lines.append("  logits (K \(count(k)), held whole): \(gigabytes(memory.logits))")
                    }
                    lines.append("  total: \(gigabytes(memory.total)) — per sample of the batch \(gigabytes((memory.activations + memory.logits) / max(1, settings.batch))) on top of the state (B \(settings.batch) is the global batch: one process holds B / processes)")
                }
            } catch {
                check(false, "student-trainer: \(error)")
            }
        }
        for node in graph.stages where node.device != "cpu" {
            lines.append("note: \(node.name) runs on device \(node.device): `distill run` needs the CUDA driver, NVRTC and cuBLASLt there (docs/cuda.md; teacher-inference and student-trainer run there)")
        }
        return (lines, problems)
    }
}
