/// What a resumed run (`distill run --resume RUN_DIR`) may not change: the parameters declared
/// ``ParameterSpec/fixedOnResume`` (a schedule's length, the batch, the learning rate…) and the run seed.
/// A resumed run that changed one would continue the checkpoint on another schedule without a word, and its
/// `graph.yaml` would then misdescribe the checkpoint.
public enum ResumeCheck {
    /// The differences between the graph the run was started with (`stored`, its `graph.yaml`) and the graph of the
    /// resumed run (`resumed`), one line each (`trainer.epochs: 16 in the run, 32 now`). Stages are matched by name
    /// and type, or — renamed — by type when each graph has one stage of that type; a stage only one of them has is
    /// not compared.
    public static func differences(stored: GraphSpec, resumed: GraphSpec, registry: StageRegistry) -> [String] {
        var lines: [String] = []
        if stored.run.seed != resumed.run.seed {
            lines.append("run.seed: \(stored.run.seed) in the run, \(resumed.run.seed) now")
        }
        for stage in resumed.stages {
            let sameType = stored.stages.filter { $0.type == stage.type }
            let renamed = sameType.count == 1 && resumed.stages.filter({ $0.type == stage.type }).count == 1 ? sameType.first : nil
            guard let before = sameType.first(where: { $0.name == stage.name }) ?? renamed,
                  let descriptor = registry.descriptor(stage.type) else { continue }
            for spec in descriptor.parameters where spec.fixedOnResume {
                let old = before.parameters.values[spec.name], new = stage.parameters.values[spec.name]
                guard old != new else { continue }
                lines.append("\(stage.name).\(spec.name): \(old?.description ?? "unset") in the run, \(new?.description ?? "unset") now")
            }
        }
        return lines
    }
}
