/// The row chunks of a head + loss pass over `[rows, K]` logits (docs/cuda.md, "Part 2"): per chunk, the teacher
/// logits (f32), the student logits (f32) and their gradient (bf16) exist at once — `bytesPerElement` = 4 + 4 + 2
/// — so the pass needs `rowsPerChunk·K·10` bytes of scratch instead of `rows·K·10` (21.5 GB for the paper's iBOT
/// pass, 2·32·256 rows × 131,072). Every chunk but the last has `rowsPerChunk` rows. Losses are sums over rows, so
/// the chunking does not change them (`SoftmaxCrossEntropy`); only the order of the dW accumulation does.
public struct LogitChunkPlan: Sendable, Equatable {
    /// Bytes per logit element of one chunk: teacher f32 + student f32 + gradient bf16.
    public static let bytesPerElement = 10

    public let rows: Int
    public let prototypes: Int
    public let rowsPerChunk: Int

    /// The largest chunk within `budgetBytes` (at least one row, at most `rows`).
    /// - Precondition: `rows ≥ 0`, `prototypes > 0`, `budgetBytes > 0`.
    public init(rows: Int, prototypes: Int, budgetBytes: Int) {
        precondition(rows >= 0 && prototypes > 0 && budgetBytes > 0, "logit chunks of \(rows) × \(prototypes) in \(budgetBytes) bytes")
        self.rows = rows
        self.prototypes = prototypes
        rowsPerChunk = max(1, min(max(rows, 1), budgetBytes / (prototypes * Self.bytesPerElement)))
    }

    /// The chunks' row ranges, in order, covering `0 ..< rows`.
    public var chunks: [Range<Int>] {
        stride(from: 0, to: rows, by: rowsPerChunk).map { $0..<min($0 + rowsPerChunk, rows) }
    }

    /// Scratch bytes of one chunk.
    public var scratchBytes: Int { rowsPerChunk * prototypes * Self.bytesPerElement }
}
