import Foundation
@testable import Models
import Testing
@testable import Training

#if canImport(Glibc)
import Glibc
#endif

/// `TrainCheckpoint` on the tiny trainer of `DistillationTrainerTests` (K 256, B 2, 2 + 2 crops): a run resumed
/// from a file into a fresh trainer and a fresh EMA continues bit for bit (issue #5 item 6; field cases E1, E2,
/// D5), reading is strict and verified (E4), and a failed write leaves the previous file.
@Suite(.serialized) struct TrainCheckpointTests {
    /// A trainer and its spare EMA, stepped as the `student-trainer` and `ema` stages do.
    final class Run {
        let trainer: DistillationTrainer
        var ema: StudentEMA
        var reports: [TrainingStepReport] = []

        /// A fresh run: the tiny trainer (seed 5; feature distillation with `features`) with an EMA starting at its
        /// initial backbone.
        init(features: Bool = false) throws {
            trainer = try features ? DistillationTrainerTests.makeFeatureTrainer() : DistillationTrainerTests.makeTrainer()
            ema = StudentEMA(parameters: Array(Run.backbone(trainer)))
        }

        /// A fresh trainer and EMA restored from the checkpoint at `path`.
        init(resumingFrom path: String, features: Bool = false) throws {
            trainer = try features ? DistillationTrainerTests.makeFeatureTrainer() : DistillationTrainerTests.makeTrainer()
            let state = try TrainCheckpoint.read(path: path, layout: trainer.student.layout)
            try trainer.restore(state)
            ema = try #require(state.ema)
        }

        static func backbone(_ trainer: DistillationTrainer) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(start: trainer.student.parameters.floats, count: trainer.student.layout.backboneLayout.count)
        }

        /// Steps on batches `indices`, each followed by the EMA update with the step's momentum.
        func steps(_ indices: Range<Int>) throws {
            for index in indices {
                let report = try trainer.step(DistillationTrainerTests.batch(index, settings: trainer.settings))
                ema.update(student: Run.backbone(trainer), momentum: report.schedule.momentum)
                reports.append(report)
            }
        }

        /// The whole train state after the steps taken (4 iterations per epoch, as the tiny schedules).
        var state: TrainState {
            var state = trainer.state(samplesConsumed: trainer.iteration * trainer.settings.batch, epoch: trainer.iteration / 4, seed: 5)
            state.ema = ema
            return state
        }

