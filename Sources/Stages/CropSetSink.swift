import Dataflow

/// `crop-sink`: consumes ``CropSet``s (the end of an augmentation-only graph) and checks them: tensor sizes
/// match their shapes and the first set's shapes, values are finite, no sample arrives twice; optionally the
/// count. Publishes `received` and `distinct` as stage metrics. A failed check fails the run, except while it
/// drains after a stop request.
public struct CropSetSink: Stage {
    public static let summary = "Consumes crop sets and checks shapes, finite values, duplicates and count"
    public static let input = InputPort<CropSet>("in")
    public static var inputs: [PortSpec] { [input.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("expect_count", .integer(-1...Int.max), default: .integer(-1), "distinct samples expected; -1 = any"),
    ]

    let expectCount: Int

    public init(parameters: StageParameters) throws {
        expectCount = parameters.integer("expect_count")
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        var seen = Set<UInt64>()
        var shapes: ([Int], [Int])?
        var problems: [String] = []
        while let set = try await inbox.next() {
            context.metrics.add("received")
            let name = "sample \(set.slideID) (\(set.x), \(set.y))"
            if !seen.insert(set.sampleID).inserted { problems.append("\(name) arrived twice") }
            else { context.metrics.add("distinct") }
            if let shapes, shapes != (set.globalShape, set.localShape) {
                problems.append("\(name) has shapes \(set.globalShape), \(set.localShape), not \(shapes.0), \(shapes.1)")
            }
            shapes = shapes ?? (set.globalShape, set.localShape)
            if !(set.global.allSatisfy(\.isFinite) && set.local.allSatisfy(\.isFinite)) {
                problems.append("\(name) has non-finite values")
            }
        }
        guard !context.isDraining else { return }
        if expectCount >= 0 && seen.count != expectCount {
            problems.append("expected \(expectCount) distinct samples, received \(seen.count)")
        }
        if !problems.isEmpty {
            throw SinkCheckFailed(message: problems.prefix(5).joined(separator: "; ") + (problems.count > 5 ? " (\(problems.count) problems)" : ""))
        }
    }
}
