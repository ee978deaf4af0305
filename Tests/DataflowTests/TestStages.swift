import Dataflow
import Dispatch
import Stages
import Synchronization

/// Stages used only by the tests.
enum TestStages {
    static var registry: StageRegistry {
        var registry = StageRegistry()
        registry.register(Expand.self, as: "test-expand")
        registry.register(ScrambleMap.self, as: "test-scramble")
        registry.register(FailingMap.self, as: "test-failing-map")
        registry.register(InstanceRecorder.self, as: "test-instances")
        registry.register(OrphanSource.self, as: "test-orphan-source")
        registry.register(MetricSink.self, as: "test-metric-sink")
        registry.register(BlockingMap.self, as: "test-blocking-map")
        registry.register(ReleasingSink.self, as: "test-releasing-sink")
        return registry
    }
}

/// One input item becomes `fan` output items (a slide becoming tiles): field case P4.
struct Expand: Stage {
    static let summary = "one item in, `fan` items out"
    static let input = InputPort<TestItem>("in")
    static let output = OutputPort<TestItem>("out")
    static var inputs: [PortSpec] { [input.spec] }
    static var outputs: [PortSpec] { [output.spec] }
    static let parameters = [ParameterSpec("fan", .integer(1...10_000_000), "outputs per input")]
    let fan: Int
    init(parameters: StageParameters) { fan = parameters.integer("fan") }

    func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let outbox = try context.outbox(Self.output)
        for try await item in inbox {
            for index in 0..<fan {
                try await outbox.send(TestItem(sequence: item.sequence * fan + index, producer: 0, size: 1024))
            }
        }
    }
}

/// A map whose work per item varies with the sequence number, so replicas finish out of order.
struct ScrambleMap: MapStage {
    typealias Input = TestItem
    typealias Output = TestItem
    static let summary = "uneven work"
    static let parameters: [ParameterSpec] = []
    init(parameters: StageParameters) {}

    func process(_ item: TestItem, context: StageContext) async throws -> TestItem? {
        let micros = (item.sequence * 7919) % 5 * 100
        if micros > 0 { try await Task.sleep(for: .microseconds(micros)) }
        return item.sequence % 10 == 9 ? nil : item  // drops every tenth item
    }
}

/// A map that fails on one sequence number (a pool worker dying): field case H4.
struct FailingMap: MapStage {
    typealias Input = TestItem
    typealias Output = TestItem
    static let summary = "fails on item `at`"
    static let parameters = [ParameterSpec("at", .integer(), "sequence number that fails")]
    let at: Int
    init(parameters: StageParameters) { at = parameters.integer("at") }

    func process(_ item: TestItem, context: StageContext) async throws -> TestItem? {
        if item.sequence == at { throw InjectedFault(stage: context.stageName, after: at) }
        return item
    }
}

/// Records which instance served each replica: field case H9 (one handle per replica).
actor InstanceRecorder: MapStage {
    typealias Input = TestItem
    typealias Output = TestItem
    static let summary = "records instance identities"
    static let parameters: [ParameterSpec] = []
    static let seen = Mutex<[Int: Set<ObjectIdentifier>]>([:])
    init(parameters: StageParameters) {}

    func process(_ item: TestItem, context: StageContext) async throws -> TestItem? {
        let me = ObjectIdentifier(self)
        _ = Self.seen.withLock { $0[context.replica, default: []].insert(me) }
        return item
    }
}

/// A source that hands its outbox to a detached task and returns at once; the orphan keeps sending:
/// field case H5 (a producer vanishing must not leave its consumer waiting forever).
struct OrphanSource: Stage {
    static let summary = "returns while an orphan task keeps its outbox"
    static let output = OutputPort<TestItem>("out")
    static var outputs: [PortSpec] { [output.spec] }
    static let parameters: [ParameterSpec] = []
    static let orphanResult = Mutex<String?>(nil)
    init(parameters: StageParameters) {}

    func run(_ context: StageContext) async throws {
        let outbox = try context.outbox(Self.output)
        try await outbox.send(TestItem(sequence: 0, producer: 0, size: 16))
        Task.detached {
            var sequence = 1
            do {
                while true {
                    try await outbox.send(TestItem(sequence: sequence, producer: 0, size: 16))
                    sequence += 1
                }
            } catch {
                Self.orphanResult.withLock { $0 = String(describing: type(of: error)) }
            }
        }
    }
}

/// A sink that publishes stage metrics.
struct MetricSink: Stage {
    static let summary = "publishes metrics"
    static let input = InputPort<TestItem>("in")
    static var inputs: [PortSpec] { [input.spec] }
    static let parameters: [ParameterSpec] = []
    init(parameters: StageParameters) {}

    func run(_ context: StageContext) async throws {
        for try await item in try context.inbox(Self.input) {
            context.metrics.set("loss", 1.0 / Double(item.sequence + 1))
            context.metrics.add("seen")
        }
    }
}

/// A latch that blocking test stages wait on (a whole OS thread blocked, like a stuck C call).
enum ThreadLatch {
    static let semaphore = DispatchSemaphore(value: 0)
    static let timedOut = Atomic<Bool>(false)
}

/// Blocks its thread on ``ThreadLatch`` at its first item (up to 20 s), then passes items on.
actor BlockingMap: MapStage {
    typealias Input = TestItem
    typealias Output = TestItem
    static let summary = "blocks its thread once"
    static let parameters: [ParameterSpec] = []
    var blocked = false
    init(parameters: StageParameters) {}

    func process(_ item: TestItem, context: StageContext) async throws -> TestItem? {
        let first = !blocked
        blocked = true
        if first, ThreadLatch.semaphore.wait(timeout: .now() + 20) == .timedOut {
            ThreadLatch.timedOut.store(true, ordering: .relaxed)
        }
        return item
    }
}

/// A sink that opens ``ThreadLatch`` for `release` waiters once it has received `after` items.
struct ReleasingSink: Stage {
    static let summary = "releases the latch"
    static let input = InputPort<TestItem>("in")
    static var inputs: [PortSpec] { [input.spec] }
    static let parameters = [ParameterSpec("after", .integer(), "items before releasing"),
                             ParameterSpec("release", .integer(), "waiters to release")]
    let after: Int
    let release: Int
    init(parameters: StageParameters) {
        after = parameters.integer("after")
        release = parameters.integer("release")
    }

    func run(_ context: StageContext) async throws {
        var count = 0
        for try await _ in try context.inbox(Self.input) {
            count += 1
            if count == after { for _ in 0..<release { ThreadLatch.semaphore.signal() } }
        }
    }
}
