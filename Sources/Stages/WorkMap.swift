import Dataflow

/// `map`: passes each ``TestItem`` on after a configurable amount of work, spent spinning on the CPU
/// (like an image op) or sleeping (like waiting on I/O or a device).
public struct WorkMap: MapStage {
    public typealias Input = TestItem
    public typealias Output = TestItem

    public static let summary = "Passes test items on after simulated work (spin or sleep)"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("work", .duration, default: .duration(0), "time spent per item"),
        ParameterSpec("mode", .choice(["spin", "sleep"]), default: .string("spin"), "spin: busy CPU; sleep: idle wait"),
    ]

    let work: Double
    let spin: Bool

    public init(parameters: StageParameters) throws {
        work = parameters.seconds("work")
        spin = parameters.string("mode") == "spin"
    }

    public func process(_ item: TestItem, context: StageContext) async throws -> TestItem? {
        guard work > 0 else { return item }
        if spin {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(work))
            while clock.now < deadline { try Task.checkCancellation() }
        } else {
            try await Task.sleep(for: .seconds(work))
        }
        return item
    }
}
