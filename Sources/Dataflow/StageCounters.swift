import Histogram
import Synchronization

/// What a replica is doing now, for hang reports and the monitor.
public enum ReplicaPhase: Int, Sendable, Codable, CustomStringConvertible {
    case starting = 0
    /// Waiting for an input item.
    case receiving = 1
    /// Running stage code.
    case working = 2
    /// Waiting for room on an output edge.
    case sending = 3
    case finished = 4

    public var description: String {
        switch self {
        case .starting: return "starting"
        case .receiving: return "waiting for input"
        case .working: return "working"
        case .sending: return "waiting to send"
        case .finished: return "finished"
        }
    }
}

/// Live counters of one stage, shared by its replicas and read by the stats collector.
///
/// Busy time is wall time of the running replicas minus time spent waiting for input (starved) and
/// for room on outputs (blocked). Latency is the busy time per item: between two receives for stages
/// with inputs, between two sends for sources (HdrHistogram, µs resolution, 3 significant digits).
public final class StageCounters: Sendable {
    public let replicas: Int
    private let itemsIn = Atomic<Int>(0)
    private let itemsOut = Atomic<Int>(0)
    private let errors = Atomic<Int>(0)
    private let starvedNanoseconds = Atomic<UInt64>(0)
    private let blockedNanoseconds = Atomic<UInt64>(0)
    private let latency = Mutex(Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three))
    let activity: [ReplicaActivity]

    init(replicas: Int) {
        self.replicas = replicas
        self.activity = (0..<replicas).map { _ in ReplicaActivity() }
    }

    func didReceive() { itemsIn.add(1, ordering: .relaxed) }
    func didSend() { itemsOut.add(1, ordering: .relaxed) }
    func addStarved(_ nanoseconds: UInt64) { starvedNanoseconds.add(nanoseconds, ordering: .relaxed) }
    func addBlocked(_ nanoseconds: UInt64) { blockedNanoseconds.add(nanoseconds, ordering: .relaxed) }
    func recordLatency(nanoseconds: UInt64) {
        let micros = max(1, nanoseconds / 1000)
        _ = latency.withLock { $0.record(micros) }
    }
    /// Counts a failed replica or an item error the stage survived.
    func didFail() { errors.add(1, ordering: .relaxed) }

    /// Reads the counters now.
    public func read() -> StageReading { read(now: MonotonicClock.now()) }

    /// Reads the counters; `now` is the monotonic time in ns used for running replicas' wall time.
    func read(now: UInt64) -> StageReading {
        let (p50, p99, count) = latency.withLock { h in
            (h.totalCount == 0 ? 0 : Double(h.valueAtPercentile(50)) / 1e6,
             h.totalCount == 0 ? 0 : Double(h.valueAtPercentile(99)) / 1e6, Int(h.totalCount))
        }
        let wall = activity.reduce(0.0) { $0 + $1.wallSeconds(now: now) }
        return StageReading(
            itemsIn: itemsIn.load(ordering: .relaxed), itemsOut: itemsOut.load(ordering: .relaxed),
            errors: errors.load(ordering: .relaxed), wallSeconds: wall,
            starvedSeconds: Double(starvedNanoseconds.load(ordering: .relaxed)) / 1e9,
            blockedSeconds: Double(blockedNanoseconds.load(ordering: .relaxed)) / 1e9,
            latencyP50Seconds: p50, latencyP99Seconds: p99, latencySamples: count,
            phases: activity.map { $0.phase })
    }
}

/// One reading of ``StageCounters``. Times are summed over replicas.
public struct StageReading: Sendable {
    public var itemsIn: Int
    public var itemsOut: Int
    public var errors: Int
    /// Wall time the replicas have been running, seconds, summed over replicas.
    public var wallSeconds: Double
    public var starvedSeconds: Double
    public var blockedSeconds: Double
    public var latencyP50Seconds: Double
    public var latencyP99Seconds: Double
    public var latencySamples: Int
    public var phases: [ReplicaPhase]

    /// Wall time neither starved nor blocked.
    public var busySeconds: Double { max(0, wallSeconds - starvedSeconds - blockedSeconds) }
}

/// Start/end time and current phase of one replica.
final class ReplicaActivity: Sendable {
    private let started = Atomic<UInt64>(0)
    private let ended = Atomic<UInt64>(0)
    private let phaseRaw = Atomic<Int>(ReplicaPhase.starting.rawValue)
    private let phaseSince = Atomic<UInt64>(0)

    var phase: ReplicaPhase { ReplicaPhase(rawValue: phaseRaw.load(ordering: .relaxed)) ?? .starting }
    /// Monotonic ns when the current phase began.
    var since: UInt64 { phaseSince.load(ordering: .relaxed) }

    func start() {
        let now = MonotonicClock.now()
        started.store(now, ordering: .relaxed)
        set(.working, at: now)
    }

    func end() {
        let now = MonotonicClock.now()
        ended.store(now, ordering: .relaxed)
        set(.finished, at: now)
    }

    func set(_ phase: ReplicaPhase, at now: UInt64 = MonotonicClock.now()) {
        phaseRaw.store(phase.rawValue, ordering: .relaxed)
        phaseSince.store(now, ordering: .relaxed)
    }

    func wallSeconds(now: UInt64) -> Double {
        let start = started.load(ordering: .relaxed)
        guard start != 0 else { return 0 }
        let end = ended.load(ordering: .relaxed)
        // `now` may have been sampled just before a replica stored its start: no time yet, not an underflow trap.
        let stop = end != 0 ? end : now
        return stop > start ? Double(stop - start) / 1e9 : 0
    }
}
