import Logging
import Synchronization

/// One execution of a validated graph: builds the edges and stage replicas, runs them, supervises them
/// and reports how the run ended (DESIGN.md §2, "Runner").
///
/// - **Start**: every edge is built before any stage starts; each replica runs in its own task on its
///   own ``StageThread``.
/// - **Completion**: the run completes when every task has returned.
/// - **Failure**: the first task that throws (anything but ``DownstreamClosed``) fails the run: every
///   task is cancelled, waits in `send`/`receive` end at once, and the result names that stage and
///   error. Stages still running after ``RunSettings/drainTimeout`` are reported as hung.
/// - **Drain** (``requestStop(_:)``, e.g. SIGINT): sources are cancelled and their outputs end
///   normally, so the rest of the graph processes what is in flight and ends; after the drain timeout
///   the remaining tasks are cancelled and, if still running a second later, reported by name.
///   A second stop request skips the drain.
public final class GraphRun: Sendable {
    /// The graph being run.
    public let graph: GraphSpec
    private let logger: Logger
    private let tasks: [PlannedTask]
    private let taskStages: [String]
    private let taskActivity: [ReplicaActivity?]
    private let taskCounters: [StageCounters]
    private let contexts: [StageContext]
    private let afterAll: [String: @Sendable () -> Void]
    private let sampler: StatsSampler
    private let state: Mutex<SupervisorState>
    private let events: AsyncStream<SupervisorEvent>
    private let eventSink: AsyncStream<SupervisorEvent>.Continuation

    /// A second signal (SIGINT/SIGTERM) within this many nanoseconds of the first (250 ms) is the same signal
    /// delivered twice, not a second Ctrl-C; a program's own `requestStop(.requested)` is never merged.
    static let repeatedStopInterval: UInt64 = 250_000_000

    /// Builds the run: makes every stage replica (``Stage/init(parameters:)``) and edge. Nothing runs yet.
    /// - Parameters:
    ///   - graph: a graph validated against `registry`.
    ///   - runID: name of the run directory, reported in snapshots.
    ///   - runDirectory: where stages write outputs, or nil.
    ///   - resuming: the run continues an earlier one in `runDirectory` (``StageContext/isResuming``).
    /// - Throws: an error from a stage initialiser.
    public init(
        graph: GraphSpec, registry: StageRegistry, runID: String = "", runDirectory: String? = nil, resuming: Bool = false,
        logger: Logger = Logger(label: "distill")
    ) throws {
        self.graph = graph
        self.logger = logger
        var edgesByConsumer: [PortReference: Edge] = [:]
        var edgesByProducer: [PortReference: [Edge]] = [:]
        var edgeEntries: [StatsSampler.EdgeEntry] = []
        for edgeNode in graph.edges {
            guard let producer = graph.stage(edgeNode.from.stage), let consumer = graph.stage(edgeNode.to.stage),
                  let fromSpec = registry.descriptor(producer.type)?.output(edgeNode.from.port),
                  let toSpec = registry.descriptor(consumer.type)?.input(edgeNode.to.port)
            else { preconditionFailure("graph was not validated against this registry: \(edgeNode.name)") }
            let producers = producer.ordered && producer.replicas > 1 ? 1 : producer.replicas
            let spec = fromSpec.isByteSized ? fromSpec : toSpec
            let edge = spec.makeEdge(EdgeConfiguration(name: edgeNode.name, capacity: edgeNode.capacity, producers: producers))
            edgesByConsumer[edgeNode.to] = edge
            edgesByProducer[edgeNode.from, default: []].append(edge)
            edgeEntries.append(.init(node: edgeNode, counters: edge.counters))
        }
        var tasks: [PlannedTask] = []
        var taskStages: [String] = []
        var taskActivity: [ReplicaActivity?] = []
        var taskCounters: [StageCounters] = []
        var contexts: [StageContext] = []
        var afterAll: [String: @Sendable () -> Void] = [:]
        var stageEntries: [StatsSampler.StageEntry] = []
        for node in graph.stages {
            guard let descriptor = registry.descriptor(node.type) else {
                preconditionFailure("graph was not validated against this registry: \(node.type)")
            }
            let counters = StageCounters(replicas: node.replicas)
            let metrics = StageMetrics()
            let setup = StageLaunchSetup(
                node: node,
                inputEdges: Dictionary(uniqueKeysWithValues: descriptor.inputs.compactMap { port in
                    edgesByConsumer[PortReference(stage: node.name, port: port.name)].map { (port.name, $0) }
                }),
                outputEdges: Dictionary(uniqueKeysWithValues: descriptor.outputs.compactMap { port in
                    edgesByProducer[PortReference(stage: node.name, port: port.name)].map { (port.name, $0) }
                }),
                counters: counters, metrics: metrics, logger: logger, seed: graph.run.seed,
                runDirectory: runDirectory, resuming: resuming)
            let plan = try descriptor.launch(setup)
            tasks += plan.tasks
            taskStages += plan.tasks.map { _ in node.name }
            taskActivity += plan.tasks.map { $0.replica.map { counters.activity[$0] } }
            taskCounters += plan.tasks.map { _ in counters }
            contexts += plan.contexts
            afterAll[node.name] = plan.afterAll
            stageEntries.append(.init(node: node, counters: counters, metrics: metrics))
        }
        for entry in edgesByConsumer.values { entry.sealProducers() }
        self.tasks = tasks
        self.taskStages = taskStages
        self.taskActivity = taskActivity
        self.taskCounters = taskCounters
        self.contexts = contexts
        self.afterAll = afterAll
        self.sampler = StatsSampler(graph: graph.name, runID: runID, stages: stageEntries, edges: edgeEntries)
        var remaining: [String: Int] = [:]
        for stage in taskStages { remaining[stage, default: 0] += 1 }
        self.state = Mutex(SupervisorState(remainingPerStage: remaining))
        (self.events, self.eventSink) = AsyncStream.makeStream(of: SupervisorEvent.self)
    }

