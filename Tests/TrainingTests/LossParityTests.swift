import Compute
import Foundation
import Models
import Testing
import Training

/// DINO and iBOT losses, softmax centering and Sinkhorn-Knopp against the PyTorch implementation of
/// distillation-spec.md §4 (checked against DINOv2's classes when the fixtures were made): B = 2, 2 global +
/// 2 local crops, K = 1024, 4 patch tokens per global crop, three steps of centering.
@Suite struct LossParityTests {
    static let batch = 2, globalCrops = 2, localCrops = 2, patches = 4, prototypes = 1024
    static let patchRows = globalCrops * batch * patches
    let backend = CPUBackend(threads: 2)

    struct StepResult {
        var losses: DistillationObjective.Losses
        var gradGlobal: [Float], gradLocal: [Float], gradPatch: [Float]
    }

    static func objective(chunkRows: Int, normalization: DistillationObjective.TeacherNormalization = .centering(momentum: 0.9)) throws -> DistillationObjective {
        try DistillationObjective(batch: batch, globalCrops: globalCrops, localCrops: localCrops, patchTokens: patches,
                                  prototypes: prototypes, normalization: normalization, chunkRows: chunkRows)
    }

    /// One step of the objective on the fixture's step `s` (teacher DINO logits centred in one call, iBOT logits
    /// streamed chunk by chunk), with the temperature `temperature` or the fixture's.
    func step(_ file: SafetensorsFile, _ s: Int, objective: inout DistillationObjective,
              temperature: Float? = nil, backend: CPUBackend? = nil) throws -> StepResult {
        let k = Self.prototypes
        let gradGlobal = Tensor(shape: [Self.globalCrops * Self.batch, k])
        let gradLocal = Tensor(shape: [Self.localCrops * Self.batch, k])
        let gradPatch = Tensor(shape: [Self.patchRows, k])
        let losses = try objective.lossAndGradients(
            teacherCLS: try file.tensor("s\(s).teacher_cls"), teacherPatch: try file.tensor("s\(s).teacher_patch"),
            studentGlobal: try file.tensor("s\(s).student_global"), studentLocal: try file.tensor("s\(s).student_local"),
            studentPatch: try file.tensor("s\(s).student_patch"), globalGradient: gradGlobal, localGradient: gradLocal,
            patchGradient: gradPatch, teacherTemperature: try temperature ?? file.tensor("s\(s).temperature").scalars()[0],
            backend: backend ?? self.backend)
        return StepResult(losses: losses, gradGlobal: gradGlobal.scalars(), gradLocal: gradLocal.scalars(),
                          gradPatch: gradPatch.scalars())
    }

    @Test func centeringLossesAndGradientsOverThreeSteps() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        var objective = try Self.objective(chunkRows: 3)
        for s in 0..<3 {
            let result = try step(file, s, objective: &objective)
            let (dinoCentering, ibotCentering) = (objective.dinoCentering, objective.ibotCentering)
            // The centres this step used (lagged: step 0 uses zeros).
            let dinoCenter = try file.tensor("s\(s).dino_center").scalars()
            let ibotCenter = try file.tensor("s\(s).ibot_center").scalars()
            let centerError = max(zip(dinoCentering.center, dinoCenter).map { abs($0 - $1) }.max()!,
                                  zip(ibotCentering.center, ibotCenter).map { abs($0 - $1) }.max()!)
            #expect(centerError <= 1e-6, "step \(s): centre differs by \(centerError)")
            if s == 0 { #expect(dinoCentering.center.allSatisfy { $0 == 0 }) }
            if s > 0 { #expect(dinoCentering.center.contains { $0 != 0 }) }

            let losses = try file.tensor("s\(s).losses").scalars().map(Double.init)
            for (name, mine, reference) in [("dino local", result.losses.dinoLocal, losses[0]),
                                            ("dino global", result.losses.dinoGlobal, losses[1]),
                                            ("ibot", result.losses.ibot, losses[2])] {
                let error = ObjectiveFixtures.relativeError(mine, reference)
                #expect(error <= 1e-5, "step \(s) \(name): \(mine) vs PyTorch \(reference) (relative \(error))")
            }
            for (name, mine) in [("grad_global", result.gradGlobal), ("grad_local", result.gradLocal),
                                 ("grad_patch", result.gradPatch)] {
                let error = ObjectiveFixtures.scaledError(mine, try file.tensor("s\(s).\(name)").scalars())
                #expect(error <= 1e-5, "step \(s) \(name): max error \(error) of the largest gradient")
            }
        }
    }

    @Test func oneThreadOrTwoGiveIdenticalResults() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        var one = try Self.objective(chunkRows: 7), two = try Self.objective(chunkRows: 7)
        for s in 0..<3 {
            let a = try step(file, s, objective: &one, backend: CPUBackend(threads: 1))
            let b = try step(file, s, objective: &two, backend: CPUBackend(threads: 2))
            #expect(a.losses == b.losses && a.gradGlobal == b.gradGlobal && a.gradLocal == b.gradLocal && a.gradPatch == b.gradPatch)
            #expect(one.dinoCentering == two.dinoCentering && one.ibotCentering == two.ibotCentering)
        }
    }

