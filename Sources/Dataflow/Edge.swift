import AsyncAlgorithms
import Synchronization

/// What the runner needs to build an edge.
public struct EdgeConfiguration: Sendable {
    /// `producer.port->consumer.port`, as in snapshots and errors.
    public var name: String
    public var capacity: Capacity
    /// Number of producer replicas that will send into the edge.
    public var producers: Int
}

/// Thrown by a send when every consumer of the port has stopped. A stage that lets it escape from
/// `run` has stopped normally: its consumers no longer want items (DESIGN.md §2).
public struct DownstreamClosed: Error, CustomStringConvertible {
    /// The edge that was closed.
    public let edge: String
    public var description: String { "downstream of \(edge) has stopped" }
}

/// Delivered to a consumer after the buffered items when a producer of its edge failed.
public struct UpstreamFailed: Error, CustomStringConvertible {
    /// The failed producer stage.
    public let stage: String
    public let underlying: any Error
    public var description: String { "upstream stage '\(stage)' failed: \(underlying)" }
}

/// Type-erased edge, as the runner and the stats see it.
protocol AnyEdge: AnyObject, Sendable {
    var configuration: EdgeConfiguration { get }
    var counters: EdgeCounters { get }
    /// Closes the producer side for good once all senders are made; until then the edge cannot end.
    func sealProducers()
}

/// A bounded multi-producer, single-consumer channel between two stages.
///
/// Wraps swift-async-algorithms' `MultiProducerSingleConsumerAsyncChannel` (watermark backpressure) so
/// that stage code never handles its non-copyable halves (`swift-notes.md` §1.4):
///
/// - **Bound.** Items in the edge (sent and not yet received) stay ≤ the item capacity C. The channel
///   enqueues before it checks its watermark, so each of P producers may add one item beyond the high
///   mark (§1.3), and an item handed straight to a waiting consumer leaves the channel's count before
///   the consumer has it. The high mark is therefore C − P, and the validator requires C > P. A byte
///   capacity is a soft bound: at most one item per producer (and the one being handed over) beyond
///   it; an item larger than the capacity still passes, alone. Producers resume when the level falls
///   below half the high mark.
/// - **Closing.** The edge ends when every producer has finished (after its buffered items); a failed
///   producer ends it with ``UpstreamFailed`` after the buffered items; a consumer that stops makes
///   every later or waiting send throw ``DownstreamClosed``.
/// - **Counters.** Items and bytes in and out, depth high-water marks, producer blocked time and
///   consumer starved time (``EdgeCounters``).
final class Edge<Item: Sendable>: AnyEdge, @unchecked Sendable {
    typealias Channel = MultiProducerSingleConsumerAsyncChannel<Item, any Error>

    let configuration: EdgeConfiguration
    let counters: EdgeCounters
    let byteCount: (@Sendable (Item) -> Int)?
    // Safety: `primary` is guarded by its mutex; `channel` is taken exactly once by `makeReceiver`
    // under `receiverTaken`.
    private let primary: Mutex<Channel.Source?>
    private let receiverState: Mutex<Channel?>

    init(configuration: EdgeConfiguration, byteCount: (@Sendable (Item) -> Int)?) {
        self.configuration = configuration
        self.byteCount = byteCount
        self.counters = EdgeCounters(capacity: configuration.capacity)
        let strategy: Channel.Source.BackpressureStrategy
        switch configuration.capacity {
        case .items(let capacity):
            let high = max(1, capacity - configuration.producers)
            strategy = .watermark(low: max(1, high / 2), high: high)
        case .bytes(let capacity):
            let measure = byteCount ?? { _ in 1 }
            strategy = .watermark(low: max(1, capacity / 2), high: max(1, capacity),
                                  waterLevelForElement: { measure($0) })
        }
        var pair = Channel.makeChannel(of: Item.self, throwing: (any Error).self, backpressureStrategy: strategy)
        let channel = pair.takeChannel()
        self.receiverState = Mutex(channel)
        self.primary = Mutex(consume pair.source)
    }

