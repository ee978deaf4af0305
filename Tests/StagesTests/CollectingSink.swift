import Dataflow
import Synchronization

/// Items received by ``CollectingSink``s, by the sink's `key`.
private let collectedItems = Mutex<[String: [any Sendable]]>([:])

/// A test sink that stores every item it receives under its `key` parameter, for the test to read with
/// ``items(_:)``. Register one per item type: `registry.register(CollectingSink<CropSet>.self, as: "collect-crops")`.
struct CollectingSink<Item: Sendable>: Stage {
    static var summary: String { "test sink: stores its items under `key`" }
    static var input: InputPort<Item> { InputPort("in") }
    static var inputs: [PortSpec] { [input.spec] }
    static var parameters: [ParameterSpec] { [ParameterSpec("key", .string, "where to store")] }
    let key: String
    init(parameters: StageParameters) throws { key = parameters.string("key") }

    func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        var items: [any Sendable] = []
        while let item = try await inbox.next() { items.append(item) }
        collectedItems.withLock { $0[key, default: []] += items }
    }

    /// What the sinks with `key` received, in arrival order.
    static func items(_ key: String) -> [Item] {
        collectedItems.withLock { ($0[key] ?? []).map { $0 as! Item } }
    }
}
