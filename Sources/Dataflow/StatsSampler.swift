import Foundation
import Synchronization

/// Turns the live counters of a run into ``GraphSnapshot``s, with rates over the window since the
/// previous ``tick(state:)``.
final class StatsSampler: Sendable {
    struct StageEntry: Sendable {
        let node: StageNode
        let counters: StageCounters
        let metrics: StageMetrics
    }

    struct EdgeEntry: Sendable {
        let node: EdgeNode
        let counters: EdgeCounters
    }

    private struct Baseline {
        var time: UInt64
        var stages: [StageReading]
        var edges: [EdgeReading]
    }

    let graph: String
    let runID: String
    let stages: [StageEntry]
    let edges: [EdgeEntry]
    private let started: UInt64
    private let baseline: Mutex<Baseline>

    init(graph: String, runID: String, stages: [StageEntry], edges: [EdgeEntry]) {
        self.graph = graph
        self.runID = runID
        self.stages = stages
        self.edges = edges
        let now = MonotonicClock.now()
        self.started = now
        self.baseline = Mutex(Baseline(
            time: now, stages: stages.map { $0.counters.read(now: now) }, edges: edges.map { $0.counters.read() }))
    }

    /// A snapshot over the window since the last tick, which starts a new window.
    func tick(state: String) -> GraphSnapshot {
        snapshot(state: state, resetWindow: true)
    }

    /// A snapshot over the window since the last tick, leaving the window open.
    func peek(state: String) -> GraphSnapshot {
        snapshot(state: state, resetWindow: false)
    }

    private func snapshot(state: String, resetWindow: Bool) -> GraphSnapshot {
        let now = MonotonicClock.now()
        let stageReadings = stages.map { $0.counters.read(now: now) }
        let edgeReadings = edges.map { $0.counters.read() }
        let base = baseline.withLock { base -> Baseline in
            let old = base
            if resetWindow { base = Baseline(time: now, stages: stageReadings, edges: edgeReadings) }
            return old
        }
        let window = max(1e-9, Double(now - base.time) / 1e9)
        var stageSnapshots: [StageSnapshot] = []
        for (index, entry) in stages.enumerated() {
            let reading = stageReadings[index]
            let old = base.stages[index]
            let wall = reading.wallSeconds - old.wallSeconds
            let ratio: (Double) -> Double = { wall > 1e-9 ? min(1, max(0, $0 / wall)) : 0 }
            stageSnapshots.append(StageSnapshot(
                name: entry.node.name, type: entry.node.type, replicas: entry.node.replicas,
                itemsIn: reading.itemsIn, itemsOut: reading.itemsOut,
                inPerSecond: Double(reading.itemsIn - old.itemsIn) / window,
                outPerSecond: Double(reading.itemsOut - old.itemsOut) / window,
                busy: ratio(reading.busySeconds - old.busySeconds),
                blocked: ratio(reading.blockedSeconds - old.blockedSeconds),
                starved: ratio(reading.starvedSeconds - old.starvedSeconds),
                latencyP50Milliseconds: reading.latencyP50Seconds * 1000,
                latencyP99Milliseconds: reading.latencyP99Seconds * 1000,
                errors: reading.errors, phases: reading.phases.map(\.description),
                metrics: entry.metrics.read()))
        }
        var edgeSnapshots: [EdgeSnapshot] = []
        for (index, entry) in edges.enumerated() {
            let reading = edgeReadings[index]
            let old = base.edges[index]
            edgeSnapshots.append(EdgeSnapshot(
                name: entry.node.name, from: entry.node.from.description, to: entry.node.to.description,
                depth: reading.depth, capacity: entry.node.capacity.limit, unit: entry.node.capacity.unit,
                depthBytes: reading.depthBytes, maxDepth: reading.maxDepth, maxDepthBytes: reading.maxDepthBytes, items: reading.itemsOut,
                bytes: reading.bytesOut, blocked: max(0, (reading.blockedSeconds - old.blockedSeconds) / window)))
        }
        var snapshot = GraphSnapshot(
            graph: graph, runID: runID, time: Self.isoTime(), elapsedSeconds: Double(now - started) / 1e9,
            state: state, stages: stageSnapshots, edges: edgeSnapshots, bottleneck: nil)
        snapshot.bottleneck = Bottleneck.find(in: snapshot)
        return snapshot
    }

    /// ISO 8601 UTC with milliseconds; a Sendable format style made once, not a formatter per call
    /// (every log line uses it).
    static let isoStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func isoTime(_ date: Date = Date()) -> String {
        isoStyle.format(date)
    }
}
