/// The robustness metrics of one slide pair (`evaluation-spec.md` §1.5; PB `metrics/cosine_similarity.py`,
/// `metrics/retrieval.py`): the mean cosine similarity of matched tiles and bidirectional top-k retrieval
/// accuracy, where row i of slide a is matched to row i of slide b.
public struct SlidePairMetrics: Sendable, Equatable, Codable {
    /// CS(a, b) = (1/n) Σᵢ cos(Aᵢ, Bᵢ).
    public var cosineSimilarity: Double
    /// TopK(a, b) = (acc_k(a→b) + acc_k(b→a)) / 2 for each requested k, in the order of `k`.
    public var topKAccuracy: [Double]

    /// Metrics with the given values.
    public init(cosineSimilarity: Double, topKAccuracy: [Double]) {
        self.cosineSimilarity = cosineSimilarity
        self.topKAccuracy = topKAccuracy
    }

    /// Computes CS and top-k accuracy of slides `a` and `b` ([n, D] each, rows matched).
    ///
    /// Retrieval stacks X = [A; B] (2n × D), L2-normalises the rows and scans the cosine matrix X̂ X̂ᵀ in
    /// row blocks of `plan` (BLAS gemm per block), so memory stays within the plan's budget whatever n is.
    /// For query row r with match m (r ± n), the candidates are all rows but r; see `RetrievalMode`.
    ///
    /// - Parameters:
    ///   - a: features of slide a, [n, D].
    ///   - b: features of slide b, [n, D].
    ///   - k: the k values (each ≥ 1), e.g. [1, 3, 5, 10].
    ///   - mode: exact or plismbench-compatible self-exclusion.
    ///   - budgetBytes: memory for one block of similarities.
    ///   - names: the slides' names, for error messages.
    /// - Throws: `EvaluationError` when shapes differ, n = 0, a k is < 1, or a row has zero or
    ///   non-finite norm (naming the slide and tile).
    public static func measure<S: BLASScalar>(
        _ a: FeatureMatrix<S>, _ b: FeatureMatrix<S>, k: [Int], mode: RetrievalMode = .exact,
        budgetBytes: Int = SimilarityBlockPlan.defaultBudgetBytes, names: (String, String) = ("a", "b")
    ) throws(EvaluationError) -> SlidePairMetrics {
        guard a.rows == b.rows, a.columns == b.columns else {
            throw EvaluationError("slides \(names.0) [\(a.rows), \(a.columns)] and \(names.1) [\(b.rows), \(b.columns)] "
                + "differ in shape; robustness needs the same tiles in both")
        }
        guard a.rows > 0 else { throw EvaluationError("slides \(names.0) and \(names.1) have no tiles") }
        guard k.allSatisfy({ $0 >= 1 }) else { throw EvaluationError("top-k needs every k ≥ 1, got \(k)") }
        let n = a.rows
        let d = a.columns
        let normsA = try rowNorms(a, name: names.0)
        let normsB = try rowNorms(b, name: names.1)

        // Cosine similarity of matched rows: ⟨aᵢ, bᵢ⟩ / (‖aᵢ‖ ‖bᵢ‖), averaged.
        var cosineSum = 0.0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0 ..< n {
                    var dot: S = 0
                    for j in 0 ..< d { dot += pa[i * d + j] * pb[i * d + j] }
                    cosineSum += Double(dot / (normsA[i] * normsB[i]))
                }
            }
        }

        // X̂ = [A; B] with unit rows.
        var stacked = [S](repeating: 0, count: 2 * n * d)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0 ..< n {
                    for j in 0 ..< d {
                        stacked[i * d + j] = pa[i * d + j] / normsA[i]
                        stacked[(n + i) * d + j] = pb[i * d + j] / normsB[i]
                    }
                }
            }
        }

        let plan = SimilarityBlockPlan(rows: 2 * n, candidates: 2 * n, scalarBytes: MemoryLayout<S>.stride,
                                       budgetBytes: budgetBytes)
        let kMax = k.max() ?? 1
        // hits[direction][kIndex]: direction 0 is a→b (rows of A), 1 is b→a.
        var hits = [[Int]](repeating: [Int](repeating: 0, count: k.count), count: 2)
        var block = [S](repeating: 0, count: plan.rowsPerBlock * 2 * n)
        stacked.withUnsafeBufferPointer { x in
            block.withUnsafeMutableBufferPointer { sim in
                for range in plan.blockRanges {
                    S.gemm(transposeA: false, transposeB: true, m: range.count, n: 2 * n, k: d, alpha: 1,
                           a: x.baseAddress! + range.lowerBound * d, lda: d, b: x.baseAddress!, ldb: d,
                           beta: 0, c: sim.baseAddress!, ldc: 2 * n)
                    for r in range {
                        let row = UnsafeBufferPointer(rebasing: sim[(r - range.lowerBound) * 2 * n ..< (r - range.lowerBound + 1) * 2 * n])
                        let match = r < n ? r + n : r - n
                        let rank = retrievalRank(row: row, query: r, match: match, mode: mode, limit: kMax)
                        if let rank {
                            for (index, kValue) in k.enumerated() where rank <= kValue {
                                hits[r < n ? 0 : 1][index] += 1
                            }
                        }
                    }
                }
            }
        }
        let topK = k.indices.map { (Double(hits[0][$0]) / Double(n) + Double(hits[1][$0]) / Double(n)) / 2 }
        return SlidePairMetrics(cosineSimilarity: cosineSum / Double(n), topKAccuracy: topK)
    }

    /// The 1-based rank of the match among the candidates of one row, or nil when it exceeds `limit`.
    /// Exact: 1 + #{c ∉ {query, match} : s_c > s_match}. plismbench: the position of the match in the row
    /// sorted by similarity (descending, ties by lower index) including the query, where position 0 is
    /// dropped: rank = position, and position 0 counts as a miss.
    static func retrievalRank<S: BLASScalar>(row: UnsafeBufferPointer<S>, query: Int, match: Int,
                                             mode: RetrievalMode, limit: Int) -> Int? {
        let threshold = row[match]
        // Strictly greater entries, scanned in chunks so that a row stops once the rank is past `limit`.
        var greater = 0
        let chunk = 1024
        var start = 0
        while start < row.count {
            let end = min(row.count, start + chunk)
            for c in start ..< end where row[c] > threshold { greater += 1 }
            if greater > limit + 1 { return nil }
            start = end
        }
        switch mode {
        case .exact:
            let above = greater - (row[query] > threshold ? 1 : 0)
            return above + 1 <= limit ? above + 1 : nil
        case .plismbench:
            var position = greater
            for c in 0 ..< match where row[c] == threshold { position += 1 }
            return position >= 1 && position <= limit ? position : nil
        }
    }

    private static func rowNorms<S: BLASScalar>(_ m: FeatureMatrix<S>, name: String) throws(EvaluationError) -> [S] {
        let d = m.columns
        let norms = m.withUnsafeBufferPointer { p in
            (0 ..< m.rows).map { i -> S in
                var sum: S = 0
                for j in 0 ..< d { sum += p[i * d + j] * p[i * d + j] }
                return S.squareRoot(of: sum)
            }
        }
        if let bad = norms.firstIndex(where: { !($0 > 0) || !$0.isFinite }) {
            throw EvaluationError("slide \(name), tile row \(bad): feature vector norm is \(norms[bad]); "
                + "cosine similarity needs a finite non-zero vector")
        }
        return norms
    }
}