    /// A new producer handle; call once per producer replica before ``sealProducers()``.
    func makeSender() -> EdgeSender<Item> {
        let source = primary.withLock { primary -> Channel.Source? in
            guard primary != nil else { return nil }
            return primary!.makeAdditionalSource()
        }
        return EdgeSender(edge: self, source: source)
    }

    func sealProducers() {
        primary.withLock { $0 = nil }
    }

    /// The consumer handle; the single consumer takes it once.
    func makeReceiver() -> EdgeReceiver<Item> {
        let channel = receiverState.withLock { $0.take() }
        return EdgeReceiver(edge: self, channel: channel)
    }
}

/// One producer's handle on an edge. Sendable; used by one task at a time.
final class EdgeSender<Item: Sendable>: Sendable {
    private enum Outcome {
        case sent
        case wait(Edge<Item>.Channel.Source.SendResult.CallbackHandle)
    }

    let edge: Edge<Item>
    private let source: Mutex<Edge<Item>.Channel.Source?>

    init(edge: Edge<Item>, source: consuming sending Edge<Item>.Channel.Source?) {
        self.edge = edge
        self.source = Mutex(source)
    }

    /// Sends one item, waiting while the edge is full.
    /// - Returns: nanoseconds spent waiting for room.
    /// - Throws: ``DownstreamClosed`` when the consumer stopped, `CancellationError` when the task was
    ///   cancelled while waiting.
    @discardableResult
    func send(_ item: Item) async throws -> UInt64 {
        let bytes = edge.byteCount?(item) ?? 0
        edge.counters.willSend(bytes: bytes)
        let outcome: Outcome
        do {
            outcome = try source.withLock { source throws -> Outcome in
                guard source != nil else { throw DownstreamClosed(edge: edge.configuration.name) }
                switch try source!.send(item) {
                case .produceMore: return .sent
                case .enqueueCallback(let handle): return .wait(handle)
                }
            }
        } catch is MultiProducerSingleConsumerAsyncChannelAlreadyFinishedError {
            edge.counters.didNotSend(bytes: bytes)
            throw DownstreamClosed(edge: edge.configuration.name)
        } catch {
            edge.counters.didNotSend(bytes: bytes)
            throw error
        }
        guard case .wait(let handle) = outcome else { return 0 }
        let start = MonotonicClock.now()
        defer { edge.counters.addBlocked(nanoseconds: MonotonicClock.now() - start) }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    var handle = handle
                    handle.enqueueCallback { continuation.resume(with: $0) }
                }
            } onCancel: {
                var handle = handle
                handle.cancelCallback()
            }
        } catch is MultiProducerSingleConsumerAsyncChannelAlreadyFinishedError {
            throw DownstreamClosed(edge: edge.configuration.name)
        }
        return MonotonicClock.now() - start
    }

    /// Ends this producer's stream: normally (the edge ends once all producers did), or with an error
    /// that the consumer sees after the buffered items.
    func finish(throwing error: (any Error)? = nil) {
        source.withLock { source in
            guard let error else {
                source = nil
                return
            }
            source.take()?.finish(throwing: error)
        }
    }
}

/// The consumer's handle on an edge. Used by exactly one task.
final class EdgeReceiver<Item: Sendable>: @unchecked Sendable {
    // Safety: only the consuming task touches `channel` (the runner hands each receiver to one task and
    // closes it from that task after the stage returned).
    private var channel: Edge<Item>.Channel?
    let edge: Edge<Item>

    init(edge: Edge<Item>, channel: consuming sending Edge<Item>.Channel?) {
        self.edge = edge
        self.channel = channel
    }

    /// The next item, or nil at the end of the stream, after ``close()`` or when the task is cancelled.
    /// - Throws: the error a producer finished with (after the buffered items).
    func next() async throws -> Item? {
        guard channel != nil else { return nil }
        let start = MonotonicClock.now()
        let item = try await channel!.next()
        edge.counters.addStarved(nanoseconds: MonotonicClock.now() - start)
        if let item { edge.counters.didReceive(bytes: edge.byteCount?(item) ?? 0) }
        return item
    }

    /// Stops consuming: buffered items are dropped (and uncounted) and producers' sends throw
    /// ``DownstreamClosed``.
    func close() {
        channel = nil
    }
}
