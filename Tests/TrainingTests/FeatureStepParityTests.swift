import Compute
import Foundation
import Models
import Testing
import Training

/// Three feature-distillation `DistillationTrainer` steps against PyTorch autograd
/// (tools/fixtures/make_feature_step_fixtures.py, fixtures in Tests/Fixtures/feature-step): the vit-tiny-train-test
/// backbone and a `FeatureProjector` 64 → 96, B = 2, two 224 px global crops per sample cut from a real tile (the
/// batch also carries two 98 px local crops, which this mode does not use), teacher x_norm tokens from SplitMix64,
/// `FeatureDistillationLoss` (cosine + smooth-L1, β 1) on the CLS rows and on the patch rows, clip 3.0 per module
/// (backbone, projector), AdamW with DINOv2's groups and the schedules of `TrainStepParityTests` (lr 0, then the
/// peak). The key part of each `attn.qkv.bias` is checked apart, as in `TrainStepParityTests.keyBias`.
@Suite struct FeatureStepParityTests {
    /// `TEACHER_SEEDS` of the script.
    static let teacherSeeds: (cls: UInt64, patch: UInt64) = (500, 600)
    static let teacherWidth = 96

    /// Losses 1e-5 relative; gradients and parameters 1e-5 of each tensor's largest element. Measured worst: losses
    /// 8.6e-8, gradient norms 4.0e-7, step-0 gradients 1.8e-6, parameters after step 2 5.7e-7 (the F16 deltas' own
    /// error, 5.7e-7).
    static let tolerance = 1e-5

    static func path(_ name: String) -> String { TrainingFixtures.root.appendingPathComponent("Tests/Fixtures/feature-step/\(name)").path }

    @Test func threeStepsMatchPyTorch() throws {
        let backend = CPUBackend(threads: 2)
        let config = try TrainingFixtures.config("vit-tiny-train-test")
        let weights = try SafetensorsFile(path: TrainingFixtures.fixture("vit-tiny-train-test.safetensors"))
        let expected = try SafetensorsFile(path: Self.path("steps.safetensors"))
        let layout = StudentLayout.features(backbone: config, teacherWidth: Self.teacherWidth)
        #expect(layout.layout.parameters.suffix(2).map(\.name) == ["projector.linear.weight", "projector.linear.bias"])
        let backbone = try TrainingFixtures.flat(weights, names: layout.backboneLayout.parameters.map { ($0.name, $0.count) }).scalars()
        let projector = try TrainingFixtures.flat(expected, names: [("projector.linear.weight", 96 * 64), ("projector.linear.bias", 96)]).scalars()
        let initial = backbone + projector
        let student = Student(layout: layout, parameters: Tensor(shape: [layout.count], values: initial),
                              gradients: backend.makeTensor(shape: [layout.count]), backend: backend)
        var schedules = TrainingSchedules.Settings(epochs: 3, batchSize: 2)
        schedules.officialEpochLength = 2
        schedules.warmupEpochs = 1
        schedules.warmupTeacherTemperatureEpochs = 2
        schedules.freezeLastLayerEpochs = 1
        var settings = DistillationTrainer.Settings(batch: 2, schedules: schedules)
        settings.localCrops = 2
        let trainer = try DistillationTrainer(settings: settings, student: student, featureLoss: FeatureDistillationLoss(),
                                              teacherWidth: Self.teacherWidth)

        var reports: [TrainingStepReport] = []
        for step in 0..<3 {
            var batch = try TrainStepParityTests.batch(step, trainer: trainer, config: config)
            let rows = settings.globalCrops * settings.batch
            batch.teacherCLS = TrainingFixtures.upstream(seed: Self.teacherSeeds.cls + UInt64(step), count: rows * Self.teacherWidth)
            batch.teacherPatches = TrainingFixtures.upstream(seed: Self.teacherSeeds.patch + UInt64(step),
                                                             count: rows * trainer.patchTokens * Self.teacherWidth)
            let report = try trainer.step(batch)
            reports.append(report)

            let schedule = report.schedule, expectedSchedule = try ObjectiveFixtures.doubles(expected, "s\(step).schedule")
            #expect([schedule.lr, schedule.weightDecay, schedule.momentum, schedule.teacherTemperature, schedule.lastLayerLR]
                    == expectedSchedule, "step \(step) schedule")
            let losses = try #require(report.featureLosses), reference = try expected.tensor("s\(step).losses").scalars()
            for (index, (name, value)) in [("CLS cosine", losses.cls.cosine), ("CLS smooth-L1", losses.cls.smoothL1),
                                           ("patch cosine", losses.patch.cosine), ("patch smooth-L1", losses.patch.smoothL1)].enumerated() {
                let error = ObjectiveFixtures.relativeError(value, Double(reference[index]))
                #expect(error <= Self.tolerance, "step \(step) \(name) loss \(value) vs \(reference[index]): \(error)")
            }
            let norms = try expected.tensor("s\(step).norms").scalars()
            for (index, module) in [StudentModule.backbone, .projector].enumerated() {
                let error = ObjectiveFixtures.relativeError(report.gradientNorms[module]!, Double(norms[index]))
                #expect(error <= Self.tolerance, "step \(step) \(module) gradient norm: \(error)")
            }
            if step == 0 {
                let gradients = student.gradients.scalars()
                for parameter in layout.layout.parameters {
                    let mine = Array(gradients[parameter.offset..<(parameter.offset + parameter.count)])
                    let reference = try expected.tensor("s0.grad.\(parameter.name)").scalars()
                    let error = ObjectiveFixtures.scaledError(mine, reference)
                    #expect(error <= Self.tolerance, "step 0 gradient of \(parameter.name): \(error)")
                }
            }
        }
        // The backbone is clipped at step 0 (norm above 3.0), the projector is not: both branches of the clip run.
        #expect(reports[0].gradientNorms[.backbone]! > settings.clipGradient && reports[0].gradientNorms[.projector]! < settings.clipGradient)

        try TrainStepParityTests.expectParametersAfterSteps(student.parameters.scalars(), initial: initial, layout: layout.layout,
                                                            expected: expected, width: config.embedDim, trainer: trainer,
                                                            reports: reports, tolerance: Self.tolerance)
    }
}