    /// Runs the graph to its end (see the type's documentation for how runs end). Call once.
    public func run() async -> RunResult {
        let handles = Mutex<[Task<Void, Never>?]>(Array(repeating: nil, count: tasks.count))
        for (index, planned) in tasks.enumerated() {
            let thread = StageThread(name: planned.label)
            let activity = taskActivity[index]
            let counters = taskCounters[index]
            activity?.start()
            let task = Task(executorPreference: thread) { [self] in
                let end: TaskEnd
                do {
                    try await planned.body()
                    end = .completed
                } catch is DownstreamClosed {
                    end = .completed
                } catch {
                    if Task.isCancelled, state.withLock({ $0.cancelled.contains(index) }) {
                        end = .cancelled
                    } else {
                        end = .failed(error)
                    }
                }
                if case .failed(let error) = end {
                    counters.didFail()
                    eventSink.yield(.failed(task: index, error: error))
                }
                planned.cleanup(end)
                activity?.end()
                eventSink.yield(.finished(task: index))
                thread.shutdown()
            }
            handles.withLock { $0[index] = task }
        }
        if tasks.isEmpty { eventSink.yield(.deadline) }

        var outcome: RunOutcome = .completed
        var hung: [HungTask] = []
        var drainCutShort = false
        var drainStarted: UInt64 = 0
        var phase = SupervisorPhase.running
        var deadlineTask: Task<Void, Never>?
        func cancel(_ indices: [Int]) {
            state.withLock { $0.cancelled.formUnion(indices) }
            let running = handles.withLock { list in indices.compactMap { list[$0] } }
            for task in running { task.cancel() }
        }
        func armDeadline(after seconds: Double) {
            deadlineTask?.cancel()
            deadlineTask = Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled { eventSink.yield(.deadline) }
            }
        }
        func unfinished() -> [Int] {
            state.withLock { state in (0..<tasks.count).filter { !state.finished.contains($0) } }
        }

