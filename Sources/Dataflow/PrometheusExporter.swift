import CoreMetrics
import Prometheus
import Synchronization

/// Turns ``GraphSnapshot``s into Prometheus text exposition (format 0.0.4) for `/metrics`, through
/// swift-metrics objects backed by a per-run swift-prometheus registry (no process-wide bootstrap,
/// so several runs can live in one process).
///
/// Series (labels in braces):
/// - `distill_stage_items_in_total{stage}`, `distill_stage_items_out_total{stage}`, `distill_stage_errors_total{stage}`
/// - `distill_stage_items_per_second{stage}`, `distill_stage_busy_ratio{stage}`,
///   `distill_stage_blocked_ratio{stage}`, `distill_stage_starved_ratio{stage}`
/// - `distill_stage_latency_seconds{stage,quantile="0.5"|"0.99"}`
/// - `distill_stage_value{stage,name}`: stage-defined metrics
/// - `distill_edge_depth{edge}`, `distill_edge_depth_bytes{edge}`, `distill_edge_capacity{edge,unit}`,
///   `distill_edge_items_total{edge}`, `distill_edge_bytes_total{edge}`
/// - `distill_run_elapsed_seconds`
public final class PrometheusExporter: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Last totals exported per counter key, to turn totals into swift-metrics increments.
    private let exported = Mutex<[String: Int]>([:])

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Updates every series from `snapshot` and returns the exposition text.
    public func render(_ snapshot: GraphSnapshot) -> String {
        for stage in snapshot.stages {
            let labels = [("stage", stage.name)]
            total("distill_stage_items_in_total", labels, stage.itemsIn)
            total("distill_stage_items_out_total", labels, stage.itemsOut)
            total("distill_stage_errors_total", labels, stage.errors)
            gauge("distill_stage_items_per_second", labels, stage.itemsPerSecond)
            gauge("distill_stage_busy_ratio", labels, stage.busy)
            gauge("distill_stage_blocked_ratio", labels, stage.blocked)
            gauge("distill_stage_starved_ratio", labels, stage.starved)
            gauge("distill_stage_latency_seconds", labels + [("quantile", "0.5")], stage.latencyP50Milliseconds / 1000)
            gauge("distill_stage_latency_seconds", labels + [("quantile", "0.99")], stage.latencyP99Milliseconds / 1000)
            for (name, value) in stage.metrics.sorted(by: { $0.key < $1.key }) {
                gauge("distill_stage_value", labels + [("name", name)], value)
            }
        }
        for edge in snapshot.edges {
            let labels = [("edge", edge.name)]
            gauge("distill_edge_depth", labels, Double(edge.depth))
            gauge("distill_edge_depth_bytes", labels, Double(edge.depthBytes))
            gauge("distill_edge_capacity", labels + [("unit", edge.unit)], Double(edge.capacity))
            total("distill_edge_items_total", labels, edge.items)
            total("distill_edge_bytes_total", labels, edge.bytes)
        }
        gauge("distill_run_elapsed_seconds", [], snapshot.elapsedSeconds)
        return String(decoding: registry.emitToBuffer(), as: UTF8.self)
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        Gauge(label: name, dimensions: labels, factory: factory).record(value)
    }

    private func total(_ name: String, _ labels: [(String, String)], _ value: Int) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = exported.withLock { exported -> Int in
            let delta = value - exported[key, default: 0]
            if delta > 0 { exported[key] = value }
            return delta
        }
        let counter = Counter(label: name, dimensions: labels, factory: factory)
        if delta > 0 { counter.increment(by: delta) }
    }
}
