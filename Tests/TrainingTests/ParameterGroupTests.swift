import Compute
import Foundation
import Models
import Testing
import Training

/// `ParameterGroups` against DINOv2's `get_params_groups_with_decay` applied per student sub-module, on the
/// timm names of a tiny ViT (the repository's vit-tiny-test config: depth 3, 4 registers, SwiGLU, LayerScale)
/// plus a DINO and an iBOT head.
@Suite struct ParameterGroupTests {
    /// The table of vit-tiny-test's backbone plus heads with the fixture's head shapes.
    static func studentTable(heads: [(String, [Int])]) throws -> ParameterTable {
        let config = try ViTConfig.load(path: ObjectiveFixtures.root.appendingPathComponent("configs/models/vit-tiny-test.yaml").path)
        var table = try ParameterTable(backbone: ParameterLayout(config: config))
        let layout = ParameterLayout(config: config)
        #expect(table.count == layout.count)
        #expect(table.entries.map(\.offset) == layout.parameters.map(\.offset))
        for (name, shape) in heads { try table.append(name, shape: shape) }
        return table
    }

    @Test func rulesMatchDINOv2ForEveryParameter() throws {
        let fixture = try ObjectiveFixtures.json("param_groups.json", as: ObjectiveFixtures.ParameterGroupsFixture.self)
        let reference = Dictionary(uniqueKeysWithValues: fixture.parameters.map {
            ($0.name, ParameterGroups.Rule(lrMultiplier: $0.lrMultiplier, wdMultiplier: $0.wdMultiplier,
                                           isLastLayer: $0.isLastLayer))
        })
        let headNames = fixture.parameters.map(\.name).filter { StudentModule(parameterName: $0) != .backbone }
        let table = try Self.studentTable(heads: headNames.map { ($0, [1]) })
        // Every fixture name is in the table and vice versa (timm names: reg_token, mlp.fc1/fc2).
        #expect(Set(table.entries.map(\.name)) == Set(reference.keys))
        let groups = ParameterGroups(table: table, depth: fixture.depth, layerwiseDecay: 0.9,
                                     patchEmbedLRMultiplier: 0.2)
        for (entry, rule) in zip(table.entries, groups.rules) {
            #expect(rule == reference[entry.name], "\(entry.name): \(rule) vs DINOv2 \(String(describing: reference[entry.name]))")
        }
        // Spot values of spec §5.3 for depth 3: tokens 0.9^4, patch embed ×0.2, block i 0.9^(3−i), norm 1.
        #expect(groups.rules[table.entries.firstIndex { $0.name == "reg_token" }!].lrMultiplier == pow(0.9, 4))
        #expect(groups.rules[table.entries.firstIndex { $0.name == "norm.weight" }!] ==
                ParameterGroups.Rule(lrMultiplier: 1, wdMultiplier: 0, isLastLayer: false))
        #expect(groups.rules[table.entries.firstIndex { $0.name == "dino_head.last_layer.weight_g" }!] ==
                ParameterGroups.Rule(lrMultiplier: 1, wdMultiplier: 1, isLastLayer: true))
    }

    @Test func tableRejectsRepeatedNamesAndAssignsModules() throws {
        var table = ParameterTable()
        try table.append("blocks.0.norm1.weight", shape: [4])
        try table.append("dino_head.mlp.0.weight", shape: [2, 4])
        try table.append("ibot_head.last_layer.weight_v", shape: [3, 2])
        #expect(table.count == 4 + 8 + 6)
        #expect(table.entries.map(\.module) == [.backbone, .dinoHead, .iBOTHead])
        #expect(table.entry("dino_head.mlp.0.weight")?.range == 4..<12)
        #expect(throws: TrainingError.badParameterTable("parameter blocks.0.norm1.weight appears twice")) {
            try table.append("blocks.0.norm1.weight", shape: [4])
        }
    }
}
