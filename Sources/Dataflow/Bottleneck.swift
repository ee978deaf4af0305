/// Names the stage that limits a graph's throughput (DESIGN.md §2): the busiest stage whose input is
/// backed up and whose output is not.
///
/// A stage is a candidate when it is at least half busy, its input edges are at least 75 % full or
/// their producers spent over 20 % of the window blocked (it has no inputs: a source), and it spent
/// at most 20 % of its own time blocked on its outputs (downstream keeps up). Among candidates the
/// busiest wins. When nothing qualifies (the graph is idle, or starved by a slow source reading
/// nothing), there is no bottleneck.
public enum Bottleneck {
    /// The bottleneck stage's name for `snapshot` by the rule above, or nil when no stage qualifies.
    public static func find(in snapshot: GraphSnapshot) -> String? {
        let candidates = snapshot.stages.filter { stage in
            guard stage.busy >= 0.5, stage.blocked <= 0.2 else { return false }
            let inputs = snapshot.edges.filter { $0.to.hasPrefix(stage.name + ".") }
            return inputs.isEmpty || inputs.contains { $0.fill >= 0.75 || $0.blocked > 0.2 }
        }
        return candidates.max { $0.busy < $1.busy }?.name
    }
}
