import Logging
import Synchronization

/// What a stage replica gets from the engine: its ports, parameters, logger, metrics and run settings.
public final class StageContext: Sendable {
    /// The stage's name in the graph file.
    public let stageName: String
    /// The registered type name (`map`, `slide-reader`…).
    public let stageType: String
    /// This replica's index, `0..<replicas`.
    public let replica: Int
    /// Number of replicas of the stage.
    public let replicas: Int
    public let parameters: StageParameters
    /// `device:` from the graph file (`cpu` by default).
    public let device: String
    /// The run's seed (`run.seed`); derive per-sample randomness from it, never from the clock.
    public let seed: UInt64
    /// The run directory (checkpoints, reports), or nil in harnesses without one.
    public let runDirectory: String?
    /// True when this run continues an earlier one in the same run directory (`distill run --resume RUN_DIR`):
    /// stages that checkpoint restore their state from `runDirectory` instead of starting afresh.
    public let isResuming: Bool
    /// Logger with `stage` and `replica` metadata; lines go to the console and `run.log`.
    public let logger: Logger
    /// Stage-defined metrics, shared by the replicas.
    public let metrics: StageMetrics
    let inboxes: [String: any Sendable]
    let outboxes: [String: any Sendable]
    let finishers: [@Sendable ((any Error)?) -> Void]
    private let counters: StageCounters
    private let draining: Atomic<Bool>

    init(
        stageName: String, stageType: String, replica: Int, replicas: Int, parameters: StageParameters,
        device: String, seed: UInt64, runDirectory: String?, resuming: Bool = false, logger: Logger, metrics: StageMetrics,
        counters: StageCounters, inboxes: [String: any Sendable], outboxes: [String: any Sendable],
        finishers: [@Sendable ((any Error)?) -> Void]
    ) {
        self.stageName = stageName
        self.stageType = stageType
        self.replica = replica
        self.replicas = replicas
        self.parameters = parameters
        self.device = device
        self.seed = seed
        self.runDirectory = runDirectory
        self.isResuming = resuming
        var logger = logger
        logger[metadataKey: "stage"] = "\(stageName)"
        if replicas > 1 { logger[metadataKey: "replica"] = "\(replica)" }
        self.logger = logger
        self.metrics = metrics
        self.inboxes = inboxes
        self.outboxes = outboxes
        self.finishers = finishers
        self.counters = counters
        self.draining = Atomic(false)
    }

    /// The inbox of a declared input port.
    /// - Throws: ``PortError`` when the stage did not declare the port with this item type.
    public func inbox<Item>(_ port: InputPort<Item>) throws -> Inbox<Item> {
        guard let inbox = inboxes[port.name] as? Inbox<Item> else {
            throw PortError(stage: stageName, port: port.name, type: String(describing: Item.self))
        }
        return inbox
    }

    /// The outbox of a declared output port.
    /// - Throws: ``PortError`` when the stage did not declare the port with this item type.
    public func outbox<Item>(_ port: OutputPort<Item>) throws -> Outbox<Item> {
        guard let outbox = outboxes[port.name] as? Outbox<Item> else {
            throw PortError(stage: stageName, port: port.name, type: String(describing: Item.self))
        }
        return outbox
    }

    /// Records an error that the stage survived (a tile that failed to decode, a corrupt record it
    /// skipped): counted in the stage's `errors` stat and logged as a warning with `message`, which
    /// should name the file and item (slide and coordinates, shard and tile index).
    public func recordItemError(_ message: String) {
        counters.didFail()
        logger.warning("\(message)")
    }

    /// True once the run was asked to stop cleanly (SIGINT/SIGTERM): sources are being stopped and the
    /// rest of the graph drains what is in flight. End-of-run checks (expected counts) should not fire.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// Ends every output stream (with `error`, or normally).
    func finishOutputs(throwing error: (any Error)?) {
        for finish in finishers { finish(error) }
    }
}

/// A stage asked for a port it did not declare, or with another item type.
public struct PortError: Error, CustomStringConvertible {
    public let stage: String
    public let port: String
    public let type: String
    public var description: String {
        "stage '\(stage)' has no port '\(port)' carrying \(type) (check the stage's inputs/outputs declarations)"
    }
}
