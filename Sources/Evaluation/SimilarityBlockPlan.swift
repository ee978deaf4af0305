/// How a similarity matrix [rows, candidates] is computed in row blocks so that memory stays bounded:
/// for a PLISM pair of 16,278 tiles per slide the full 32,556 × 32,556 float32 matrix would take 4.2 GB;
/// with the default 64 MiB budget the blocks are 515 rows (64 of them).
public struct SimilarityBlockPlan: Sendable, Equatable, Codable {
    /// The default memory budget for one block of similarities: 64 MiB.
    public static let defaultBudgetBytes = 64 << 20

    /// Query rows in all (2n for a slide pair).
    public let rows: Int
    /// Candidates per row: the columns of each block (2n for a slide pair).
    public let candidates: Int
    /// Rows computed at once.
    public let rowsPerBlock: Int
    /// Number of blocks: ⌈rows / rowsPerBlock⌉.
    public let blocks: Int
    /// Bytes of one block buffer: rowsPerBlock · candidates · scalar size. At most the budget, unless a
    /// single row is already larger.
    public let bytesPerBlock: Int

    /// The plan for `rows` × `candidates` similarities of `scalarBytes` each within `budgetBytes`.
    /// - Precondition: all arguments are positive (`rows` and `candidates` may be 0).
    public init(rows: Int, candidates: Int, scalarBytes: Int, budgetBytes: Int = SimilarityBlockPlan.defaultBudgetBytes) {
        precondition(rows >= 0 && candidates >= 0 && scalarBytes > 0 && budgetBytes > 0, "SimilarityBlockPlan: bad sizes")
        self.rows = rows
        self.candidates = candidates
        let rowBytes = max(1, candidates * scalarBytes)
        rowsPerBlock = max(1, min(rows, budgetBytes / rowBytes))
        blocks = rows == 0 ? 0 : (rows + rowsPerBlock - 1) / rowsPerBlock
        bytesPerBlock = rowsPerBlock * candidates * scalarBytes
    }

    /// The row ranges of the blocks, in order.
    public var blockRanges: [Range<Int>] {
        stride(from: 0, to: rows, by: rowsPerBlock).map { $0 ..< min(rows, $0 + rowsPerBlock) }
    }
}
