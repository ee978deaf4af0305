/// An item whose size in bytes the engine can count, so that edges carrying it can be bounded by bytes
/// (`capacity: 256 MiB`) and report bytes in flight.
public protocol ByteSized: Sendable {
    /// The payload size in bytes (pixels, tensor storage…), not counting small fixed headers.
    var byteCount: Int { get }
}

/// Whether a port receives or sends.
public enum PortDirection: String, Sendable, Codable {
    case input, output
}

/// The type-erased description of a port that the registry, the validator and the runner use.
///
/// Made from a typed ``InputPort`` or ``OutputPort``; two ports can be connected when their
/// ``typeID``s are equal.
public struct PortSpec: Sendable, CustomStringConvertible {
    /// Port name, unique per direction within a stage type (`in`, `out`, `tiles`, `crops`…).
    public let name: String
    public let direction: PortDirection
    /// Identity of the item type carried.
    public let typeID: ObjectIdentifier
    /// The item type's name for messages (`TestItem`, `Tile`).
    public let typeName: String
    /// Whether the item type is ``ByteSized`` (needed for byte capacities).
    public let isByteSized: Bool
    /// Builds an edge carrying this port's item type.
    let makeEdge: @Sendable (EdgeConfiguration) -> Edge
    /// Input ports: builds the replicas' inboxes on the edge into the port.
    let wireInput: @Sendable (Edge, [ReplicaClock]) -> InputWiring
    /// Output ports: builds one replica's outbox on the edges out of the port.
    let wireOutput: @Sendable ([Edge], ReplicaClock) -> OutputWiring

    public var description: String { "\(name): \(typeName)" }
}

/// A typed input port declaration: `static let input = InputPort<Tile>("tiles")`.
///
/// A stage reads it with ``StageContext/inbox(_:)``.
public struct InputPort<Item: Sendable>: Sendable {
    public let name: String
    public let spec: PortSpec

    /// Declares an input port carrying `Item`.
    public init(_ name: String, of type: Item.Type = Item.self) {
        self.name = name
        self.spec = PortSpec(
            name: name, direction: .input, typeID: ObjectIdentifier(Item.self),
            typeName: String(describing: Item.self), isByteSized: false,
            makeEdge: { Edge(configuration: $0, byteCount: nil) },
            wireInput: { InputWiring.make(name, Item.self, edge: $0, clocks: $1) },
            wireOutput: { _, _ in preconditionFailure("input port wired as output") })
    }

    /// Declares an input port carrying a ``ByteSized`` `Item` (edges into it may be bounded by bytes).
    public init(_ name: String, of type: Item.Type = Item.self) where Item: ByteSized {
        self.name = name
        self.spec = PortSpec(
            name: name, direction: .input, typeID: ObjectIdentifier(Item.self),
            typeName: String(describing: Item.self), isByteSized: true,
            makeEdge: { Edge(configuration: $0, byteCount: { ($0 as! Item).byteCount }) },
            wireInput: { InputWiring.make(name, Item.self, edge: $0, clocks: $1) },
            wireOutput: { _, _ in preconditionFailure("input port wired as output") })
    }
}

/// A typed output port declaration: `static let output = OutputPort<Tile>("tiles")`.
///
/// A stage writes it with ``StageContext/outbox(_:)``. An output port may feed several edges (fan-out):
/// every item goes to each of them.
public struct OutputPort<Item: Sendable>: Sendable {
    public let name: String
    public let spec: PortSpec

    /// Declares an output port carrying `Item`.
    public init(_ name: String, of type: Item.Type = Item.self) {
        self.name = name
        self.spec = PortSpec(
            name: name, direction: .output, typeID: ObjectIdentifier(Item.self),
            typeName: String(describing: Item.self), isByteSized: false,
            makeEdge: { Edge(configuration: $0, byteCount: nil) },
            wireInput: { _, _ in preconditionFailure("output port wired as input") },
            wireOutput: { OutputWiring.make(name, Item.self, edges: $0, clock: $1) })
    }

    /// Declares an output port carrying a ``ByteSized`` `Item`.
    public init(_ name: String, of type: Item.Type = Item.self) where Item: ByteSized {
        self.name = name
        self.spec = PortSpec(
            name: name, direction: .output, typeID: ObjectIdentifier(Item.self),
            typeName: String(describing: Item.self), isByteSized: true,
            makeEdge: { Edge(configuration: $0, byteCount: { ($0 as! Item).byteCount }) },
            wireInput: { _, _ in preconditionFailure("output port wired as input") },
            wireOutput: { OutputWiring.make(name, Item.self, edges: $0, clock: $1) })
    }
}
