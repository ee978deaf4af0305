import Compute
import Foundation
@testable import Models
import Testing
import Training

/// `DistillationTrainer` end to end on a tiny student with a random teacher: steps apply, the schedules advance,
/// and a NaN teacher token stops the step naming its sample without changing anything (field case N5).
@Suite struct DistillationTrainerTests {
    /// A trainer over the tiny training student (vit-tiny-train-test, D 64) with DINO/iBOT heads of K 256 and
    /// a random teacher of width 96, B = 2, 2 global 56 px + 2 local 28 px crops.
    static func makeTrainer(seed: UInt64 = 5) throws -> DistillationTrainer {
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let backend = CPUBackend(threads: 1)
        let k = 256
        let layout = StudentLayout(backbone: config, heads: [
            .init(name: "dino_head", config: HeadConfig(inFeatures: 64, hiddenFeatures: 48, bottleneckFeatures: 32, prototypes: k)),
            .init(name: "ibot_head", config: HeadConfig(inFeatures: 64, hiddenFeatures: 48, bottleneckFeatures: 16, prototypes: k)),
        ])
        let student = Student.initialized(layout: layout, backend: backend, seed: seed)
        let teacher = TeacherHeads.initialized(dino: HeadConfig(inFeatures: 96, hiddenFeatures: 48, bottleneckFeatures: 32, prototypes: k),
                                               ibot: HeadConfig(inFeatures: 96, hiddenFeatures: 48, bottleneckFeatures: 16, prototypes: k),
                                               backend: backend, seed: seed + 1)
        var schedules = TrainingSchedules.Settings(epochs: 3, batchSize: 2)
        schedules.officialEpochLength = 4
        schedules.warmupEpochs = 1
        schedules.warmupTeacherTemperatureEpochs = 1
        var settings = DistillationTrainer.Settings(batch: 2, schedules: schedules)
        settings.localCrops = 2
        settings.globalSize = 56
        settings.localSize = 28
        settings.chunkRows = 5
        return try DistillationTrainer(settings: settings, student: student, teacherHeads: teacher)
    }

    /// The feature-distillation trainer of the same student backbone, crops and schedules: a projector 64 → 96
    /// and no heads, the default loss (cosine + smooth-L1, β 1).
    static func makeFeatureTrainer(seed: UInt64 = 5) throws -> DistillationTrainer {
        let heads = try makeTrainer(seed: seed)
        let layout = StudentLayout.features(backbone: heads.student.layout.backbone, teacherWidth: 96)
        let student = Student.initialized(layout: layout, backend: CPUBackend(threads: 1), seed: seed)
        return try DistillationTrainer(settings: heads.settings, student: student, featureLoss: FeatureDistillationLoss(), teacherWidth: 96)
    }

    /// A batch of uniform noise in [-1, 1) for step `index`.
    static func batch(_ index: Int, settings: DistillationTrainer.Settings, teacherWidth: Int = 96) -> TrainingBatch {
        var generator = SplitMix64(seed: 100 + UInt64(index))
        func noise(_ count: Int) -> [Float] { (0..<count).map { _ in Float(2 * (Double(generator.next() >> 11) * 0x1p-53) - 1) } }
        let b = settings.batch, g = settings.globalCrops * b, l = settings.localCrops * b
        let patches = (settings.globalSize / 14) * (settings.globalSize / 14)
        let samples = (0..<b).map { SampleTag(sampleID: UInt64(10 * index + $0), slideID: "slide-\($0)", x: 224 * index, y: 224 * $0) }
        return TrainingBatch(samples: samples, globalImages: noise(g * 3 * settings.globalSize * settings.globalSize),
                             localImages: noise(l * 3 * settings.localSize * settings.localSize), teacherCLS: noise(g * teacherWidth),
                             teacherPatches: noise(g * patches * teacherWidth))
    }

    static func parameters(_ trainer: DistillationTrainer) -> [Float] {
        Array(UnsafeBufferPointer(start: trainer.student.parameters.floats, count: trainer.table.count))
    }

    @Test func stepsMoveTheStudentAndTheSchedules() throws {
        let trainer = try Self.makeTrainer()
        let initial = Self.parameters(trainer)
        var reports: [TrainingStepReport] = []
        for index in 0..<3 { reports.append(try trainer.step(Self.batch(index, settings: trainer.settings))) }
        #expect(trainer.iteration == 3 && trainer.optimizer.step == 3)
        #expect(reports.map(\.iteration) == [0, 1, 2])
        for report in reports {
            #expect(report.losses!.total.isFinite && report.losses!.dinoLocal > 0 && report.losses!.dinoGlobal > 0 && report.losses!.ibot > 0)
            #expect(report.gradientNorms.keys.sorted() == [.backbone, .dinoHead, .iBOTHead])
            #expect(report.schedule == trainer.schedules[report.iteration])
        }
        // Warmup: lr 0 at iteration 0, rising after; the last layer is frozen for the first epoch (4 iterations).
        #expect(reports[0].schedule.lr == 0 && reports[1].schedule.lr > 0 && reports[2].schedule.lastLayerLR == 0)
        let after = Self.parameters(trainer)
        let backbone = trainer.table.entry("blocks.0.attn.qkv.weight")!.range
        let lastLayer = trainer.table.entry("dino_head.last_layer.weight_v")!.range
        #expect(backbone.contains { after[$0] != initial[$0] })
        #expect(lastLayer.allSatisfy { after[$0] == initial[$0] }, "frozen last layer moved")
        // The DINO centre now holds the lagged mean of the teacher logits (non-zero after the first update).
        #expect(trainer.objective!.dinoCentering.center.contains { $0 != 0 })
    }

