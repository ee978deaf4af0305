import Dataflow

/// `fault`: passes ``TestItem``s through until `after` items, then misbehaves as `action` says:
/// `fail` throws ``InjectedFault``; `hang` stops making progress and ignores cancellation (like a
/// C call that never returns); `stop` stops consuming and returns (its producers must stop too).
public struct FaultInjector: Stage {
    public static let summary = "Passes test items, then fails, hangs or stops consuming after N items"
    public static let input = InputPort<TestItem>("in")
    public static let output = OutputPort<TestItem>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("after", .integer(0...Int.max), "items passed through before the fault"),
        ParameterSpec("action", .choice(["fail", "hang", "stop"]), "fail: throw; hang: never return; stop: stop consuming"),
    ]

    let after: Int
    let action: String

    public init(parameters: StageParameters) throws {
        after = parameters.integer("after")
        action = parameters.string("action")
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let outbox = try context.outbox(Self.output)
        var passed = 0
        for try await item in inbox {
            if passed == after {
                switch action {
                case "fail":
                    throw InjectedFault(stage: context.stageName, after: after)
                case "hang":
                    context.logger.warning("hanging after \(after) items, as configured")
                    await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
                default:
                    context.logger.notice("stopping consumption after \(after) items, as configured")
                    return
                }
            }
            try await outbox.send(item)
            passed += 1
        }
    }
}

/// The error a `fault` stage with `action: fail` throws.
public struct InjectedFault: Error, CustomStringConvertible {
    public let stage: String
    public let after: Int

    public init(stage: String, after: Int) {
        self.stage = stage
        self.after = after
    }

    public var description: String { "injected failure after \(after) items" }
}
