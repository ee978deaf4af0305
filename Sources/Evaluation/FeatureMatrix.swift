/// A dense row-major matrix of embeddings or targets, [rows, columns]: one row per tile (or spot).
///
/// The evaluation functions take and return this type; feature files (`FeatureSet`) hold a
/// `FeatureMatrix<Float>`, and `converted(to:)` gives the Float64 copy the parity checks use.
public struct FeatureMatrix<Scalar: BLASScalar>: Sendable, Equatable {
    /// Number of rows (N).
    public let rows: Int
    /// Number of columns (D).
    public let columns: Int
    /// The values, row-major: element (i, j) is `values[i * columns + j]`.
    public private(set) var values: [Scalar]

    /// A matrix over `values` (row-major, `rows · columns` of them).
    /// - Precondition: `values.count == rows * columns`, and both dimensions are ≥ 0.
    public init(rows: Int, columns: Int, values: [Scalar]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns,
                     "FeatureMatrix: \(values.count) values for [\(rows), \(columns)]")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// A matrix of zeros, [rows, columns].
    public init(zeros rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, values: [Scalar](repeating: 0, count: rows * columns))
    }

    /// A matrix from rows of equal length.
    /// - Precondition: every row has the same number of elements.
    public init(rowsOf rowArrays: [[Scalar]]) {
        let columns = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == columns }, "FeatureMatrix: rows of unequal length")
        self.init(rows: rowArrays.count, columns: columns, values: rowArrays.flatMap { $0 })
    }

    /// Element (row, column).
    public subscript(row: Int, column: Int) -> Scalar {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// Row `index` as an array of `columns` values.
    public func row(_ index: Int) -> [Scalar] {
        Array(values[index * columns ..< (index + 1) * columns])
    }

    /// The rows at `indices`, in that order, [indices.count, columns].
    /// - Precondition: every index is in `0..<rows`.
    public func selectingRows(_ indices: [Int]) -> FeatureMatrix {
        var selected = [Scalar]()
        selected.reserveCapacity(indices.count * columns)
        for index in indices {
            precondition(index >= 0 && index < rows, "FeatureMatrix: row \(index) outside 0..<\(rows)")
            selected.append(contentsOf: values[index * columns ..< (index + 1) * columns])
        }
        return FeatureMatrix(rows: indices.count, columns: columns, values: selected)
    }

    /// The same values in another floating-point type (rounded to nearest when narrowing).
    public func converted<Other: BLASScalar>(to _: Other.Type = Other.self) -> FeatureMatrix<Other> {
        FeatureMatrix<Other>(rows: rows, columns: columns, values: values.map { Other($0) })
    }

    /// Calls `body` with the row-major storage.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the mutable row-major storage.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try values.withUnsafeMutableBufferPointer(body)
    }
}
