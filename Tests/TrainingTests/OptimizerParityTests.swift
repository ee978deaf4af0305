import Compute
import Foundation
import Models
import Testing
import Training

/// Per-module gradient clipping and AdamW with DINOv2's parameter groups against `clip_grad_norm_(…, 3.0)` per
/// sub-module and `torch.optim.AdamW(foreach=True)`: three steps at the short schedule's iterations 9–11, where
/// the lr warmup ends and the last layer unfreezes.
@Suite struct OptimizerParityTests {
    @Test func threeStepsOfClippingAndAdamW() throws {
        let fixture = try ObjectiveFixtures.json("optimizer.json", as: ObjectiveFixtures.OptimizerFixture.self)
        let file = try ObjectiveFixtures.file("optimizer.safetensors")
        var table = ParameterTable()
        for parameter in fixture.parameters { try table.append(parameter.name, shape: parameter.shape) }
        let groups = ParameterGroups(table: table, depth: fixture.depth)
        var settings = TrainingSchedules.Settings(epochs: fixture.schedule.epochs, batchSize: fixture.schedule.batch)
        settings.officialEpochLength = fixture.schedule.epochLength
        settings.warmupEpochs = fixture.schedule.warmupEpochs
        settings.warmupTeacherTemperatureEpochs = fixture.schedule.warmupTempEpochs
        settings.freezeLastLayerEpochs = fixture.schedule.freezeLastLayerEpochs
        let schedules = try TrainingSchedules(settings)

        let parameters = try file.tensor("params0")
        #expect(parameters.count == table.count)
        var optimizer = AdamW(count: table.count)
        var clippedModules = Set<StudentModule>(), unclippedModules = Set<StudentModule>()
        for (step, iteration) in fixture.iterations.enumerated() {
            let gradients = try file.tensor("step\(step).grad")
            let norms = GradientClipping.clipPerModule(gradients: gradients, table: table, maxNorm: 3.0)
            let referenceNorms = try file.tensor("step\(step).norms").scalars()
            for (index, module) in [StudentModule.backbone, .dinoHead, .iBOTHead].enumerated() {
                let norm = norms[module]!
                #expect(ObjectiveFixtures.relativeError(norm, Double(referenceNorms[index])) <= 1e-6,
                        "step \(step) \(module) norm \(norm) vs \(referenceNorms[index])")
                if norm > 3 { clippedModules.insert(module) } else { unclippedModules.insert(module) }
            }
            let clipped = try file.tensor("step\(step).clipped").scalars()
            #expect(ObjectiveFixtures.scaledError(gradients.scalars(), clipped) <= 1e-6, "step \(step) clipped gradients")
            let before = parameters.scalars()
            optimizer.update(parameters: parameters, gradients: gradients, table: table, groups: groups,
                             values: schedules[iteration])
            // The last layer is frozen while its lr is 0 (first epoch): parameters unchanged, moments updated.
            if schedules[iteration].lastLayerLR == 0 {
                let after = parameters.scalars()
                for (index, entry) in table.entries.enumerated() where groups.rules[index].isLastLayer {
                    #expect(entry.range.allSatisfy { after[$0] == before[$0] }, "\(entry.name) moved while frozen")
                    #expect(entry.range.contains { optimizer.m[$0] != 0 })
                }
            }
            let reference = try file.tensor("step\(step).params").scalars()
            let mine = parameters.scalars()
            let error = zip(mine, reference).map { Double(abs($0 - $1)) / max(Double(abs($1)), 1e-3) }.max()!
            #expect(error <= 1e-6, "step \(step): parameters differ by \(error) (relative)")
        }
        // The fixture exercises both sides of the clip and the frozen last layer.
        #expect(!clippedModules.isEmpty && !unclippedModules.isEmpty)
        #expect(schedules[9].lastLayerLR == 0 && schedules[10].lastLayerLR > 0)
        #expect(optimizer.step == 3)
    }

    /// Parameters kept in one buffer per module (backbone, DINO head, iBOT head), each with its own table, groups
    /// and AdamW, step exactly as the single buffer does.
    @Test func oneBufferPerModuleStepsAsOneBuffer() throws {
        let fixture = try ObjectiveFixtures.json("optimizer.json", as: ObjectiveFixtures.OptimizerFixture.self)
        let file = try ObjectiveFixtures.file("optimizer.safetensors")
        var whole = ParameterTable()
        for parameter in fixture.parameters { try whole.append(parameter.name, shape: parameter.shape) }
        var settings = TrainingSchedules.Settings(epochs: fixture.schedule.epochs, batchSize: fixture.schedule.batch)
        settings.officialEpochLength = fixture.schedule.epochLength
        settings.warmupEpochs = fixture.schedule.warmupEpochs
        settings.warmupTeacherTemperatureEpochs = fixture.schedule.warmupTempEpochs
        let schedules = try TrainingSchedules(settings)

        let parameters = try file.tensor("params0")
        var optimizer = AdamW(count: whole.count)
        let groups = ParameterGroups(table: whole, depth: fixture.depth)
        struct Part { var table: ParameterTable; var groups: ParameterGroups; var optimizer: AdamW; var parameters: Tensor }
        var parts: [Part] = try whole.modules.map { module in
            var table = ParameterTable()
            for entry in whole.entries(of: module) { try table.append(entry.name, shape: entry.shape) }
            let values = whole.entries(of: module).flatMap { entry in entry.range.map { parameters.floats[$0] } }
            return Part(table: table, groups: ParameterGroups(table: table, depth: fixture.depth),
                        optimizer: AdamW(count: table.count), parameters: Tensor(shape: [table.count], values: values))
        }
        for (step, iteration) in fixture.iterations.enumerated() {
            let gradients = try file.tensor("step\(step).grad")
            for index in parts.indices {
                let module = whole.modules[index]
                let values = whole.entries(of: module).flatMap { entry in entry.range.map { gradients.floats[$0] } }
                let partGradients = Tensor(shape: [parts[index].table.count], values: values)
                GradientClipping.clipPerModule(gradients: partGradients, table: parts[index].table)
                parts[index].optimizer.update(parameters: parts[index].parameters, gradients: partGradients,
                                              table: parts[index].table, groups: parts[index].groups,
                                              values: schedules[iteration])
            }
            GradientClipping.clipPerModule(gradients: gradients, table: whole)
            optimizer.update(parameters: parameters, gradients: gradients, table: whole, groups: groups,
                             values: schedules[iteration])
        }
        let joined = parts.flatMap { $0.parameters.scalars() }
        #expect(joined == parameters.scalars())
    }

    @Test func oneGlobalClipIsNotPerModuleClipping() {
        // Two modules with norms 4 and 1: per module only the first is scaled (to 3); one global clip at 3 would
        // scale both by 3/√17.
        var table = ParameterTable()
        try! table.append("blocks.0.mlp.fc1.weight", shape: [2])
        try! table.append("dino_head.mlp.0.weight", shape: [1])
        let gradients = Tensor(shape: [3], values: [4, 0, 1])
        let norms = GradientClipping.clipPerModule(gradients: gradients, table: table, maxNorm: 3)
        #expect(norms == [.backbone: 4, .dinoHead: 1])
        let g = gradients.scalars()
        #expect(abs(g[0] - 3 * 4 / (4 + 1e-6)) <= 1e-6 && g[2] == 1)
    }
}
