import Models

/// Named ranges of one flat parameter buffer — and of the gradient and optimiser-moment buffers laid out the
/// same way — so that the optimiser, the per-module clipping and the last-layer freeze decide from names alone
/// (llm.c style: one allocation, one loop). Names are timm/DINOv2 names: the backbone's as timm writes them
/// (`cls_token`, `reg_token`, `pos_embed`, `patch_embed.proj.weight`, `blocks.{i}.…`, `norm.weight`), the heads'
/// with their module prefix (`dino_head.mlp.0.weight`, `dino_head.last_layer.weight_g`, `ibot_head.…`).
public struct ParameterTable: Sendable, Equatable {
    /// One parameter.
    public struct Entry: Sendable, Hashable {
        /// Full name, e.g. `blocks.3.mlp.fc1.weight` or `dino_head.last_layer.weight_v`.
        public let name: String
        /// PyTorch shape.
        public let shape: [Int]
        /// First element in the flat buffer.
        public let offset: Int
        /// The sub-module (from the name's prefix).
        public let module: StudentModule
        /// Element count.
        public var count: Int { shape.reduce(1, *) }
        /// The element range in the flat buffer.
        public var range: Range<Int> { offset..<(offset + count) }
    }

    /// Entries in buffer order.
    public private(set) var entries: [Entry] = []
    /// Elements covered: the end of the last range (the flat buffer's size).
    public private(set) var count = 0
    private var index: [String: Int] = [:]

    /// An empty table.
    public init() {}

    /// The backbone of a ViT with `layout`'s names and offsets (consecutive from 0, so appending reproduces them).
    /// - Throws: `TrainingError.badParameterTable` as `append`.
    public init(backbone layout: ParameterLayout) throws(TrainingError) {
        for parameter in layout.parameters { try append(parameter.name, shape: parameter.shape) }
    }

    /// Appends `name` with `shape` right after the last range.
    /// - Throws: `TrainingError.badParameterTable` for a repeated name or an empty/negative shape.
    public mutating func append(_ name: String, shape: [Int]) throws(TrainingError) {
        guard index[name] == nil else { throw .badParameterTable("parameter \(name) appears twice") }
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw .badParameterTable("parameter \(name) has shape \(shape)")
        }
        let entry = Entry(name: name, shape: shape, offset: count, module: StudentModule(parameterName: name))
        index[name] = entries.count
        entries.append(entry)
        count += entry.count
    }

    /// The entry named `name`, or nil.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The entries of one sub-module, in buffer order.
    public func entries(of module: StudentModule) -> [Entry] { entries.filter { $0.module == module } }

    /// The sub-modules present, in `StudentModule` order.
    public var modules: [StudentModule] { Array(Set(entries.map(\.module))).sorted() }
}
