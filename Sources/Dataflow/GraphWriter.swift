import Yams

/// Writes a ``GraphSpec`` back as a graph file: every default filled in, overrides and `${ENV}`
/// applied. The run directory keeps it as `graph.yaml`, so a run can be repeated exactly with
/// `distill run RUN_DIR/graph.yaml`.
public enum GraphWriter {
    /// The graph as YAML text that ``GraphLoader`` reads back to an equal graph.
    public static func yaml(_ graph: GraphSpec) -> String {
        // `$` is written as `$$` so that reading the file back does not expand it again.
        func scalar(_ text: String) -> Node { Node(text.contains("$") ? text.split(separator: "$", omittingEmptySubsequences: false).joined(separator: "$$") : text) }
        func mapping(_ pairs: [(String, Node)]) -> Node {
            .mapping(Node.Mapping(pairs.map { (Node($0.0), $0.1) }))
        }
        var run: [(String, Node)] = [
            ("seed", scalar(String(graph.run.seed))),
            ("run_dir", scalar(graph.run.runDirectory)),
        ]
        if let monitor = graph.run.monitor { run.append(("monitor", scalar(monitor))) }
        run.append(("stats_interval", scalar(DurationFormat.exactString(seconds: graph.run.statsInterval))))
        run.append(("drain_timeout", scalar(DurationFormat.exactString(seconds: graph.run.drainTimeout))))
        let stages: [Node] = graph.stages.map { stage in
            var pairs: [(String, Node)] = [
                ("name", scalar(stage.name)), ("type", scalar(stage.type)),
                ("replicas", scalar(String(stage.replicas))),
            ]
            if stage.ordered { pairs.append(("ordered", scalar("true"))) }
            pairs.append(("device", scalar(stage.device)))
            let params: [(String, Node)] = stage.parameters.values.sorted { $0.key < $1.key }.map { name, value in
                if case .stringList(let items) = value {
                    return (name, .sequence(Node.Sequence(items.map { scalar($0) })))
                }
                return (name, scalar(exact(value)))
            }
            if !params.isEmpty { pairs.append(("params", mapping(params))) }
            return mapping(pairs)
        }
        let edges: [Node] = graph.edges.map { edge in
            let capacity: String
            switch edge.capacity {
            case .items(let count): capacity = String(count)
            case .bytes(let bytes): capacity = ByteFormat.exactString(bytes)
            }
            return mapping([("from", scalar(edge.from.description)), ("to", scalar(edge.to.description)),
                            ("capacity", scalar(capacity))])
        }
        let root = mapping([
            ("name", scalar(graph.name)), ("run", mapping(run)),
            ("stages", .sequence(Node.Sequence(stages))), ("edges", .sequence(Node.Sequence(edges))),
        ])
        return (try? Yams.serialize(node: root)) ?? ""
    }

    /// A parameter value as text that parses back to exactly the same value.
    static func exact(_ value: ParameterValue) -> String {
        switch value {
        case .duration(let seconds): return DurationFormat.exactString(seconds: seconds)
        case .bytes(let bytes): return ByteFormat.exactString(bytes)
        case .number(let number): return "\(number)"
        default: return value.description
        }
    }
}
