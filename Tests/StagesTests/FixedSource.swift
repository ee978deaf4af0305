import Dataflow
import Synchronization

/// Items for ``FixedSource``s to emit, by the source's `key`.
private let fixedItems = Mutex<[String: [any Sendable]]>([:])

/// A test source that emits, in order, the items a test stored under its `key` parameter with ``set(_:_:)``
/// (none when nothing was stored). Register one per item type:
/// `registry.register(FixedSource<CropSet>.self, as: "fixed-crops")`.
struct FixedSource<Item: Sendable>: Stage {
    static var summary: String { "test source: emits the items stored under `key`" }
    static var output: OutputPort<Item> { OutputPort("out") }
    static var outputs: [PortSpec] { [output.spec] }
    static var parameters: [ParameterSpec] { [ParameterSpec("key", .string, "what to emit")] }
    let key: String
    init(parameters: StageParameters) throws { key = parameters.string("key") }

    func run(_ context: StageContext) async throws {
        let out = try context.outbox(Self.output)
        for item in Self.items(key) { try await out.send(item) }
    }

    /// Stores what the sources with `key` will emit.
    static func set(_ key: String, _ items: [Item]) { fixedItems.withLock { $0[key] = items } }

    /// What the sources with `key` emit.
    static func items(_ key: String) -> [Item] { fixedItems.withLock { ($0[key] ?? []).map { $0 as! Item } } }
}