        eventLoop: for await event in events {
            switch event {
            case .finished(let index):
                let stageDone = state.withLock { state -> Bool in
                    state.finished.insert(index)
                    state.remainingPerStage[taskStages[index], default: 1] -= 1
                    return state.remainingPerStage[taskStages[index]] == 0
                }
                if stageDone { afterAll[taskStages[index]]?() }
                if unfinished().isEmpty { break eventLoop }
            case .failed(let index, let error):
                if case .failed = outcome { continue }
                outcome = .failed(stage: tasks[index].label, message: String(describing: error))
                logger.error("stage '\(tasks[index].label)' failed: \(error)")
                phase = .stopping
                cancel(unfinished())
                armDeadline(after: graph.run.drainTimeout)
            case .stop(let request):
                switch phase {
                case .running:
                    if case .completed = outcome { outcome = .stopped(request) }
                    phase = .draining
                    drainStarted = MonotonicClock.now()
                    logger.notice("\(request): draining (sources stop, in-flight items finish; again to stop at once)")
                    for context in contexts { context.beginDraining() }
                    cancel(unfinished().filter { tasks[$0].isSource })
                    armDeadline(after: graph.run.drainTimeout)
                case .draining:
                    // The same signal delivered twice at once (GNU timeout signals the child and then its process
                    // group; a wrapper may forward it too) is one request: a person's second Ctrl-C comes later.
                    if request != .requested, MonotonicClock.now() - drainStarted < Self.repeatedStopInterval { continue }
                    phase = .stopping
                    drainCutShort = true
                    logger.notice("\(request) again: stopping now")
                    cancel(unfinished())
                    armDeadline(after: 1)
                case .stopping, .givingUp:
                    continue
                }
            case .deadline:
                if tasks.isEmpty { break eventLoop }
                switch phase {
                case .running:
                    continue
                case .draining:
                    phase = .stopping
                    drainCutShort = true
                    logger.warning("drain timeout (\(graph.run.drainTimeout) s) passed: cancelling every stage")
                    cancel(unfinished())
                    armDeadline(after: 1)
                case .stopping, .givingUp:
                    phase = .givingUp
                    let now = MonotonicClock.now()
                    hung = unfinished().map { index in
                        let activity = taskActivity[index]
                        return HungTask(
                            label: tasks[index].label, stage: taskStages[index], phase: activity?.phase,
                            secondsInPhase: activity.map { Double(now - $0.since) / 1e9 } ?? 0)
                    }
                    for task in hung { logger.error("stage \(task)") }
                    break eventLoop
                }
            }
        }
        deadlineTask?.cancel()
        eventSink.finish()
        let finalState: String
        switch outcome {
        case .completed: finalState = "completed"
        case .failed: finalState = "failed"
        case .stopped: finalState = "stopped"
        }
        state.withLock { $0.final = finalState }
        var result = RunResult(outcome: outcome, hung: hung, snapshot: sampler.tick(state: finalState))
        result.drainCutShort = drainCutShort
        return result
    }

    /// Asks the run to drain (first call) or to stop at once (second call). Safe from any thread.
    public func requestStop(_ request: StopRequest) {
        state.withLock { $0.stopRequested = true }
        eventSink.yield(.stop(request))
    }

    /// A snapshot whose rates cover the time since the previous ``tick()``, starting a new window.
    /// The stats recorder calls it once per stats interval.
    public func tick() -> GraphSnapshot { sampler.tick(state: currentState) }

    /// A snapshot whose rates cover the time since the last ``tick()``; does not start a new window.
    public func snapshot() -> GraphSnapshot { sampler.peek(state: currentState) }

    private var currentState: String {
        state.withLock { state in
            if let final = state.final { return final }
            return state.stopRequested ? "draining" : "running"
        }
    }
}

private enum SupervisorEvent: Sendable {
    case finished(task: Int)
    case failed(task: Int, error: any Error)
    case stop(StopRequest)
    case deadline
}

private enum SupervisorPhase {
    case running, draining, stopping, givingUp
}

private struct SupervisorState: Sendable {
    var remainingPerStage: [String: Int]
    var finished: Set<Int> = []
    var cancelled: Set<Int> = []
    var stopRequested = false
    var final: String?
}
