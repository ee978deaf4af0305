/// A validated graph: every stage type, parameter, port and capacity has been checked against a
/// ``StageRegistry`` (made by ``GraphLoader``).
public struct GraphSpec: Sendable {
    /// `name:` from the file, or the file name without extension.
    public var name: String
    /// The file it came from (for messages).
    public var path: String
    /// The `run:` settings.
    public var run: RunSettings
    /// Stages in file order.
    public var stages: [StageNode]
    /// Edges in file order.
    public var edges: [EdgeNode]

    /// The stage with this name.
    public func stage(_ name: String) -> StageNode? { stages.first { $0.name == name } }
}

/// The `run:` section of a graph file.
public struct RunSettings: Sendable, Equatable {
    /// Seed for every random choice in the run (`seed`, default 0).
    public var seed: UInt64 = 0
    /// Parent folder of run directories (`run_dir`, default `runs`); each run gets `<name>-<time>/`.
    public var runDirectory: String = "runs"
    /// Address the monitor listens on (`monitor`, e.g. `127.0.0.1:9464`), or nil for none.
    public var monitor: String?
    /// Seconds between stats snapshots in `metrics.jsonl` and the live table (`stats_interval`, default 1s).
    public var statsInterval: Double = 1
    /// Seconds the graph may take to drain after SIGINT/SIGTERM or to stop after a failure before
    /// the stages still running are reported as hung (`drain_timeout`, default 10s).
    public var drainTimeout: Double = 10

    /// The defaults listed on each property.
    public init() {}
}

/// One stage of a graph.
public struct StageNode: Sendable {
    /// Unique name in the graph.
    public var name: String
    /// Registered stage type.
    public var type: String
    /// Number of instances, 1…1024.
    public var replicas: Int
    /// Map stages with replicas: keep input order.
    public var ordered: Bool
    /// `cpu` unless the graph says otherwise.
    public var device: String
    /// Validated parameters with defaults filled in.
    public var parameters: StageParameters
}

/// `stage.port` in an edge.
public struct PortReference: Sendable, Hashable, CustomStringConvertible {
    /// Stage name.
    public var stage: String
    /// Port name on that stage.
    public var port: String
    public var description: String { "\(stage).\(port)" }
}

/// One edge of a graph.
public struct EdgeNode: Sendable {
    /// The producing output port.
    public var from: PortReference
    /// The consuming input port.
    public var to: PortReference
    /// The bound in items or payload bytes.
    public var capacity: Capacity
    /// `from->to`, the edge's name in stats.
    public var name: String { "\(from)->\(to)" }
}
