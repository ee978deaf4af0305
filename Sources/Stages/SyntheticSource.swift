import Dataflow

/// `synthetic-source`: emits `count` ``TestItem``s of `item_bytes` each, optionally at a fixed
/// `rate`. With replicas, replica r emits sequence numbers r, r + R, r + 2R… so that together they
/// emit 0..<count exactly once.
public struct SyntheticSource: Stage {
    public static let summary = "Emits numbered test items of a given size, optionally at a fixed rate"
    public static let output = OutputPort<TestItem>("out")
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("count", .integer(0...Int.max), default: .integer(1000), "items to emit in total"),
        ParameterSpec("item_bytes", .bytes, default: .bytes(64), "payload size of each item"),
        ParameterSpec("rate", .number, default: .number(0), "items per second over all replicas; 0 = as fast as possible"),
    ]

    let count: Int
    let itemBytes: Int
    let rate: Double

    public init(parameters: StageParameters) throws {
        count = parameters.integer("count")
        itemBytes = parameters.bytes("item_bytes")
        rate = parameters.number("rate")
        guard rate >= 0, rate.isFinite else { throw ParameterError(key: "rate", "must be 0 (unlimited) or a positive number of items per second") }
    }

    public func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        let interval = rate > 0 ? Double(context.replicas) / rate : 0
        let clock = ContinuousClock()
        var next = clock.now
        for sequence in stride(from: context.replica, to: count, by: context.replicas) {
            if interval > 0 {
                next = next.advanced(by: .seconds(interval))
                try await Task.sleep(until: next, clock: clock)
            }
            try Task.checkCancellation()
            try await out.send(TestItem(sequence: sequence, producer: context.replica, size: itemBytes))
        }
    }
}
