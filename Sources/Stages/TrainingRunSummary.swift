import Dataflow
import Foundation

/// The closing summary of a run that trains (`distill run` prints it after the stats table): steps, images and
/// images/s, the final losses, the last evaluation's headline metrics, and where the outputs are.
public enum TrainingRunSummary {
    /// The summary of `snapshot` (the run's final stats) for a run in `runDirectory`, or nil when the graph has no
    /// `student-trainer` stage.
    public static func render(_ snapshot: GraphSnapshot, runDirectory: String) -> String? {
        guard let trainer = snapshot.stages.first(where: { $0.type == "student-trainer" }) else { return nil }
        let m = trainer.metrics
        func value(_ key: String, _ digits: Int = 4) -> String { m[key].map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let steps = Int(m["steps"] ?? 0), images = Int(m["images"] ?? 0)
        let seconds = max(snapshot.elapsedSeconds, 1e-9)
        var lines = ["training summary (\(snapshot.graph), \(snapshot.state))",
                     "  steps \(steps) this run · images \(images) · \(String(format: "%.1f", Double(images) / seconds)) images/s over \(String(format: "%.1f", seconds)) s",
                     "  final loss \(value("loss")) = DINO local \(value("dino_local_loss")) + DINO global \(value("dino_global_loss")) + iBOT \(value("ibot_loss"))",
                     "  lr \(value("lr", 6)) · teacher temperature \(value("teacher_temp")) · EMA momentum \(value("momentum", 5))"]
        if let collapsed = m["collapsed_steps"], collapsed > 0 {
            lines.append("  collapse: \(Int(collapsed)) of \(steps) steps looked collapsed (see run.log and train.jsonl)")
        }
        if let evaluator = snapshot.stages.first(where: { $0.type == "evaluator" }), let step = evaluator.metrics["step"] {
            let headline = evaluator.metrics.filter { $0.key != "step" && $0.key != "evaluations" }.sorted { $0.key < $1.key }
                .map { "\($0.key) \(String(format: "%.4f", $0.value))" }
            lines.append("  evaluation at step \(Int(step)): " + headline.joined(separator: ", "))
        }
        let outputs = ["train.jsonl": "loss curve (one JSON line per step)", "metrics.jsonl": "stats snapshots",
                       "eval": "evaluation reports", "checkpoints/latest.safetensors": "train state (resume with --resume)",
                       "export/student-ema.safetensors": "EMA backbone, timm names", "export/student.safetensors": "student backbone, timm names",
                       "slides.json": "each slide's report", "qc": "tissue-mask thumbnails, one PNG per slide"]
        lines.append("  outputs in \(runDirectory):")
        for (path, what) in outputs.sorted(by: { $0.key < $1.key })
        where FileManager.default.fileExists(atPath: (runDirectory as NSString).appendingPathComponent(path)) {
            lines.append("    \(path.padding(toLength: 32, withPad: " ", startingAt: 0)) \(what)")
        }
        return lines.joined(separator: "\n")
    }
}
