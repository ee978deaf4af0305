import AsyncAlgorithms
import Synchronization

/// Deals the items of one edge to the replicas of a stage (unordered worker pool): a dispatcher task
/// takes each item from the edge and hands it to whichever replica asks first, through a rendezvous
/// channel, so a slow replica never holds items that an idle one could take. At most one item per
/// replica plus one in the dispatcher are out of the edge at any time.
///
/// Lifecycle: the dispatcher ends the hand-off when the edge ends (or fails, passing the error on);
/// ``stop()`` (called when every replica has returned) releases a dispatcher waiting for a taker and
/// closes the edge, so the producers see ``DownstreamClosed``.
final class SharedInput: Sendable {
    private let handoff = AsyncThrowingChannel<any Sendable, any Error>()
    private let stopped = Atomic<Bool>(false)

    /// Starts the dispatcher task reading `receiver`.
    init(receiver: EdgeReceiver) {
        let handoff = self.handoff
        Task { [self] in
            do {
                while !stopped.load(ordering: .relaxed), let item = try await receiver.next() {
                    await handoff.send(item)
                }
                handoff.finish()
            } catch {
                handoff.fail(error)
            }
            receiver.close()
        }
    }

    /// A per-replica reader of the hand-off.
    func makeReader() -> SharedInputReader {
        SharedInputReader(iterator: handoff.makeAsyncIterator())
    }

    /// Called once every replica has returned: the dispatcher stops and the edge is closed.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        handoff.finish()
    }
}

/// One replica's reader of a ``SharedInput``.
final class SharedInputReader: ItemSource, @unchecked Sendable {
    // Safety: used only by the replica's own task, like an edge receiver.
    private var iterator: AsyncThrowingChannel<any Sendable, any Error>.Iterator

    init(iterator: AsyncThrowingChannel<any Sendable, any Error>.Iterator) {
        self.iterator = iterator
    }

    func next() async throws -> (any Sendable)? {
        try await iterator.next()
    }
}