    @Test func chunkSizesGiveTheSameLossesAndGradients() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        var results: [[StepResult]] = []
        for chunkRows in [1, 3, 7, Self.patchRows] {
            var objective = try Self.objective(chunkRows: chunkRows)
            results.append(try (0..<3).map { try step(file, $0, objective: &objective) })
        }
        for other in results.dropFirst() {
            for (a, b) in zip(results[0], other) {
                #expect(ObjectiveFixtures.relativeError(a.losses.dinoLocal, b.losses.dinoLocal) <= 1e-6)
                #expect(ObjectiveFixtures.relativeError(a.losses.dinoGlobal, b.losses.dinoGlobal) <= 1e-6)
                #expect(ObjectiveFixtures.relativeError(a.losses.ibot, b.losses.ibot) <= 1e-6)
                #expect(ObjectiveFixtures.scaledError(a.gradGlobal, b.gradGlobal) <= 1e-6)
                #expect(ObjectiveFixtures.scaledError(a.gradLocal, b.gradLocal) <= 1e-6)
                #expect(ObjectiveFixtures.scaledError(a.gradPatch, b.gradPatch) <= 1e-6)
            }
        }
    }

    @Test func sinkhornKnoppProbabilitiesLossesAndGradients() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        let k = Self.prototypes
        let temperature = try file.tensor("sk.temperature").scalars()[0]
        let sinkhorn = SinkhornKnopp(iterations: 3)
        let dinoProbabilities = Tensor(shape: [Self.globalCrops * Self.batch, k])
        try sinkhorn.probabilities(teacherLogits: try file.tensor("s0.teacher_cls"), rows: Self.globalCrops * Self.batch,
                                   prototypes: k, temperature: temperature, output: dinoProbabilities)
        let ibotProbabilities = Tensor(shape: [Self.patchRows, k])
        try sinkhorn.probabilities(teacherLogits: try file.tensor("s0.teacher_patch"), rows: Self.patchRows,
                                   prototypes: k, temperature: temperature, output: ibotProbabilities)
        for (name, mine) in [("sk.dino_probs", dinoProbabilities), ("sk.ibot_probs", ibotProbabilities)] {
            let reference = try file.tensor(name).scalars()
            let error = zip(mine.scalars(), reference).map { abs($0 - $1) }.max()!
            #expect(error <= 1e-6, "\(name): max abs error \(error)")
        }
        // The objective with Sinkhorn-Knopp on step 0's logits.
        var objective = try Self.objective(chunkRows: 5, normalization: .sinkhornKnopp(iterations: 3))
        let result = try step(file, 0, objective: &objective, temperature: temperature)
        let losses = try file.tensor("sk.losses").scalars().map(Double.init)
        #expect(ObjectiveFixtures.relativeError(result.losses.dinoLocal, losses[0]) <= 1e-5)
        #expect(ObjectiveFixtures.relativeError(result.losses.dinoGlobal, losses[1]) <= 1e-5)
        #expect(ObjectiveFixtures.relativeError(result.losses.ibot, losses[2]) <= 1e-5)
        for (name, mine) in [("sk.grad_global", result.gradGlobal), ("sk.grad_local", result.gradLocal),
                             ("sk.grad_patch", result.gradPatch)] {
            let reference = try file.tensor(name).scalars()
            let error = ObjectiveFixtures.scaledError(mine, reference)
            #expect(error <= 1e-5, "\(name): max error \(error) of the largest gradient")
        }
    }
}
