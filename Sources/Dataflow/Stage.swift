/// A node of a dataflow graph: usually an `actor` that receives items on typed input ports and sends
/// items on typed output ports (DESIGN.md §2).
///
/// The engine owns the edges, the lifecycle and the stats; a stage implements ``run(_:)`` (or
/// ``MapStage/process(_:context:)`` for the one-in, one-out case). Each replica (`replicas: N` in the
/// graph file) is a separate instance made with ``init(parameters:)`` and runs on its own thread
/// (``StageThread``), so it may block in C calls or spin on CPU work without starving other stages.
///
/// ```swift
/// actor Brightness: MapStage {
///     static let summary = "Mean intensity of each tile"
///     static let parameters: [ParameterSpec] = []
///     init(parameters: StageParameters) {}
///     func process(_ tile: Tile, context: StageContext) async throws -> Double? { tile.mean() }
/// }
/// registry.register(Brightness.self, as: "brightness")
/// ```
///
/// Ending: returning from `run` ends the stage's outputs (end-of-stream) and stops its inputs (their
/// producers' sends throw ``DownstreamClosed``, which, escaping from their `run`, stops them normally).
/// Throwing fails the run: the runner stops every stage and reports this error.
public protocol Stage: Sendable {
    /// One line for `distill stages` and the docs.
    static var summary: String { get }
    /// Input ports, made from ``InputPort`` declarations (`[Self.tiles.spec]`).
    static var inputs: [PortSpec] { get }
    /// Output ports, made from ``OutputPort`` declarations.
    static var outputs: [PortSpec] { get }
    /// Parameters accepted in graph files; unknown names are validation errors.
    static var parameters: [ParameterSpec] { get }
    /// Devices this stage can run on (`device:` in the graph file); `["cpu"]` by default.
    static var devices: [String] { get }

    /// Makes one replica. Must be cheap and must not touch files or devices (it also runs in
    /// `distill validate`); open resources in ``run(_:)``.
    /// - Throws: ``ParameterError`` for values the stage rejects.
    init(parameters: StageParameters) throws

    /// Checks that need the file system, run by validation (`distill validate` and before every run) on one
    /// instance once all parameters are valid: e.g. that an input dataset exists and has enough shards for
    /// `replicas` readers. May read small files (an index); must not open devices or start work. The
    /// default checks nothing.
    /// - Parameter replicas: the stage's `replicas:` in the graph.
    /// - Throws: ``ParameterError`` naming the parameter at fault (reported at its line), or any error
    ///   (reported at the stage).
    func validate(replicas: Int) throws

    /// Runs the replica until its inputs end, it decides to stop, or it is cancelled.
    func run(_ context: StageContext) async throws
}

extension Stage {
    public func validate(replicas: Int) throws {}
    public static var devices: [String] { ["cpu"] }
    public static var inputs: [PortSpec] { [] }
    public static var outputs: [PortSpec] { [] }
}

/// A stage that maps each input item to at most one output item, the common case.
///
/// The engine runs the receive-process-send loop; with `replicas: N` it can keep input order
/// (`ordered: true`): items are dealt round-robin to replicas and their results collected in the same
/// order, with at most 3 items per replica between the stage's input and output edges.
public protocol MapStage: Stage {
    associatedtype Input: Sendable
    associatedtype Output: Sendable
    /// The input port; `in` by default.
    static var input: InputPort<Input> { get }
    /// The output port; `out` by default.
    static var output: OutputPort<Output> { get }

    /// Processes one item.
    /// - Returns: the output item, or nil to drop this item.
    func process(_ item: Input, context: StageContext) async throws -> Output?
}

extension MapStage {
    public static var input: InputPort<Input> { InputPort("in") }
    public static var output: OutputPort<Output> { OutputPort("out") }
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let outbox = try context.outbox(Self.output)
        while let item = try await inbox.next() {
            if let result = try await process(item, context: context) {
                try await outbox.send(result)
            }
        }
    }
}

extension MapStage where Input: ByteSized {
    public static var input: InputPort<Input> { InputPort("in") }
}

extension MapStage where Output: ByteSized {
    public static var output: OutputPort<Output> { OutputPort("out") }
}
