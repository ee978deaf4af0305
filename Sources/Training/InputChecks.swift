import Compute

/// The checks every objective makes on its inputs before computing, so that a bad batch stops with the
/// tensor, row and column named (field-bug-cases.md N5: a NaN/∞ is reported, not propagated).
enum InputChecks {
    /// - Throws: `TrainingError.shapeMismatch` when `tensor` does not hold `shape`'s element count.
    static func shape(_ what: String, _ tensor: Tensor, _ shape: [Int]) throws(TrainingError) {
        guard tensor.count == shape.reduce(1, *) else { throw .shapeMismatch(what: what, expected: shape, actual: tensor.shape) }
    }

    /// - Throws: `TrainingError.nonFiniteLogit` at the first NaN/∞ of `rows` rows of `columns` logits; rows are
    ///   numbered from `firstRow` (the chunk's place in the whole tensor).
    static func finiteLogits(_ x: UnsafePointer<Float>, rows: Int, columns: Int, name: String,
                             firstRow: Int) throws(TrainingError) {
        for row in 0..<rows {
            if let column = RowReductions.firstNonFinite(x + row * columns, columns) {
                throw .nonFiniteLogit(what: name, row: firstRow + row, column: column, value: x[row * columns + column])
            }
        }
    }
}
