import Synchronization

/// Stage-defined metrics (loss, learning rate, teacher temperature, tiles skipped…), shared by the
/// replicas of a stage and published with the engine's own stats: in `/stats` and `metrics.jsonl` under
/// the stage, and on `/metrics` as `distill_stage_value{stage="…",name="…"}`.
///
/// Names should be snake_case (`loss`, `lr`, `images_per_second`).
public final class StageMetrics: Sendable {
    private let values = Mutex<[String: Double]>([:])

    init() {}

    /// Sets a gauge (last value wins): `context.metrics.set("loss", 2.31)`.
    public func set(_ name: String, _ value: Double) {
        values.withLock { $0[name] = value }
    }

    /// Adds to a counter: `context.metrics.add("tiles_skipped", 1)`.
    public func add(_ name: String, _ amount: Double = 1) {
        values.withLock { $0[name, default: 0] += amount }
    }

    /// Current values by name.
    public func read() -> [String: Double] {
        values.withLock { $0 }
    }
}
