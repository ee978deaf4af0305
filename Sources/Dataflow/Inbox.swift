/// A stage replica's view of one input port: an async sequence of items that ends when every producer
/// has finished.
///
/// ```swift
/// let tiles = try context.inbox(Self.tiles)
/// for try await tile in tiles { … }
/// ```
/// Iterating throws ``UpstreamFailed`` (after the buffered items) when a producer failed. Each replica
/// has its own inbox; with `replicas: N` the engine deals the port's items to whichever replica asks
/// first, so every item reaches exactly one replica.
public final class Inbox<Item: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    public typealias Failure = any Error

    /// The port name.
    public let port: String
    private let source: any ItemSource
    private let clock: ReplicaClock

    init(port: String, source: any ItemSource, clock: ReplicaClock) {
        self.port = port
        self.source = source
        self.clock = clock
    }

    /// The next item, or nil at the end of the stream (or when the task is cancelled).
    /// - Throws: ``UpstreamFailed`` when a producer failed.
    public func next() async throws -> Item? {
        let start = MonotonicClock.now()
        clock.activity.set(.receiving, at: start)
        let item = try await source.next().map { $0 as! Item }  // port types are checked before a run
        let end = MonotonicClock.now()
        clock.addStarved(end - start)
        clock.activity.set(.working, at: end)
        if item != nil {
            clock.counters.didReceive()
            clock.mark(at: end)
        }
        return item
    }

    /// Iterates the inbox; `next()` as ``Inbox/next()``.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let inbox: Inbox<Item>
        public mutating func next() async throws -> Item? { try await inbox.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inbox: self) }
}

/// Where an inbox gets its items: an edge directly, or a hand-off shared by replicas.
protocol ItemSource: Sendable {
    func next() async throws -> (any Sendable)?
}

extension EdgeReceiver: ItemSource {}
