import Foundation
import Training

/// `<run dir>/train.jsonl`: one JSON object per training step, appended as the step ends — the loss curve in a
/// form pandas reads (`pd.read_json(path, lines=True)`). Keys: `step` (steps done), `loss`, `dino_local_loss`,
/// `dino_global_loss`, `ibot_loss` (feature distillation: `cls_feature_loss`, `patch_feature_loss` instead), `lr`,
/// `last_layer_lr`, `weight_decay`, `momentum`, `teacher_temp`, `grad_norm_backbone`, `grad_norm_dino_head`,
/// `grad_norm_ibot_head` (or `grad_norm_projector`), `collapse` (absent when none), `images`
/// (samples seen), `time` (Unix seconds).
struct TrainingLog {
    let path: String

    /// Keeps only the lines of steps ≤ `step` (a resumed run rewrites what came after its checkpoint), atomically.
    func truncate(after step: Int) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let lineStep = object["step"] as? Int else { return false }
            return lineStep <= step
        }
        try (kept.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Appends the line of `report`.
    /// - Throws: the file system's error naming the path.
    func append(_ report: TrainingStepReport, images: Int) throws {
        var line: [String: Any] = [
            "step": report.iteration + 1, "loss": report.totalLoss, "lr": report.schedule.lr,
            "last_layer_lr": report.schedule.lastLayerLR, "weight_decay": report.schedule.weightDecay,
            "momentum": report.schedule.momentum, "teacher_temp": report.schedule.teacherTemperature,
            "images": (report.iteration + 1) * images, "time": Date().timeIntervalSince1970,
        ]
        if let losses = report.losses {
            line["dino_local_loss"] = losses.dinoLocal
            line["dino_global_loss"] = losses.dinoGlobal
            line["ibot_loss"] = losses.ibot
        }
        if let losses = report.featureLosses {
            line["cls_feature_loss"] = losses.cls.total
            line["patch_feature_loss"] = losses.patch.total
        }
        for (module, norm) in report.gradientNorms { line["grad_norm_\(module.rawValue)"] = norm }
        if let collapse = report.collapse { line["collapse"] = "\(collapse)" }
        var data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        data.append(0x0A)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }
}
