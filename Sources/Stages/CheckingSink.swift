import Dataflow

/// `sink`: consumes ``TestItem``s and checks them: payload stamps intact, no duplicates, optionally the
/// count and the order (increasing sequence per source replica). Publishes `received`, `distinct`,
/// `duplicates`, `out_of_order` and `damaged` as stage metrics. A failed check fails the run, except
/// while the run drains after a stop request (counts are then expected to fall short).
public struct CheckingSink: Stage {
    public static let summary = "Consumes test items and checks count, order and integrity"
    public static let input = InputPort<TestItem>("in")
    public static var inputs: [PortSpec] { [input.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("expect_count", .integer(-1...Int.max), default: .integer(-1), "distinct items expected; -1 = any"),
        ParameterSpec("check_order", .boolean, default: .boolean(false), "fail when a source replica's items arrive out of order"),
        ParameterSpec("work", .duration, default: .duration(0), "time spent sleeping per item (a slow consumer)"),
    ]

    let expectCount: Int
    let checkOrder: Bool
    let work: Double

    public init(parameters: StageParameters) throws {
        expectCount = parameters.integer("expect_count")
        checkOrder = parameters.boolean("check_order")
        work = parameters.seconds("work")
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        var seen = Set<Int>()
        var lastByProducer: [Int: Int] = [:]
        var received = 0, duplicates = 0, outOfOrder = 0, damaged = 0
        for try await item in inbox {
            if work > 0 { try await Task.sleep(for: .seconds(work)) }
            received += 1
            context.metrics.add("received")
            if !seen.insert(item.sequence).inserted {
                duplicates += 1
                context.metrics.add("duplicates")
            } else {
                context.metrics.add("distinct")
            }
            if let last = lastByProducer[item.producer], item.sequence <= last {
                outOfOrder += 1
                context.metrics.add("out_of_order")
            }
            lastByProducer[item.producer] = item.sequence
            if !item.isIntact {
                damaged += 1
                context.metrics.add("damaged")
            }
        }
        guard !context.isDraining else { return }
        var problems: [String] = []
        if damaged > 0 { problems.append("\(damaged) damaged payloads") }
        if duplicates > 0 { problems.append("\(duplicates) duplicates") }
        if checkOrder && outOfOrder > 0 { problems.append("\(outOfOrder) items out of order") }
        if expectCount >= 0 && seen.count != expectCount {
            problems.append("expected \(expectCount) distinct items, received \(seen.count)")
        }
        if !problems.isEmpty {
            throw SinkCheckFailed(message: problems.joined(separator: "; ") + " (\(received) received)")
        }
    }
}

/// A ``CheckingSink`` check failed.
public struct SinkCheckFailed: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "sink check failed: \(message)" }
}
