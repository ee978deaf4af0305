import Compute
import Foundation
import Models
import Testing
import Training

/// Feature distillation (teacher without heads) against PyTorch: `nn.Linear` projector, then
/// `(1 − F.cosine_similarity(y, F.layer_norm(t))).mean() + F.smooth_l1_loss(y, F.layer_norm(t))` on CLS rows and
/// on patch rows, gradients through the projector to the student features and the projector's weight and bias.
@Suite struct FeatureDistillationTests {
    let backend = CPUBackend(threads: 1)

    @Test func lossAndGradientsThroughTheProjector() throws {
        let file = try ObjectiveFixtures.file("feature_distillation.safetensors")
        let weight = try file.tensor("weight"), bias = try file.tensor("bias")
        let projector = FeatureProjector(inFeatures: weight.shape[1], outFeatures: weight.shape[0])
        let loss = try FeatureDistillationLoss()
        let weightGradient = Tensor(shape: weight.shape, zeroed: true), biasGradient = Tensor(shape: bias.shape, zeroed: true)
        var values: [Double] = []
        for part in ["cls", "patch"] {
            let x = try file.tensor("x_\(part)"), teacher = try file.tensor("t_\(part)")
            let rows = x.shape[0]
            let prediction = Tensor(shape: [rows, projector.outFeatures])
            projector.forward(input: x, weight: weight, bias: bias, output: prediction, rows: rows, backend: backend)
            let predictionGradient = Tensor(shape: prediction.shape)
            let value = try loss.lossAndGradient(predictions: prediction, teacherFeatures: teacher,
                                                 gradient: predictionGradient, rows: rows, dim: projector.outFeatures,
                                                 name: part)
            values += [value.cosine, value.smoothL1]
            let inputGradient = Tensor(shape: x.shape)
            projector.backward(input: x, weight: weight, outputGradient: predictionGradient, inputGradient: inputGradient,
                               weightGradient: weightGradient, biasGradient: biasGradient, rows: rows, backend: backend)
            let reference = try file.tensor("grad_x_\(part)").scalars()
            let error = ObjectiveFixtures.scaledError(inputGradient.scalars(), reference)
            #expect(error <= 1e-5, "\(part) feature gradient: \(error)")
        }
        let reference = try file.tensor("losses").scalars().map(Double.init)
        for (index, (mine, expected)) in zip(values, reference).enumerated() {
            #expect(ObjectiveFixtures.relativeError(mine, expected) <= 1e-5, "term \(index): \(mine) vs \(expected)")
        }
        for (name, mine) in [("grad_weight", weightGradient), ("grad_bias", biasGradient)] {
            let error = ObjectiveFixtures.scaledError(mine.scalars(), try file.tensor(name).scalars())
            #expect(error <= 1e-5, "\(name): \(error)")
        }
    }

    @Test func projectorParametersFormTheirOwnModule() throws {
        var table = ParameterTable()
        try table.append("norm.weight", shape: [4])
        try FeatureProjector(inFeatures: 4, outFeatures: 6).register(in: &table)
        #expect(table.modules == [.backbone, .projector])
        let groups = ParameterGroups(table: table, depth: 1)
        #expect(groups.rules[1] == ParameterGroups.Rule(lrMultiplier: 1, wdMultiplier: 1, isLastLayer: false))
        #expect(groups.rules[2] == ParameterGroups.Rule(lrMultiplier: 1, wdMultiplier: 0, isLastLayer: false))
    }

    @Test func nonFiniteTeacherFeatureIsNamed() throws {
        let teacher = Tensor(shape: [2, 3], values: [1, 2, 3, 4, .nan, 6])
        let predictions = Tensor(shape: [2, 3], values: [1, 0, 0, 0, 1, 0])
        var caught: TrainingError?
        do {
            _ = try FeatureDistillationLoss().lossAndGradient(predictions: predictions, teacherFeatures: teacher,
                                                              gradient: Tensor(shape: [2, 3]), rows: 2, dim: 3, name: "patch")
        } catch {
            caught = error
        }
        guard case .nonFiniteFeature(let what, let row, let column, let value)? = caught else {
            Issue.record("expected a non-finite feature error, got \(String(describing: caught))")
            return
        }
        #expect(what == "teacher patch features" && row == 1 && column == 1 && value.isNaN)
    }
}
