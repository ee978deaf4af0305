#if canImport(Glibc)
import Glibc
#endif

/// k-nearest-neighbour classification by cosine similarity, as DINOv2's kNN evaluation does it
/// (facebookresearch/dinov2 `eval/knn.py`): L2-normalise train and query embeddings, take the k most similar
/// train samples, vote with weights exp(similarity / T) (T = 0.07 there), predict the class with the largest
/// vote. With `temperature` nil every neighbour votes 1 (majority vote). Ties: among equally similar
/// neighbours the lower train index first; among equal votes the lower class.
///
/// Similarities are computed in row blocks (BLAS gemm), so memory stays within `budgetBytes`.
public struct KNNClassifier: Sendable, Equatable {
    /// Neighbours per query (≥ 1; capped at the train size).
    public var k: Int
    /// Vote temperature T (weights exp(s/T)); nil for uniform votes.
    public var temperature: Double?
    /// Memory for one block of similarities.
    public var budgetBytes: Int

    /// A classifier with `k` neighbours and vote temperature `temperature`.
    public init(k: Int = 20, temperature: Double? = 0.07, budgetBytes: Int = SimilarityBlockPlan.defaultBudgetBytes) {
        self.k = k
        self.temperature = temperature
        self.budgetBytes = budgetBytes
    }

    /// Predicts a class in 0..<classes for every query row.
    /// - Parameters:
    ///   - train: train embeddings, [N, D].
    ///   - labels: train classes, [N], each in 0..<classes.
    ///   - classes: number of classes.
    ///   - query: embeddings to classify, [M, D].
    /// - Throws: `EvaluationError` when shapes disagree, k < 1, a label is out of range, or a row has a zero
    ///   or non-finite norm (naming the split and row).
    public func predict<S: BLASScalar>(train: FeatureMatrix<S>, labels: [Int], classes: Int,
                                       query: FeatureMatrix<S>) throws(EvaluationError) -> [Int] {
        guard k >= 1 else { throw EvaluationError("kNN needs k ≥ 1, got \(k)") }
        guard train.rows == labels.count, train.rows > 0 else {
            throw EvaluationError("kNN: \(train.rows) train rows but \(labels.count) labels")
        }
        guard train.columns == query.columns else {
            throw EvaluationError("kNN: train dimension \(train.columns) differs from query dimension \(query.columns)")
        }
        if let bad = labels.firstIndex(where: { !(0 ..< classes).contains($0) }) {
            throw EvaluationError("kNN: train row \(bad) has class \(labels[bad]) outside 0..<\(classes)")
        }
        let trainUnit = try Self.normalised(train, split: "train")
        let queryUnit = try Self.normalised(query, split: "query")
        let n = train.rows, d = train.columns
        let neighbours = min(k, n)
        let plan = SimilarityBlockPlan(rows: query.rows, candidates: n, scalarBytes: MemoryLayout<S>.stride,
                                       budgetBytes: budgetBytes)
        var block = [S](repeating: 0, count: plan.rowsPerBlock * n)
        var predictions = [Int]()
        predictions.reserveCapacity(query.rows)
        trainUnit.withUnsafeBufferPointer { t in
            queryUnit.withUnsafeBufferPointer { q in
                block.withUnsafeMutableBufferPointer { sim in
                    for range in plan.blockRanges {
                        S.gemm(transposeA: false, transposeB: true, m: range.count, n: n, k: d, alpha: 1,
                               a: q.baseAddress! + range.lowerBound * d, lda: d, b: t.baseAddress!, ldb: d, beta: 0,
                               c: sim.baseAddress!, ldc: n)
                        for local in 0 ..< range.count {
                            let row = UnsafeBufferPointer(rebasing: sim[local * n ..< (local + 1) * n])
                            predictions.append(vote(row: row, labels: labels, classes: classes, neighbours: neighbours))
                        }
                    }
                }
            }
        }
        return predictions
    }

    /// The indices of the `count` largest entries of `row`, most similar first (ties: lower index first).
    static func topIndices<S: BLASScalar>(_ row: UnsafeBufferPointer<S>, count: Int) -> [Int] {
        var best = [Int]()
        best.reserveCapacity(count + 1)
        for index in 0 ..< row.count {
            let value = row[index]
            if best.count == count, let last = best.last, !(value > row[last]) { continue }
            var position = best.count
            while position > 0 && value > row[best[position - 1]] { position -= 1 }
            best.insert(index, at: position)
            if best.count > count { best.removeLast() }
        }
        return best
    }

    private func vote<S: BLASScalar>(row: UnsafeBufferPointer<S>, labels: [Int], classes: Int, neighbours: Int) -> Int {
        var scores = [Double](repeating: 0, count: classes)
        for index in Self.topIndices(row, count: neighbours) {
            scores[labels[index]] += temperature.map { exp(Double(row[index]) / $0) } ?? 1
        }
        var winner = 0
        for c in 1 ..< classes where scores[c] > scores[winner] { winner = c }
        return winner
    }

    private static func normalised<S: BLASScalar>(_ m: FeatureMatrix<S>, split: String) throws(EvaluationError) -> FeatureMatrix<S> {
        var out = m
        let d = m.columns
        var bad: Int?
        out.withUnsafeMutableBufferPointer { p in
            for i in 0 ..< m.rows {
                var sum: S = 0
                for j in 0 ..< d { sum += p[i * d + j] * p[i * d + j] }
                let norm = S.squareRoot(of: sum)
                guard norm > 0, norm.isFinite else {
                    bad = i
                    return
                }
                for j in 0 ..< d { p[i * d + j] /= norm }
            }
        }
        if let bad { throw EvaluationError("kNN: \(split) row \(bad) has a zero or non-finite norm") }
        return out
    }
}
