import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `graphs/quickstart.yaml` (a short version: 3 epochs over the sample slides, 14 steps, a checkpoint every 3
/// steps) killed with SIGKILL before its first checkpoint, and at a random moment, then continued with `distill run --resume RUN_DIR`: the run ends
/// with the same student, EMA and checkpoint, byte for byte, and the same loss curve as an uninterrupted run
/// (issue #8 item 3; field cases D1, D5, E1, E2).
@Suite(.serialized) struct QuickstartResumeTests {
    static let graph = Paths.packageRoot.appendingPathComponent("graphs/quickstart.yaml").path
    static let environment = ProcessInfo.processInfo.environment.merging(
        ["EPOCHS": "3", "CHECKPOINT_EVERY": "3", "EVAL_EVERY": "1000"]) { $1 }

    /// Runs `distill run` with `arguments` to its end.
    static func run(_ distill: URL, _ arguments: [String]) async throws -> (status: Int32?, stderr: String) {
        let child = try Subprocess(distill, ["run", graph] + arguments, environment: environment)
        defer { child.killIfRunning() }
        let status = await child.finish(timeout: .seconds(300))
        return (status, child.stderr.value.text)
    }

    /// train.jsonl without its wall-clock `time` field.
    static func curve(_ directory: String) throws -> [String] {
        try String(contentsOfFile: directory + "/train.jsonl", encoding: .utf8).split(separator: "\n").map {
            String($0).replacing(/"time":[0-9.e+-]+,?/, with: "")
        }
    }

    @Test func sigkillBeforeTheFirstCheckpointOrAtARandomMomentThenResumeEqualsAnUninterruptedRun() async throws {
        let distill = try Paths.requireDistill()
        let root = NSTemporaryDirectory() + "distill-quickstart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }

        let clock = ContinuousClock()
        let started = clock.now
        let reference = try await Self.run(distill, ["--run-dir", root + "/reference"])
        #expect(reference.status == 0, "\(reference.stderr)")
        let duration = clock.now - started
        let steps = try Self.curve(root + "/reference").count
        #expect(steps == 14, "39 tiles × 3 epochs in batches of 8")

        // Trial 1: killed as soon as the first step is logged, before any checkpoint (the resumed run starts again
        // from step 0 and rewrites train.jsonl). Trial 2: killed somewhere between 15 % and 85 % of the uninterrupted
        // run's duration (before or after checkpoints).
        var generator = SystemRandomNumberGenerator()
        for trial in 1...2 {
            let fraction = Double.random(in: 0.15...0.85, using: &generator)
            let killed = root + "/killed-\(trial)"
            let child = try Subprocess(distill, ["run", Self.graph, "--run-dir", killed], environment: Self.environment)
            defer { child.killIfRunning() }
            if trial == 1 {
                let deadline = clock.now + .seconds(120)
                while ((try? Self.curve(killed).count) ?? 0) < 1 && clock.now < deadline && child.process.isRunning {
                    try await Task.sleep(for: .milliseconds(5))
                }
            } else {
                try await Task.sleep(for: duration * fraction)
            }
            child.signal(SIGKILL)
            let status = await child.finish(timeout: .seconds(20))
            let stepsBeforeKill = (try? Self.curve(killed).count) ?? 0
            let checkpointed = FileManager.default.fileExists(atPath: killed + "/checkpoints/latest.safetensors")
            let when = "trial \(trial), killed after \(stepsBeforeKill) steps (checkpoint: \(checkpointed))"
            if status != 128 + SIGKILL {
                #expect(status == 0, "\(when): the killed run ended with \(String(describing: status)):\n\(child.stderr.value.text)")
            }
            let resumed = try await Self.run(distill, ["--resume", killed])
            #expect(resumed.status == 0, "\(when):\n\(resumed.stderr)")
            for file in ["export/student-ema.safetensors", "export/student.safetensors", "checkpoints/latest.safetensors"] {
                let a = FileManager.default.contents(atPath: root + "/reference/" + file)
                let b = FileManager.default.contents(atPath: killed + "/" + file)
                #expect(a != nil && a == b, "\(file) differs, \(when)")
            }
            #expect(try Self.curve(killed) == Self.curve(root + "/reference"), "train.jsonl differs, \(when)")
        }
    }

    @Test func resumingADirectoryWithoutARunIsOneClearError() async throws {
        let distill = try Paths.requireDistill()
        let empty = NSTemporaryDirectory() + "distill-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let result = try await Self.run(distill, ["--resume", empty])
        #expect(result.status == 1 && result.stderr.contains("nothing to resume in \(empty)"), "\(result.stderr)")
    }
}
