import Logging

/// What the runner hands a stage descriptor to start a stage.
struct StageLaunchSetup: Sendable {
    let node: StageNode
    /// The edge into each connected input port.
    let inputEdges: [String: Edge]
    /// The edges out of each connected output port.
    let outputEdges: [String: [Edge]]
    let counters: StageCounters
    let metrics: StageMetrics
    let logger: Logger
    let seed: UInt64
    let runDirectory: String?
    let resuming: Bool
}

/// How one task of a stage ended.
enum TaskEnd: Sendable {
    /// `run` returned, or stopped because its consumers had stopped.
    case completed
    /// Cancelled by the runner (drain or shutdown).
    case cancelled
    case failed(any Error)
}

/// One task the runner starts for a stage: a replica, or a helper of an ordered pool.
struct PlannedTask: Sendable {
    /// `stage`, `stage#2`, `stage/dispatch`.
    let label: String
    /// The replica it runs, for hang reports; nil for helpers.
    let replica: Int?
    /// Whether the runner cancels it to drain (sources).
    let isSource: Bool
    let body: @Sendable () async throws -> Void
    /// Called after the body ended, on its thread: ends outputs, closes inputs.
    let cleanup: @Sendable (TaskEnd) -> Void
}

/// The tasks of one stage and what to do once all have ended.
struct StagePlan: Sendable {
    var tasks: [PlannedTask]
    var contexts: [StageContext]
    var afterAll: @Sendable () -> Void
}

/// Builds the plan for an ordinary stage: one task per replica running `run(context)`.
enum StageLauncher {
    static func launch<S: Stage>(_ type: S.Type, _ setup: StageLaunchSetup) throws -> StagePlan {
        let node = setup.node
        let replicas = node.replicas
        let clocks = (0..<replicas).map {
            ReplicaClock(counters: setup.counters, replica: $0, measuresOnSend: S.inputs.isEmpty)
        }
        let inputs = S.inputs.compactMap { spec in
            setup.inputEdges[spec.name].map { (spec.name, spec.wireInput($0, clocks)) }
        }
        var tasks: [PlannedTask] = []
        var contexts: [StageContext] = []
        for replica in 0..<replicas {
            let outputs = S.outputs.compactMap { spec in
                setup.outputEdges[spec.name].map { (spec.name, spec.wireOutput($0, clocks[replica])) }
            }
            let context = StageContext(
                stageName: node.name, stageType: node.type, replica: replica, replicas: replicas,
                parameters: node.parameters, device: node.device, seed: setup.seed,
                runDirectory: setup.runDirectory, resuming: setup.resuming, logger: setup.logger, metrics: setup.metrics,
                counters: setup.counters,
                inboxes: Dictionary(uniqueKeysWithValues: inputs.map { ($0.0, $0.1.inboxes[replica]) }),
                outboxes: Dictionary(uniqueKeysWithValues: outputs.map { ($0.0, $0.1.outbox) }),
                finishers: outputs.map { $0.1.finish })
            let stage = try S(parameters: node.parameters)
            let closeInputs = inputs.map { $0.1.closeReplica[replica] }
            let clock = clocks[replica]
            contexts.append(context)
            tasks.append(PlannedTask(
                label: replicas > 1 ? "\(node.name)#\(replica)" : node.name, replica: replica,
                isSource: S.inputs.isEmpty,
                body: {
                    clock.begin(at: MonotonicClock.now())
                    try await stage.run(context)
                },
                cleanup: { end in
                    if case .failed(let error) = end {
                        context.finishOutputs(throwing: UpstreamFailed(stage: node.name, underlying: error))
                    } else {
                        context.finishOutputs(throwing: nil)
                    }
                    for close in closeInputs { close() }
                }))
        }
        return StagePlan(tasks: tasks, contexts: contexts, afterAll: { for (_, wiring) in inputs { wiring.closeAll() } })
    }
}
