import CBLAS

extension CPUBackend {
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Float, c: Tensor, ldc: Int) {
        let aCount = transposeA ? (k - 1) * lda + m : (m - 1) * lda + k
        let bCount = transposeB ? (n - 1) * ldb + k : (k - 1) * ldb + n
        parallelSGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: floats(a, aCount, "gemm A"), lda: lda, b: floats(b, bCount, "gemm B"), ldb: ldb,
                      beta: beta, c: floats(c, (m - 1) * ldc + n, "gemm C"), ldc: ldc)
    }

    public func batchedGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: Tensor, lda: Int, strideA: Int, b: Tensor, ldb: Int, strideB: Int,
                            beta: Float, c: Tensor, ldc: Int, strideC: Int, batch: Int) {
        guard batch > 0 else { return }
        let aCount = (batch - 1) * strideA + (transposeA ? (k - 1) * lda + m : (m - 1) * lda + k)
        let bCount = (batch - 1) * strideB + (transposeB ? (n - 1) * ldb + k : (k - 1) * ldb + n)
        let aPointer = floats(a, aCount, "batchedGemm A")
        let bPointer = floats(b, bCount, "batchedGemm B")
        let cPointer = floats(c, (batch - 1) * strideC + (m - 1) * ldc + n, "batchedGemm C")
        Parallel.forEachRange(count: batch, threads: threads) { range in
            for item in range {
                Self.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: aPointer + item * strideA, lda: lda, b: bPointer + item * strideB, ldb: ldb,
                           beta: beta, c: cPointer + item * strideC, ldc: ldc)
            }
        }
    }

    /// The bias is written into each output row first (by the thread that owns the rows), then the product is
    /// accumulated onto it (`β = 1`).
    public func linear(input: Tensor, weight: Tensor, bias: Tensor?, output: Tensor,
                       rows: Int, inFeatures: Int, outFeatures: Int) {
        let x = floats(input, rows * inFeatures, "linear input")
        let w = floats(weight, outFeatures * inFeatures, "linear weight")
        let y = floats(output, rows * outFeatures, "linear output")
        let b = bias.map { floats($0, outFeatures, "linear bias") }
        let chunks = rows >= threads * Self.minimumRowsPerThread ? threads : 1
        Parallel.forEachRange(count: rows, threads: chunks) { range in
            if let b {
                for row in range { (y + row * outFeatures).update(from: b, count: outFeatures) }
            }
            Self.sgemm(transposeA: false, transposeB: true, m: range.count, n: outFeatures, k: inFeatures, alpha: 1,
                       a: x + range.lowerBound * inFeatures, lda: inFeatures, b: w, ldb: inFeatures,
                       beta: b == nil ? 0 : 1, c: y + range.lowerBound * outFeatures, ldc: outFeatures)
        }
    }

    /// `dx = dy·W` and `dW += dyᵀ·x` as two split `sgemm`s; `db += Σ_rows dy` by `addColumnSums`.
    public func linearBackward(input: Tensor, weight: Tensor, outputGradient: Tensor, inputGradient: Tensor?,
                               weightGradient: Tensor, biasGradient: Tensor?, rows: Int, inFeatures: Int, outFeatures: Int) {
        let x = floats(input, rows * inFeatures, "linearBackward input")
        let w = floats(weight, outFeatures * inFeatures, "linearBackward weight")
        let dy = floats(outputGradient, rows * outFeatures, "linearBackward outputGradient")
        let dw = floats(weightGradient, outFeatures * inFeatures, "linearBackward weightGradient")
        if let inputGradient {
            parallelSGEMM(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures, alpha: 1,
                          a: dy, lda: outFeatures, b: w, ldb: inFeatures, beta: 0,
                          c: floats(inputGradient, rows * inFeatures, "linearBackward inputGradient"), ldc: inFeatures)
        }
        parallelSGEMM(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows, alpha: 1,
                      a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dw, ldc: inFeatures)
        if let biasGradient {
            addColumnSums(of: dy, rows: rows, columns: outFeatures,
                          into: floats(biasGradient, outFeatures, "linearBackward biasGradient"))
        }
    }

    /// `target[c] += Σ_r matrix[r, c]` for a row-major `[rows, columns]` matrix, split over the threads by
    /// columns (each thread walks every row over its own columns, so no partial sums need merging).
    func addColumnSums(of matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>) {
        addColumnSums(rows: rows, columns: columns, into: target) { row, column, lanes in
            matrix.vector(at: row * columns + column, lanes: lanes)
        }
    }

    /// `target[c] += Σ_r term(r, c)`, split over the threads by columns; `term(row, column, lanes)` gives the terms
    /// of columns `column ..< column + lanes` (`lanes` ≤ 8; lanes past it are ignored) as one vector, and is inlined
    /// into the loop. Each column's terms are added in row order, from zero, then added to the target: the same
    /// sums, bit for bit, as a scalar loop over the rows.
    @inline(__always)
    func addColumnSums(rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>,
                       _ term: (_ row: Int, _ column: Int, _ lanes: Int) -> SIMD8<Float>) {
        Parallel.forEachRange(count: columns, threads: threads, minimumChunk: 64) { range in
            let count = range.count, full = count & ~7, first = range.lowerBound
            // Padded to whole vectors: the tail vector's spare lanes collect ignored values.
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: full + 8)
            defer { sums.deallocate() }
            sums.initialize(repeating: 0, count: full + 8)
            for row in 0..<rows {
                var offset = 0
                while offset < full {
                    sums.store(sums.vector(at: offset) + term(row, first + offset, 8), at: offset)
                    offset += 8
                }
                if full < count {
                    sums.store(sums.vector(at: full) + term(row, first + full, count - full), at: full)
                }
            }
            for column in range { target[column] += sums[column - first] }
        }
    }

    /// Rows (or columns) per thread below which a product is not split.
    static let minimumRowsPerThread = 32

    /// `sgemm` split over the backend's threads: by rows of `C` when there are enough, else by its columns;
    /// each part is one single-threaded OpenBLAS call (BLAS itself runs single-threaded, see `CPUBackend`).
    func parallelSGEMM(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m >= threads * Self.minimumRowsPerThread {
            Parallel.forEachRange(count: m, threads: threads) { rows in
                Self.sgemm(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: n, k: k, alpha: alpha,
                           a: a + (transposeA ? rows.lowerBound : rows.lowerBound * lda), lda: lda, b: b, ldb: ldb,
                           beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else if n >= threads * Self.minimumRowsPerThread {
            Parallel.forEachRange(count: n, threads: threads) { columns in
                Self.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: columns.count, k: k, alpha: alpha,
                           a: a, lda: lda, b: b + (transposeB ? columns.lowerBound * ldb : columns.lowerBound), ldb: ldb,
                           beta: beta, c: c + columns.lowerBound, ldc: ldc)
            }
        } else {
            Self.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// Row-major `cblas_sgemm`.
    @inline(__always)
    static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