        /// Writes the state to `path`.
        func checkpoint(to path: String) throws {
            try TrainCheckpoint.write(state, layout: trainer.student.layout, metadata: ["note": "test"], to: path)
        }
    }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("distill-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
    static func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

    /// Student, EMA, AdamW m/v/step and both centres (with the queued update) bit for bit.
    static func expectIdentical(_ resumed: Run, _ straight: Run, sourceLocation: SourceLocation = #_sourceLocation) {
        let a = resumed.state, b = straight.state
        #expect(a.iteration == b.iteration, sourceLocation: sourceLocation)
        #expect(bits(a.student) == bits(b.student), "student", sourceLocation: sourceLocation)
        #expect(bits(a.ema!.parameters) == bits(b.ema!.parameters) && a.ema!.updates == b.ema!.updates, "EMA", sourceLocation: sourceLocation)
        #expect(bits(a.optimizer.m) == bits(b.optimizer.m) && bits(a.optimizer.v) == bits(b.optimizer.v)
                    && a.optimizer.step == b.optimizer.step, "AdamW", sourceLocation: sourceLocation)
        for case let (x?, y?) in [(a.dinoCentering, b.dinoCentering), (a.ibotCentering, b.ibotCentering)] {
            #expect(bits(x.center) == bits(y.center) && bits(x.pendingSum) == bits(y.pendingSum) && x.pendingRows == y.pendingRows,
                    "centre", sourceLocation: sourceLocation)
        }
        #expect(a == b, sourceLocation: sourceLocation)
    }

    @Test func threeStepsResumeThreeEqualsSixStraight() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try Run()
        try straight.steps(0..<6)

        let first = try Run()
        try first.steps(0..<3)
        let path = folder.appendingPathComponent("iteration-3.safetensors").path
        try first.checkpoint(to: path)
        let read = try TrainCheckpoint.read(path: path, layout: first.trainer.student.layout)
        #expect(read == first.state)
        #expect(read.dinoCentering?.pendingRows == 4 && read.ibotCentering?.pendingRows == 4 * 16, "the queued centre update is saved")
        #expect(read.samplesConsumed == 6 && read.seed == 5)

        let resumed = try Run(resumingFrom: path)
        try resumed.steps(3..<6)
        Self.expectIdentical(resumed, straight)
        // The file is readable as plain safetensors with the documented names and metadata.
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata["iteration"] == "3" && file.metadata["ema_updates"] == "3" && file.metadata["note"] == "test")
        #expect(file.metadata["backbone"] == "\"vit-tiny-train-test\"" && file.metadata["prototypes"] == "256")
        #expect(try file.entry("centering.dino.pending_sum").dtype == .f64 && file.entry("student.blocks.1.ls2.gamma").dtype == .f32)
        #expect(try file.entry("optimizer.exp_avg_sq.ibot_head.last_layer.weight_v").shape == [256, 16])
    }

    /// Feature distillation (backbone + projector, no centres): 3 steps, a checkpoint, a fresh trainer resumed
    /// from it and 3 more steps give the same bits as 6 steps straight; the file holds the projector and its
    /// moments and no centres, and a heads layout refuses it.
    @Test func featureDistillationThreeStepsResumeThreeEqualsSixStraight() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try Run(features: true)
        try straight.steps(0..<6)

        let first = try Run(features: true)
        try first.steps(0..<3)
        let path = folder.appendingPathComponent("features-3.safetensors").path
        try first.checkpoint(to: path)
        let layout = first.trainer.student.layout
        let read = try TrainCheckpoint.read(path: path, layout: layout)
        #expect(read == first.state && read.dinoCentering == nil && read.ibotCentering == nil)

        let resumed = try Run(resumingFrom: path, features: true)
        try resumed.steps(3..<6)
        Self.expectIdentical(resumed, straight)
        #expect(straight.reports.allSatisfy { $0.losses == nil && $0.featureLosses != nil && $0.gradientNorms[.projector] != nil })

        let file = try SafetensorsFile(path: path)
        #expect(try file.entry("student.projector.linear.weight").shape == [96, 64])
        #expect(try file.entry("optimizer.exp_avg.projector.linear.bias").shape == [96])
        #expect(!file.entries.keys.contains { $0.hasPrefix("centering.") } && file.metadata["prototypes"] == nil)
        let heads = try DistillationTrainerTests.makeTrainer().student.layout
        #expect(throws: TrainCheckpointError.self) { try TrainCheckpoint.read(path: path, layout: heads) }
    }

    /// D5: a second and third resume within the epoch stay aligned with the continuous run.
    @Test func resumingTwiceEqualsTheContinuousRun() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try Run()
        try straight.steps(0..<6)
        var run = try Run()
        try run.steps(0..<2)
        for (resume, steps) in [(1, 2..<4), (2, 4..<6)] {
            let path = folder.appendingPathComponent("resume-\(resume).safetensors").path
            try run.checkpoint(to: path)
            run = try Run(resumingFrom: path)
            try run.steps(steps)
        }
        Self.expectIdentical(run, straight)
    }

    /// E1 and E2: the EMA keeps its update count and schedule position; student and EMA are each restored from
    /// their own tensors.
    @Test func theEMAAndTheStudentResumeEachFromTheirOwnState() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try Run()
        try straight.steps(0..<5)
        let first = try Run()
        try first.steps(0..<3)
        let path = folder.appendingPathComponent("iteration-3.safetensors").path
        try first.checkpoint(to: path)
        let resumed = try Run(resumingFrom: path)
        #expect(resumed.ema.updates == 3 && resumed.trainer.iteration == 3)
        try resumed.steps(3..<5)
        // The steps after the resume ran at iterations 3 and 4 of the schedules, with the continuous run's momentum,
        // which is not iteration 0's (a reset schedule would use 0.992 again).
        #expect(resumed.reports.map(\.iteration) == [3, 4])
        #expect(resumed.reports.map(\.schedule) == Array(straight.reports[3..<5].map(\.schedule)))
        #expect(resumed.reports[0].schedule.momentum != straight.reports[0].schedule.momentum)
        #expect(resumed.ema.updates == resumed.trainer.iteration)

        let backbone = Array(Run.backbone(resumed.trainer))
        #expect(Self.bits(backbone) != Self.bits(resumed.ema.parameters), "student and EMA coincide after the resume")
        #expect(Self.bits(backbone) == Self.bits(Array(Run.backbone(straight.trainer))))
        #expect(Self.bits(resumed.ema.parameters) == Self.bits(straight.ema.parameters))
    }

    /// E4: strict keys, a verified checksum, and a restored student that is not the fresh initialisation.
    @Test func readingIsStrictAndVerified() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Run()
        try run.steps(0..<2)
        let layout = run.trainer.student.layout
        let path = folder.appendingPathComponent("good.safetensors").path
        try run.checkpoint(to: path)
        let file = try SafetensorsFile(path: path)

        // After the restore the student's checksum is the stored one, and it is not a fresh trainer's student.
        let fresh = try DistillationTrainerTests.makeTrainer()
        let initial = DistillationTrainerTests.parameters(fresh)
        let state = try TrainCheckpoint.read(path: path, layout: layout)
        try fresh.restore(state)
        let restored = DistillationTrainerTests.parameters(fresh)
        let checksums = TrainCheckpoint.checksums(student: restored, ema: state.ema!.parameters, optimizer: fresh.optimizer,
                                                  centerings: [fresh.objective!.dinoCentering, fresh.objective!.ibotCentering])
        for (part, checksum) in checksums { #expect(file.metadata["checksum." + part] == "\"\(checksum)\"", "\(part)") }
        #expect(restored != initial)

        // A renamed key: one error naming it as missing and its new name as unused.
        let renamed = folder.appendingPathComponent("renamed.safetensors").path
        try Self.rewrite(file, to: renamed) { $0 == "student.blocks.0.attn.qkv.weight" ? "student.blocks.0.attn.qkv.weights" : $0 }
        #expect(throws: CheckpointError(path: renamed, model: "vit-tiny-train-test", layout: .timm,
                                        missing: ["student.blocks.0.attn.qkv.weight"], unused: ["student.blocks.0.attn.qkv.weights"],
                                        misshaped: [])) {
            _ = try TrainCheckpoint.read(path: renamed, layout: layout)
        }

        // One flipped bit in the EMA's data: the checksum names the file and the part.
        let flipped = folder.appendingPathComponent("flipped.safetensors").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        bytes[8 + headerLength + file.entries["ema.norm.weight"]!.byteRange.lowerBound + 4] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: flipped))
        #expect {
            _ = try TrainCheckpoint.read(path: flipped, layout: layout)
        } throws: { error in
            guard case TrainCheckpointError.checksumMismatch(flipped, "ema", let stored, let computed) = error else { return false }
            return stored == file.metadata["checksum.ema"]!.trimmingCharacters(in: ["\""]) && computed != stored
                && "\(error)".contains(flipped)
        }

        // A truncated file: the reader names it.
        let truncated = folder.appendingPathComponent("truncated.safetensors").path
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        try original.prefix(original.count - 100).write(to: URL(fileURLWithPath: truncated))
        #expect {
            _ = try TrainCheckpoint.read(path: truncated, layout: layout)
        } throws: { error in
            (error as? SafetensorsError).map { "\($0)".hasPrefix(truncated + ": ") } ?? false
        }
    }

    /// A checkpoint read for another K or backbone names every setting that differs.
    @Test func anotherLayoutIsNamed() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Run()
        try run.steps(0..<1)
        let path = folder.appendingPathComponent("k256.safetensors").path
        try run.checkpoint(to: path)
        let layout = run.trainer.student.layout
        let smallerK = StudentLayout(backbone: layout.backbone, heads: layout.heads.map {
            var config = $0.config
            config.prototypes = 128
            return StudentLayout.Head(name: $0.name, config: config)
        })
        #expect(throws: TrainCheckpointError.layoutMismatch(path: path, differences: [
            "heads.dino_head.prototypes: file 256, layout 128", "heads.ibot_head.prototypes: file 256, layout 128",
        ])) {
            _ = try TrainCheckpoint.read(path: path, layout: smallerK)
        }
        var deeper = layout.backbone
        deeper.depth = 3
        #expect(throws: TrainCheckpointError.layoutMismatch(path: path, differences: ["backbone.depth: file 2, layout 3"])) {
            _ = try TrainCheckpoint.read(path: path, layout: StudentLayout(backbone: deeper, heads: layout.heads))
        }
    }

    @Test func aStateWithoutItsEMAOrWithDisagreeingCountersIsNotWritten() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Run()
        try run.steps(0..<1)
        let path = folder.appendingPathComponent("state.safetensors").path
        var state = run.state
        state.ema = nil
        #expect(throws: TrainCheckpointError.missingEMA(path: path)) {
            try TrainCheckpoint.write(state, layout: run.trainer.student.layout, to: path)
        }
        state.ema = StudentEMA(parameters: run.ema.parameters, updates: 0)
        #expect {
            try TrainCheckpoint.write(state, layout: run.trainer.student.layout, to: path)
        } throws: { error in
            guard case TrainCheckpointError.stateMismatch(path, let reason) = error else { return false }
            return reason == "iteration 1, optimiser step 1 and EMA updates 0 must be equal"
        }
        #expect(throws: TrainCheckpointError.badMetadata(path: path, key: "iteration", reason: "reserved by the train-state format")) {
            try TrainCheckpoint.write(run.state, layout: run.trainer.student.layout, metadata: ["iteration": "9"], to: path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// Writing over a checkpoint and failing (before the first byte, and in the middle of the data) leaves the old
    /// file byte for byte and no temporary file. Both failures bind root too: a temporary name over NAME_MAX, and
    /// the process's file-size limit (RLIMIT_FSIZE, EFBIG).
    @Test func aFailedWriteLeavesTheOldCheckpoint() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Run()
        try run.steps(0..<1)
        let layout = run.trainer.student.layout
        let longName = String(repeating: "c", count: 240) + ".safetensors"
        let shortName = "state.safetensors"
        // The long name can only be written by renaming: its own temporary name is over NAME_MAX.
        try run.checkpoint(to: folder.appendingPathComponent(shortName).path)
        try FileManager.default.copyItem(at: folder.appendingPathComponent(shortName), to: folder.appendingPathComponent(longName))
        let old = try Data(contentsOf: folder.appendingPathComponent(shortName))
        try run.steps(1..<2)

        #expect {
            try run.checkpoint(to: folder.appendingPathComponent(longName).path)
        } throws: { error in
            guard case SafetensorsError.io(_, "open", let code) = error else { return false }
            return code == ENAMETOOLONG
        }

        var previous = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &previous)
        var limited = previous
        limited.rlim_cur = 64 << 10
        let handler = signal(SIGXFSZ, SIG_IGN)
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limited)
        let result = Result { try run.checkpoint(to: folder.appendingPathComponent(shortName).path) }
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &previous)
        signal(SIGXFSZ, handler)
        #expect {
            try result.get()
        } throws: { error in
            guard case SafetensorsError.io(_, "write", let code) = error else { return false }
            return code == EFBIG
        }

        #expect(try Data(contentsOf: folder.appendingPathComponent(shortName)) == old)
        #expect(try Data(contentsOf: folder.appendingPathComponent(longName)) == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [longName, shortName].sorted())
        #expect(try TrainCheckpoint.read(path: folder.appendingPathComponent(shortName).path, layout: layout).iteration == 1)
        // And a write that succeeds replaces it.
        try run.checkpoint(to: folder.appendingPathComponent(shortName).path)
        #expect(try TrainCheckpoint.read(path: folder.appendingPathComponent(shortName).path, layout: layout).iteration == 2)
    }

    /// `file` rewritten to `path` with every key passed through `rename` (data, dtypes and metadata unchanged).
    static func rewrite(_ file: SafetensorsFile, to path: String, rename: (String) -> String) throws {
        let entries = try file.entries.values.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }.map { entry in
            let payload: SafetensorsPayload = entry.dtype == .f64
                ? .float64(try file.doubles(entry.name)[...], shape: entry.shape) : .tensor(try file.tensor(entry.name))
            return (name: rename(entry.name), payload: payload)
        }
        try SafetensorsWriter.write(entries: entries, metadata: file.metadata, to: path)
    }
}
