import AsyncAlgorithms
import Synchronization

/// What the runner needs to build an edge.
public struct EdgeConfiguration: Sendable {
    /// `producer.port->consumer.port`, as in snapshots and errors.
    public var name: String
    /// The bound: items, or payload bytes.
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

/// The task was cancelled while waiting for room after its item had entered the edge.
struct SendCancelled: Error {}

/// Delivered to a consumer after the buffered items when a producer of its edge failed.
public struct UpstreamFailed: Error, CustomStringConvertible {
    /// The failed producer stage.
    public let stage: String
    /// The error the producer failed with.
    public let underlying: any Error
    public var description: String { "upstream stage '\(stage)' failed: \(underlying)" }
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
///   every later send throw ``DownstreamClosed`` (a send already waiting for room returns: its item had
///   entered the edge).
/// - **Counters.** Items and bytes in and out, depth high-water marks, producer blocked time and
///   consumer starved time (``EdgeCounters``).
///
/// Items travel as `any Sendable`: the channel is then one concrete type that the compiler specialises
/// in this module, instead of generic code that looks up type metadata at run time on every send and
/// receive (that lookup was a third of the engine's CPU time per hop; docs/benchmarks.md). The typed
/// ``Inbox`` and ``Outbox`` wrap and unwrap items; ports are type-checked before a run starts.
final class Edge: @unchecked Sendable {
    typealias Channel = MultiProducerSingleConsumerAsyncChannel<any Sendable, any Error>

    let configuration: EdgeConfiguration
    let counters: EdgeCounters
    /// Payload size of an item, for byte capacities and byte counters; nil for items that are not
    /// ``ByteSized``.
    let byteCount: (@Sendable (any Sendable) -> Int)?
    // Safety: `primary` is guarded by its mutex; `channel` is taken exactly once by `makeReceiver`
    // under `receiverTaken`.
    private let primary: Mutex<Channel.Source?>
    private let receiverState: Mutex<Channel?>

    init(configuration: EdgeConfiguration, byteCount: (@Sendable (any Sendable) -> Int)?) {
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
        var pair = Channel.makeChannel(of: (any Sendable).self, throwing: (any Error).self, backpressureStrategy: strategy)
        let channel = pair.takeChannel()
        self.receiverState = Mutex(channel)
        self.primary = Mutex(consume pair.source)
    }

    /// A new producer handle; call once per producer replica before ``sealProducers()``.
    func makeSender() -> EdgeSender {
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
    func makeReceiver() -> EdgeReceiver {
        let channel = receiverState.withLock { $0.take() }
        return EdgeReceiver(edge: self, channel: channel)
    }
}

/// One producer's handle on an edge. Sendable; used by one task at a time.
final class EdgeSender: Sendable {
    private enum Outcome {
        case sent
        case wait(Edge.Channel.Source.SendResult.CallbackHandle)
    }

    let edge: Edge
    private let source: Mutex<Edge.Channel.Source?>
    /// The send waiting for room, if any, and whether ``finish(throwing:)`` has ended this producer: a send
    /// still waiting then returns (its item is in the edge) instead of waiting for a wake-up that the
    /// channel no longer delivers once every producer handle is gone (an orphan task left behind by a stage
    /// that returned, field case H5).
    private let waiting = Mutex<(handle: Edge.Channel.Source.SendResult.CallbackHandle?, ended: Bool)>((nil, false))

    init(edge: Edge, source: consuming sending Edge.Channel.Source?) {
        self.edge = edge
        self.source = Mutex(source)
    }

    /// Sends one item, then waits while the edge is full.
    /// - Returns: nanoseconds spent waiting for room.
    /// - Throws: ``DownstreamClosed`` when the consumer stopped (the item was not sent);
    ///   ``SendCancelled`` when the task was cancelled while waiting (the item *was* sent).
    @discardableResult
    func send(_ item: any Sendable) async throws -> UInt64 {
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
        let ended = waiting.withLock { state -> Bool in
            if !state.ended { state.handle = handle }
            return state.ended
        }
        if ended { return 0 }
        let start = MonotonicClock.now()
        defer {
            waiting.withLock { $0.handle = nil }
            edge.counters.addBlocked(nanoseconds: MonotonicClock.now() - start)
        }
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
            // The item was in the channel when the consumer went away: it counts as sent.
            return MonotonicClock.now() - start
        } catch is CancellationError {
            // Woken by `finish` (this producer ended while its item waited in the edge): sent.
            if waiting.withLock({ $0.ended }) { return MonotonicClock.now() - start }
            throw SendCancelled()
        }
        return MonotonicClock.now() - start
    }

    /// Ends this producer's stream: normally (the edge ends once all producers did), or with an error
    /// that the consumer sees after the buffered items.
    func finish(throwing error: (any Error)? = nil) {
        let pending = waiting.withLock { state -> Edge.Channel.Source.SendResult.CallbackHandle? in
            state.ended = true
            defer { state.handle = nil }
            return state.handle
        }
        if var pending { pending.cancelCallback() }
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
final class EdgeReceiver: @unchecked Sendable {
    // Safety: only the consuming task touches `channel` (the runner hands each receiver to one task and
    // closes it from that task after the stage returned).
    private var channel: Edge.Channel?
    let edge: Edge

    init(edge: Edge, channel: consuming sending Edge.Channel?) {
        self.edge = edge
        self.channel = channel
    }

    /// The next item, or nil at the end of the stream, after ``close()`` or when the task is cancelled.
    /// - Throws: the error a producer finished with (after the buffered items).
    func next() async throws -> (any Sendable)? {
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
