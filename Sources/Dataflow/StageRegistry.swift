/// Everything the engine knows about a registered stage type.
public struct StageDescriptor: Sendable {
    /// The name graph files use in `type:`.
    public let typeName: String
    public let summary: String
    public let inputs: [PortSpec]
    public let outputs: [PortSpec]
    public let parameters: [ParameterSpec]
    public let devices: [String]
    /// Whether `ordered: true` is possible (map stages).
    public let supportsOrdered: Bool
    let makeInstance: @Sendable (StageParameters) throws -> any Stage
    let launch: @Sendable (StageLaunchSetup) throws -> StagePlan

    /// A new instance of the stage type with `parameters` (its `init`), e.g. to call `validate(replicas:)`.
    /// - Throws: the stage initialiser's error.
    public func instance(_ parameters: StageParameters) throws -> any Stage { try makeInstance(parameters) }

    /// The parameter declaration with this name, if any.
    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
    public func input(_ name: String) -> PortSpec? { inputs.first { $0.name == name } }
    public func output(_ name: String) -> PortSpec? { outputs.first { $0.name == name } }
}

/// The stage types a graph file may name. Registration is explicit Swift code: a graph file can
/// only refer to types registered here, never load or run code of its own (DESIGN.md §2).
///
/// ```swift
/// var registry = StageRegistry.builtIn          // from the Stages module
/// registry.register(Brightness.self, as: "brightness")
/// ```
public struct StageRegistry: Sendable {
    public private(set) var descriptors: [String: StageDescriptor] = [:]

    /// An empty registry.
    public init() {}

    /// Registers a stage type under a type name.
    /// - Precondition: the name is not taken (registering twice is a programming error).
    public mutating func register<S: Stage>(_ type: S.Type, as typeName: String) {
        add(StageDescriptor(
            typeName: typeName, summary: S.summary, inputs: S.inputs, outputs: S.outputs,
            parameters: S.parameters, devices: S.devices, supportsOrdered: false,
            makeInstance: { try S(parameters: $0) },
            launch: { try StageLauncher.launch(S.self, $0) }))
    }

    /// Registers a map stage type; map stages also support `ordered: true` with replicas.
    public mutating func register<S: MapStage>(_ type: S.Type, as typeName: String) {
        add(StageDescriptor(
            typeName: typeName, summary: S.summary, inputs: S.inputs, outputs: S.outputs,
            parameters: S.parameters, devices: S.devices, supportsOrdered: true,
            makeInstance: { try S(parameters: $0) },
            launch: { setup in
                setup.node.ordered && setup.node.replicas > 1
                    ? try OrderedMapPool.launch(S.self, setup) : try StageLauncher.launch(S.self, setup)
            }))
    }

    /// A registry with the stages of both.
    /// - Precondition: no type name is registered in both.
    public func merging(_ other: StageRegistry) -> StageRegistry {
        var merged = self
        for descriptor in other.descriptors.values { merged.add(descriptor) }
        return merged
    }

    /// The descriptor for a type name.
    public func descriptor(_ typeName: String) -> StageDescriptor? { descriptors[typeName] }

    /// Registered type names, sorted.
    public var typeNames: [String] { descriptors.keys.sorted() }

    private mutating func add(_ descriptor: StageDescriptor) {
        precondition(descriptors[descriptor.typeName] == nil, "stage type '\(descriptor.typeName)' registered twice")
        descriptors[descriptor.typeName] = descriptor
    }
}
