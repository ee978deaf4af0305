/// One stats snapshot of a running graph: what `/stats` serves, each line of `metrics.jsonl`, and what
/// `distill monitor` draws. JSON keys are snake_case so Python reads them directly
/// (`pandas.read_json("metrics.jsonl", lines=True)`). Rates and ratios cover the window since the
/// previous stats interval.
public struct GraphSnapshot: Codable, Sendable, Equatable {
    /// The graph's name.
    public var graph: String
    /// The run directory name (`<graph>-<yyyyMMdd-HHmmss>`), or empty without one.
    public var runID: String
    /// Wall-clock time of the snapshot, ISO 8601 UTC.
    public var time: String
    /// Seconds since the run started.
    public var elapsedSeconds: Double
    /// `running`, `draining` (after a stop request), then `completed`, `failed` or `stopped`.
    public var state: String
    public var stages: [StageSnapshot]
    public var edges: [EdgeSnapshot]
    /// The stage limiting throughput now (busiest stage whose input is full and output is not), if any.
    public var bottleneck: String?

    enum CodingKeys: String, CodingKey {
        case graph, runID = "run_id", time, elapsedSeconds = "elapsed_s", state, stages, edges, bottleneck
    }
}

/// Stats of one stage (all replicas together).
public struct StageSnapshot: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var replicas: Int
    /// Items received since the start.
    public var itemsIn: Int
    /// Items sent since the start (once per item, whatever the fan-out).
    public var itemsOut: Int
    /// Items received per second in the window.
    public var inPerSecond: Double
    /// Items sent per second in the window.
    public var outPerSecond: Double
    /// Fraction of replica time spent working (not waiting), 0…1.
    public var busy: Double
    /// Fraction of replica time waiting for room on an output edge.
    public var blocked: Double
    /// Fraction of replica time waiting for input.
    public var starved: Double
    /// Busy time per item, milliseconds, since the start (p50 and p99).
    public var latencyP50Milliseconds: Double
    public var latencyP99Milliseconds: Double
    /// Failed replicas plus item errors the stage survived (``StageContext/recordItemError(_:)``).
    public var errors: Int
    /// What each replica is doing now.
    public var phases: [String]
    /// Stage-defined metrics (``StageMetrics``).
    public var metrics: [String: Double]

    /// The throughput shown in tables: received per second, or sent per second for sources.
    public var itemsPerSecond: Double { itemsIn > 0 || outPerSecond == 0 ? inPerSecond : outPerSecond }

    enum CodingKeys: String, CodingKey {
        case name, type, replicas, itemsIn = "items_in", itemsOut = "items_out", inPerSecond = "in_per_s",
             outPerSecond = "out_per_s", busy, blocked, starved, latencyP50Milliseconds = "latency_p50_ms",
             latencyP99Milliseconds = "latency_p99_ms", errors, phases, metrics
    }
}

/// Stats of one edge.
public struct EdgeSnapshot: Codable, Sendable, Equatable {
    /// `from->to`.
    public var name: String
    public var from: String
    public var to: String
    /// Items in the edge now.
    public var depth: Int
    /// The bound, in ``unit``.
    public var capacity: Int
    /// `items` or `bytes`.
    public var unit: String
    /// Payload bytes in the edge now (0 for items that are not ``ByteSized``).
    public var depthBytes: Int
    /// Highest number of items in the edge so far.
    public var maxDepth: Int
    /// Highest number of payload bytes in the edge so far.
    public var maxDepthBytes: Int
    /// Items and payload bytes that went through, since the start.
    public var items: Int
    public var bytes: Int
    /// Fraction of the window producers spent waiting for room (summed over producers, may exceed 1).
    public var blocked: Double

    /// Fill level 0…1 in the edge's own unit.
    public var fill: Double {
        guard capacity > 0 else { return 0 }
        return Double(unit == "bytes" ? depthBytes : depth) / Double(capacity)
    }

    enum CodingKeys: String, CodingKey {
        case name, from, to, depth, capacity, unit, depthBytes = "depth_bytes", maxDepth = "max_depth", maxDepthBytes = "max_depth_bytes", items,
             bytes, blocked
    }
}
