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
        var dino: DINOLoss.Value
        var ibot: Double
        var gradGlobal: [Float], gradLocal: [Float], gradPatch: [Float]
    }

    /// One step from the fixture's logits: centre the teacher (DINO in one call, iBOT streamed chunk by chunk),
    /// then both losses, with `chunkRows` rows per chunk.
    func step(_ file: SafetensorsFile, _ s: Int, dinoCentering: inout SoftmaxCentering,
              ibotCentering: inout SoftmaxCentering, chunkRows: Int) throws -> StepResult {
        let k = Self.prototypes
        let temperature = try file.tensor("s\(s).temperature").scalars()[0]
        dinoCentering.beginStep()
        ibotCentering.beginStep()
        let teacherCLS = try file.tensor("s\(s).teacher_cls")
        let probabilities = Tensor(shape: [Self.globalCrops * Self.batch, k])
        try dinoCentering.teacherProbabilities(teacherLogits: teacherCLS, rows: Self.globalCrops * Self.batch,
                                               temperature: temperature, output: probabilities, backend: backend,
                                               chunkRows: chunkRows)
        let dino = try DINOLoss(batch: Self.batch, globalCrops: Self.globalCrops, localCrops: Self.localCrops,
                                prototypes: k, chunkRows: chunkRows)
        let gradGlobal = Tensor(shape: [Self.globalCrops * Self.batch, k])
        let gradLocal = Tensor(shape: [Self.localCrops * Self.batch, k])
        let dinoValue = try dino.lossAndGradients(teacherProbabilities: probabilities,
                                                  studentGlobal: try file.tensor("s\(s).student_global"),
                                                  globalGradient: gradGlobal,
                                                  studentLocal: try file.tensor("s\(s).student_local"),
                                                  localGradient: gradLocal, backend: backend)
        let ibot = try IBOTPatchLoss(rows: Self.patchRows, prototypes: k, chunkRows: chunkRows)
        let gradPatch = Tensor(shape: [Self.patchRows, k])
        let ibotValue = try ibot.lossAndGradient(studentLogits: try file.tensor("s\(s).student_patch"),
                                                 teacherLogits: try file.tensor("s\(s).teacher_patch"),
                                                 centering: &ibotCentering, teacherTemperature: temperature,
                                                 gradient: gradPatch, backend: backend)
        return StepResult(dino: dinoValue, ibot: ibotValue, gradGlobal: gradGlobal.scalars(),
                          gradLocal: gradLocal.scalars(), gradPatch: gradPatch.scalars())
    }

    @Test func centeringLossesAndGradientsOverThreeSteps() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        var dinoCentering = SoftmaxCentering(prototypes: Self.prototypes)
        var ibotCentering = SoftmaxCentering(prototypes: Self.prototypes)
        for s in 0..<3 {
            let result = try step(file, s, dinoCentering: &dinoCentering, ibotCentering: &ibotCentering, chunkRows: 3)
            // The centres this step used (lagged: step 0 uses zeros).
            let dinoCenter = try file.tensor("s\(s).dino_center").scalars()
            let ibotCenter = try file.tensor("s\(s).ibot_center").scalars()
            let centerError = max(zip(dinoCentering.center, dinoCenter).map { abs($0 - $1) }.max()!,
                                  zip(ibotCentering.center, ibotCenter).map { abs($0 - $1) }.max()!)
            #expect(centerError <= 1e-6, "step \(s): centre differs by \(centerError)")
            if s == 0 { #expect(dinoCentering.center.allSatisfy { $0 == 0 }) }
            if s > 0 { #expect(dinoCentering.center.contains { $0 != 0 }) }

            let losses = try file.tensor("s\(s).losses").scalars().map(Double.init)
            for (name, mine, reference) in [("dino local", result.dino.local, losses[0]),
                                            ("dino global", result.dino.global, losses[1]),
                                            ("ibot", result.ibot, losses[2])] {
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

    @Test func chunkSizesGiveTheSameLossesAndGradients() throws {
        let file = try ObjectiveFixtures.file("losses.safetensors")
        var results: [[StepResult]] = []
        for chunkRows in [1, 3, 7, Self.patchRows] {
            var dinoCentering = SoftmaxCentering(prototypes: Self.prototypes)
            var ibotCentering = SoftmaxCentering(prototypes: Self.prototypes)
            results.append(try (0..<3).map {
                try step(file, $0, dinoCentering: &dinoCentering, ibotCentering: &ibotCentering, chunkRows: chunkRows)
            })
        }
        for other in results.dropFirst() {
            for (a, b) in zip(results[0], other) {
                #expect(ObjectiveFixtures.relativeError(a.dino.total, b.dino.total) <= 1e-6)
                #expect(ObjectiveFixtures.relativeError(a.ibot, b.ibot) <= 1e-6)
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
        let dino = try DINOLoss(batch: Self.batch, globalCrops: Self.globalCrops, localCrops: Self.localCrops, prototypes: k)
        let gradGlobal = Tensor(shape: [Self.globalCrops * Self.batch, k]), gradLocal = Tensor(shape: [Self.localCrops * Self.batch, k])
        let dinoValue = try dino.lossAndGradients(teacherProbabilities: dinoProbabilities,
                                                  studentGlobal: try file.tensor("s0.student_global"), globalGradient: gradGlobal,
                                                  studentLocal: try file.tensor("s0.student_local"), localGradient: gradLocal,
                                                  backend: backend)
        let ibot = try IBOTPatchLoss(rows: Self.patchRows, prototypes: k, chunkRows: 5)
        let gradPatch = Tensor(shape: [Self.patchRows, k])
        let ibotValue = try ibot.lossAndGradient(studentLogits: try file.tensor("s0.student_patch"),
                                                 teacherProbabilities: ibotProbabilities, gradient: gradPatch, backend: backend)
        let losses = try file.tensor("sk.losses").scalars().map(Double.init)
        #expect(ObjectiveFixtures.relativeError(dinoValue.local, losses[0]) <= 1e-5)
        #expect(ObjectiveFixtures.relativeError(dinoValue.global, losses[1]) <= 1e-5)
        #expect(ObjectiveFixtures.relativeError(ibotValue, losses[2]) <= 1e-5)
        for (name, mine) in [("sk.grad_global", gradGlobal), ("sk.grad_local", gradLocal), ("sk.grad_patch", gradPatch)] {
            let reference = try file.tensor(name).scalars()
            let error = ObjectiveFixtures.scaledError(mine.scalars(), reference)
            #expect(error <= 1e-5, "\(name): max error \(error) of the largest gradient")
        }
    }
}
