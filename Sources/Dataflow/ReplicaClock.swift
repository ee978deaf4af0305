import Synchronization

/// Per-replica bookkeeping that turns receive and send times into per-item latency (busy time per
/// item, blocked time excluded) for ``StageCounters``.
final class ReplicaClock: Sendable {
    let counters: StageCounters
    let activity: ReplicaActivity
    /// Sources have no input: their latency is measured between sends instead of between receives.
    let measuresOnSend: Bool
    private let lastMark = Atomic<UInt64>(0)
    private let blockedSinceMark = Atomic<UInt64>(0)

    init(counters: StageCounters, replica: Int, measuresOnSend: Bool) {
        self.counters = counters
        self.activity = counters.activity[replica]
        self.measuresOnSend = measuresOnSend
    }

    /// Records the busy time since the previous mark as one item's latency and starts a new interval.
    func mark(at now: UInt64) {
        let last = lastMark.exchange(now, ordering: .relaxed)
        let blocked = blockedSinceMark.exchange(0, ordering: .relaxed)
        if last != 0, now > last + blocked {
            counters.recordLatency(nanoseconds: now - last - blocked)
        }
    }

    /// Starts the first interval when the replica starts.
    func begin(at now: UInt64) {
        lastMark.store(now, ordering: .relaxed)
    }

    func addBlocked(_ nanoseconds: UInt64) {
        blockedSinceMark.add(nanoseconds, ordering: .relaxed)
        counters.addBlocked(nanoseconds)
    }

    /// Time waiting for input does not count as busy time of the next item.
    func addStarved(_ nanoseconds: UInt64) {
        blockedSinceMark.add(nanoseconds, ordering: .relaxed)
        counters.addStarved(nanoseconds)
    }
}