    @Test func aNaNTeacherTokenStopsTheStepNamingItsSample() throws {
        let trainer = try Self.makeTrainer()
        _ = try trainer.step(Self.batch(0, settings: trainer.settings))
        let before = Self.parameters(trainer)
        let centre = trainer.objective!.dinoCentering
        var bad = Self.batch(1, settings: trainer.settings)
        let patches = trainer.patchTokens
        // Patch row of global crop 1, sample 1 (crop-major row c·B + b = 3), patch 2.
        bad.teacherPatches[((1 * 2 + 1) * patches + 2) * 96 + 7] = .nan
        #expect {
            _ = try trainer.step(bad)
        } throws: { error in
            guard let error = error as? TrainingStepError else { return false }
            return error.iteration == 1 && error.samples == [bad.samples[1]]
                && "\(error)".contains("slide-1 (224, 224) #11") && "\(error)".contains("teacher iBOT logits")
        }
        #expect(trainer.iteration == 1 && trainer.optimizer.step == 1)
        #expect(Self.parameters(trainer) == before)
        #expect(trainer.objective!.dinoCentering == centre)
    }

    /// Feature distillation: steps move the backbone and the projector (clipped as two modules, no centres) and a
    /// NaN teacher patch token stops the step naming its sample, nothing applied.
    @Test func featureStepsMoveStudentAndProjectorAndANaNNamesItsSample() throws {
        let trainer = try Self.makeFeatureTrainer()
        let initial = Self.parameters(trainer)
        let first = try trainer.step(Self.batch(0, settings: trainer.settings))
        let second = try trainer.step(Self.batch(1, settings: trainer.settings))
        for report in [first, second] {
            #expect(report.losses == nil && report.collapse == nil && report.gradientNorms.keys.sorted() == [.backbone, .projector])
            let losses = try #require(report.featureLosses)
            #expect(losses.cls.cosine > 0 && losses.cls.smoothL1 > 0 && losses.patch.cosine > 0 && losses.patch.smoothL1 > 0)
            #expect(report.totalLoss == losses.total)
        }
        let after = Self.parameters(trainer)
        for name in ["blocks.0.attn.qkv.weight", "projector.linear.weight", "projector.linear.bias"] {
            #expect(trainer.table.entry(name)!.range.contains { after[$0] != initial[$0] }, "\(name) did not move")
        }
        #expect(trainer.objective == nil && trainer.state(samplesConsumed: 4, epoch: 0, seed: 5).dinoCentering == nil)

        var bad = Self.batch(2, settings: trainer.settings)
        bad.teacherPatches[((1 * 2 + 1) * trainer.patchTokens + 2) * 96 + 7] = .infinity
        #expect {
            _ = try trainer.step(bad)
        } throws: { error in
            guard let error = error as? TrainingStepError else { return false }
            return error.iteration == 2 && error.samples == [bad.samples[1]] && "\(error)".contains("teacher patch features")
        }
        #expect(trainer.iteration == 2 && trainer.optimizer.step == 2 && Self.parameters(trainer) == after)
    }

    /// A heads trainer refuses a feature-distillation state (no centres) and a feature trainer a heads state,
    /// changing nothing.
    @Test func aStateOfTheOtherObjectiveIsRefused() throws {
        let heads = try Self.makeTrainer(), features = try Self.makeFeatureTrainer()
        let headState = heads.state(samplesConsumed: 0, epoch: 0, seed: 5), featureState = features.state(samplesConsumed: 0, epoch: 0, seed: 5)
        #expect(featureState.dinoCentering == nil && headState.dinoCentering != nil)
        #expect(throws: TrainingError.self) { try heads.restore(featureState) }
        #expect(throws: TrainingError.self) { try features.restore(headState) }
        #expect(heads.iteration == 0 && features.iteration == 0)
        // The same student backbone, but the parameter counts differ by heads vs projector.
        #expect(features.table.count == features.student.layout.backboneLayout.count + 96 * 64 + 96)
    }

    @Test func aBatchOfTheWrongSizeIsRefused() throws {
        let trainer = try Self.makeTrainer()
        var bad = Self.batch(0, settings: trainer.settings)
        bad.localImages.removeLast()
        #expect(throws: TrainingStepError.self) { _ = try trainer.step(bad) }
        #expect(trainer.iteration == 0)
    }
}
