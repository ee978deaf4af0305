import Synchronization

/// Live counters of one edge, updated with relaxed atomics by its producers and consumer and read by
/// the stats collector. All counts are totals since the edge was made.
public final class EdgeCounters: Sendable {
    /// The edge's bound.
    public let capacity: Capacity
    private let itemsIn = Atomic<Int>(0)
    private let itemsOut = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let maxItems = Atomic<Int>(0)
    private let maxBytes = Atomic<Int>(0)
    private let blockedNanoseconds = Atomic<UInt64>(0)
    private let starvedNanoseconds = Atomic<UInt64>(0)

    init(capacity: Capacity) {
        self.capacity = capacity
    }

    /// Counted before the item enters the channel, so depth never under-reports what is in flight.
    func willSend(bytes: Int) {
        let depth = itemsIn.add(1, ordering: .relaxed).newValue - itemsOut.load(ordering: .relaxed)
        let byteDepth = bytesIn.add(bytes, ordering: .relaxed).newValue - bytesOut.load(ordering: .relaxed)
        Self.raise(maxItems, to: depth)
        Self.raise(maxBytes, to: byteDepth)
    }

    /// Undoes ``willSend(bytes:)`` for an item the channel refused.
    func didNotSend(bytes: Int) {
        itemsIn.subtract(1, ordering: .relaxed)
        bytesIn.subtract(bytes, ordering: .relaxed)
    }

    func didReceive(bytes: Int) {
        itemsOut.add(1, ordering: .relaxed)
        bytesOut.add(bytes, ordering: .relaxed)
    }

    func addBlocked(nanoseconds: UInt64) { blockedNanoseconds.add(nanoseconds, ordering: .relaxed) }
    func addStarved(nanoseconds: UInt64) { starvedNanoseconds.add(nanoseconds, ordering: .relaxed) }

    private static func raise(_ atomic: borrowing Atomic<Int>, to value: Int) {
        var current = atomic.load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = atomic.compareExchange(
                expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// A consistent-enough reading of the counters (each value is read atomically; the set is not).
    public func read() -> EdgeReading {
        let outItems = itemsOut.load(ordering: .relaxed)
        let outBytes = bytesOut.load(ordering: .relaxed)
        let inItems = itemsIn.load(ordering: .relaxed)
        let inBytes = bytesIn.load(ordering: .relaxed)
        return EdgeReading(
            itemsIn: inItems, itemsOut: outItems, bytesIn: inBytes, bytesOut: outBytes,
            maxDepth: maxItems.load(ordering: .relaxed), maxDepthBytes: maxBytes.load(ordering: .relaxed),
            blockedSeconds: Double(blockedNanoseconds.load(ordering: .relaxed)) / 1e9,
            starvedSeconds: Double(starvedNanoseconds.load(ordering: .relaxed)) / 1e9)
    }
}

/// One reading of ``EdgeCounters``.
public struct EdgeReading: Sendable, Equatable {
    /// Items producers have sent (including ones waiting to enter a full channel).
    public var itemsIn: Int
    /// Items the consumer has received.
    public var itemsOut: Int
    public var bytesIn: Int
    public var bytesOut: Int
    /// Highest number of items in the edge at any time.
    public var maxDepth: Int
    /// Highest number of payload bytes in the edge at any time.
    public var maxDepthBytes: Int
    /// Total time producers spent waiting for room (backpressure), seconds, summed over producers.
    public var blockedSeconds: Double
    /// Total time the consumer spent waiting for an item, seconds.
    public var starvedSeconds: Double

    /// Items in the edge now.
    public var depth: Int { max(0, itemsIn - itemsOut) }
    /// Payload bytes in the edge now.
    public var depthBytes: Int { max(0, bytesIn - bytesOut) }
}
