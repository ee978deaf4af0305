import Synchronization

/// A stage replica's view of one output port.
///
/// ```swift
/// let crops = try context.outbox(Self.crops)
/// try await crops.send(batch)     // waits while the edge is full (backpressure)
/// ```
/// With several edges from the port (fan-out), each item goes to every consumer still running, and the
/// slowest sets the pace. `send` throws ``DownstreamClosed`` once no consumer is left; letting it escape
/// from `run` stops the stage normally.
public final class Outbox<Item: Sendable>: Sendable {
    /// The port name.
    public let port: String
    private let senders: [EdgeSender]
    private let open: Mutex<[Bool]>
    private let clock: ReplicaClock
    /// Internal outboxes (ordered pools) count items but leave blocked time and latency to the workers.
    private let accountsTime: Bool

    init(port: String, senders: [EdgeSender], clock: ReplicaClock, accountsTime: Bool = true) {
        self.port = port
        self.senders = senders
        self.open = Mutex(Array(repeating: true, count: senders.count))
        self.clock = clock
        self.accountsTime = accountsTime
    }

    /// Sends one item to every running consumer of the port.
    /// - Throws: ``DownstreamClosed`` when all consumers have stopped; `CancellationError` when the run
    ///   is stopping.
    public func send(_ item: Item) async throws {
        let start = MonotonicClock.now()
        if accountsTime { clock.activity.set(.sending, at: start) }
        var delivered = false
        var cancelled = false
        var blocked: UInt64 = 0
        for (index, sender) in senders.enumerated() where open.withLock({ $0[index] }) {
            do {
                blocked += try await sender.send(item)
                delivered = true
            } catch is DownstreamClosed {
                open.withLock { $0[index] = false }
            } catch is SendCancelled {
                delivered = true
                cancelled = true
                break
            }
        }
        guard delivered else { throw DownstreamClosed(edge: senders.first?.edge.configuration.name ?? port) }
        clock.counters.didSend()
        if cancelled { throw CancellationError() }
        guard accountsTime else { return }
        let end = MonotonicClock.now()
        clock.addBlocked(blocked)
        clock.activity.set(.working, at: end)
        if clock.measuresOnSend { clock.mark(at: end) }
    }

    /// Ends the port's streams, normally or with an error delivered after the buffered items.
    func finish(throwing error: (any Error)? = nil) {
        for sender in senders { sender.finish(throwing: error) }
    }
}
