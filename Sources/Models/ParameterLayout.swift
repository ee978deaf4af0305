/// Named parameters with shapes and offsets into one flat buffer (llm.c style: one allocation): a ViT backbone
/// under its timm names (`init(config:)`), the projection heads, the whole student (Training's `StudentLayout`).
/// Optimisers, EMA and clipping then run flat loops over one buffer, and a gradient buffer of the same layout
/// mirrors it element for element.
public struct ParameterLayout: Sendable, Hashable {
    /// One named parameter.
    public struct Parameter: Sendable, Hashable {
        /// The PyTorch `state_dict` name, e.g. `blocks.3.mlp.fc1.weight` or `mlp.0.weight`.
        public let name: String
        /// The PyTorch shape.
        public let shape: [Int]
        /// First element in the flat buffer.
        public let offset: Int
        /// Element count.
        public var count: Int { shape.reduce(1, *) }
    }

    /// All parameters in order.
    public let parameters: [Parameter]
    /// Total element count.
    public let count: Int
    private let index: [String: Int]

    /// Lays `entries` out one after the other in the order given.
    /// - Precondition: names are unique.
    public init(_ entries: [(name: String, shape: [Int])]) {
        var offset = 0
        var parameters: [Parameter] = []
        var index: [String: Int] = [:]
        for (name, shape) in entries {
            precondition(index[name] == nil, "parameter \(name) listed twice")
            index[name] = parameters.count
            parameters.append(Parameter(name: name, shape: shape, offset: offset))
            offset += shape.reduce(1, *)
        }
        self.parameters = parameters
        self.count = offset
        self.index = index
    }

    /// The parameter named `name`, or nil.
    public func parameter(_ name: String) -> Parameter? { index[name].map { parameters[$0] } }
}
