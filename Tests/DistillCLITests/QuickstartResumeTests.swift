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

    /// Ctrl-C: the trainer stops after its step in progress (it does not work through the batches in flight), the
    /// run ends well inside `drain_timeout` with the checkpoint of that step and `slides.json`; a resume with another
    /// schedule is refused before the run directory is touched, and the resume as started ends as an uninterrupted
    /// run, byte for byte.
    @Test func sigintCheckpointsTheStepItStoppedAtThenResumeEqualsAnUninterruptedRun() async throws {
        let distill = try Paths.requireDistill()
        let root = NSTemporaryDirectory() + "distill-quickstart-sigint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reference = try await Self.run(distill, ["--run-dir", root + "/reference"])
        #expect(reference.status == 0, "\(reference.stderr)")

        let stopped = root + "/stopped"
        let child = try Subprocess(distill, ["run", Self.graph, "--run-dir", stopped], environment: Self.environment)
        defer { child.killIfRunning() }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        while ((try? Self.curve(stopped).count) ?? 0) < 2 && clock.now < deadline && child.process.isRunning {
            try await Task.sleep(for: .milliseconds(5))
        }
        let signalled = clock.now
        child.signal(SIGINT)
        let status = await child.finish(timeout: .seconds(60))
        let stepsDone = try Self.curve(stopped).count
        #expect(status == 130 || (status == 0 && stepsDone == 14), "\(String(describing: status)):\n\(child.stderr.value.text)")
        #expect(clock.now - signalled < .seconds(8), "the drain took \(clock.now - signalled) (drain_timeout 10 s)")
        let log = try String(contentsOfFile: stopped + "/run.log", encoding: .utf8)
        #expect(!log.contains("drain timeout"), "\(log)")
        #expect(log.contains("checkpoint of step \(stepsDone) written"), "\(stepsDone) steps in train.jsonl:\n\(log)")
        #expect(FileManager.default.fileExists(atPath: stopped + "/slides.json"))

        let graphBefore = FileManager.default.contents(atPath: stopped + "/graph.yaml")
        let longer = try Subprocess(distill, ["run", Self.graph, "--resume", stopped],
                                    environment: Self.environment.merging(["EPOCHS": "4"]) { $1 })
        defer { longer.killIfRunning() }
        #expect(await longer.finish(timeout: .seconds(60)) == 1)
        #expect(longer.stderr.value.text.contains("trainer.epochs: 3 in the run, 4 now"), "\(longer.stderr.value.text)")
        #expect(FileManager.default.contents(atPath: stopped + "/graph.yaml") == graphBefore)

        let resumed = try await Self.run(distill, ["--resume", stopped])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(stepsDone == 14 || resumed.stderr.contains("at step \(stepsDone) "), "\(resumed.stderr)")
        for file in ["export/student-ema.safetensors", "export/student.safetensors", "checkpoints/latest.safetensors"] {
            let a = FileManager.default.contents(atPath: root + "/reference/" + file)
            #expect(a != nil && a == FileManager.default.contents(atPath: stopped + "/" + file), "\(file) differs")
        }
        #expect(try Self.curve(stopped) == Self.curve(root + "/reference"))
    }

    /// No slide gives a tile (field case T4): the run fails naming the cause, and exports no untrained weights.
    @Test func noTrainingDataFailsTheRunAndExportsNothing() async throws {
        let distill = try Paths.requireDistill()
        let directory = NSTemporaryDirectory() + "distill-nodata-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try Subprocess(distill, ["run", Self.graph, "--run-dir", directory], environment: Self.environment.merging(
            ["SLIDES": Paths.packageRoot.appendingPathComponent("../shared/data/slides/bad-input").standardized.path]) { $1 })
        defer { child.killIfRunning() }
        #expect(await child.finish(timeout: .seconds(120)) == 1)
        #expect(child.stderr.value.text.contains("no training step: 0 sample(s) arrived, fewer than one batch of 8"),
                "\(child.stderr.value.text)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/export"))
        #expect(FileManager.default.fileExists(atPath: directory + "/slides.json"))
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
