/// The cuBLASLt objects of one `MatmulShape` at given operand alignments: the matmul descriptor (fp32 compute and
/// scale, transposes, epilogue), the three matrix layouts (C and D share one), and the first algorithm
/// `cublasLtMatmulAlgoGetHeuristic` returns within the workspace. Made once per key, kept for the process (shapes
/// repeat every layer and batch).
///
/// The heuristic assumes 256-byte aligned operands unless told otherwise (`CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*`,
/// default 256): parameter views and per-(image, head) batches can be less aligned, so the key carries each
/// operand's real alignment and the preference states it.
final class MatmulPlan: @unchecked Sendable {
    /// A shape and the byte alignment (a power of two ≤ 256) of A, B and D, including every batch's start.
    struct Key: Hashable, Sendable {
        let shape: MatmulShape
        let alignA: Int
        let alignB: Int
        let alignD: Int
    }

    /// The largest power of two ≤ 256 dividing `address` and `strideBytes` (the batch stride; 0 when unbatched).
    static func alignment(_ address: UInt64, strideBytes: Int) -> Int {
        let bits = address | UInt64(strideBytes) | 256
        return 1 << bits.trailingZeroBitCount
    }

    let operation: OpaquePointer
    let layoutA: OpaquePointer
    let layoutB: OpaquePointer
    let layoutD: OpaquePointer
    private let blas: CUBLASLt
    /// The heuristic result (`cublasLtMatmulHeuristicResult_t`, 96 bytes); its first 64 bytes are the algorithm.
    let algorithm: [UInt8]

    init(key: Key, blas: CUBLASLt, handle: OpaquePointer, workspaceBytes: Int) throws(CUDAError) {
        let shape = key.shape
        self.blas = blas
        var description: OpaquePointer?
        try blas.check(blas.cublasLtMatmulDescCreate(&description, CUBLASLt.compute32F, CUBLASLt.DataType.f32.rawValue),
                       "cublasLtMatmulDescCreate")
        self.operation = description!
        func set(_ attribute: CUBLASLt.DescAttribute, _ value: Int32) throws(CUDAError) {
            var value = value
            try blas.check(blas.cublasLtMatmulDescSetAttribute(description, attribute.rawValue, &value, 4),
                           "cublasLtMatmulDescSetAttribute(\(attribute))")
        }
        try set(.transA, shape.transA ? CUBLASLt.opT : CUBLASLt.opN)
        try set(.transB, shape.transB ? CUBLASLt.opT : CUBLASLt.opN)
        try set(.epilogue, shape.bias ? CUBLASLt.epilogueBias : CUBLASLt.epilogueDefault)
        if shape.bias { try set(.biasDataType, (shape.outputF32 ? CUBLASLt.DataType.f32 : .bf16).rawValue) }

        func layout(_ type: CUBLASLt.DataType, _ size: (rows: Int, columns: Int), ld: Int, stride: Int) throws(CUDAError) -> OpaquePointer {
            var layout: OpaquePointer?
            try blas.check(blas.cublasLtMatrixLayoutCreate(&layout, type.rawValue, UInt64(size.rows), UInt64(size.columns), Int64(ld)),
                           "cublasLtMatrixLayoutCreate(\(size.rows)×\(size.columns), ld \(ld))")
            if shape.batch > 1 {
                var count = Int32(shape.batch)
                try blas.check(blas.cublasLtMatrixLayoutSetAttribute(layout, CUBLASLt.LayoutAttribute.batchCount.rawValue, &count, 4),
                               "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)")
                var offset = Int64(stride)
                try blas.check(blas.cublasLtMatrixLayoutSetAttribute(layout, CUBLASLt.LayoutAttribute.stridedBatchOffset.rawValue,
                                                                     &offset, 8),
                               "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)")
            }
            return layout!
        }
        let layoutA = try layout(.bf16, shape.storedA, ld: shape.lda, stride: shape.strideA)
        let layoutB = try layout(.bf16, shape.storedB, ld: shape.ldb, stride: shape.strideB)
        let layoutD = try layout(shape.outputF32 ? .f32 : .bf16, (shape.m, shape.n), ld: shape.ldd, stride: shape.strideD)
        self.layoutA = layoutA
        self.layoutB = layoutB
        self.layoutD = layoutD

        var preference: OpaquePointer?
        try blas.check(blas.cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate")
        defer { _ = blas.cublasLtMatmulPreferenceDestroy(preference) }
        var workspace = UInt64(workspaceBytes)
        try blas.check(blas.cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLt.preferenceMaxWorkspaceBytes, &workspace, 8),
                       "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)")
        for (attribute, alignment) in [(CUBLASLt.preferenceMinAlignmentA, key.alignA), (CUBLASLt.preferenceMinAlignmentB, key.alignB),
                                       (CUBLASLt.preferenceMinAlignmentC, key.alignD), (CUBLASLt.preferenceMinAlignmentD, key.alignD)] {
            var bytes = UInt32(alignment)
            try blas.check(blas.cublasLtMatmulPreferenceSetAttribute(preference, attribute, &bytes, 4),
                           "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT \(attribute): \(alignment))")
        }
        var result = [UInt8](repeating: 0, count: CUBLASLt.heuristicResultBytes)
        var found: Int32 = 0
        let status = result.withUnsafeMutableBytes { bytes in
            blas.cublasLtMatmulAlgoGetHeuristic(handle, description, layoutA, layoutB, layoutD, layoutD, preference, 1,
                                                bytes.baseAddress!, &found)
        }
        try blas.check(status, "cublasLtMatmulAlgoGetHeuristic(\(shape))")
        guard found > 0 else {
            throw .noMatmulAlgorithm(shape: "\(shape) (alignment A \(key.alignA), B \(key.alignB), D \(key.alignD) bytes)")
        }
        algorithm = result
    }

    deinit {
        _ = blas.cublasLtMatrixLayoutDestroy(layoutA)
        _ = blas.cublasLtMatrixLayoutDestroy(layoutB)
        _ = blas.cublasLtMatrixLayoutDestroy(layoutD)
        _ = blas.cublasLtMatmulDescDestroy(operation)
    }
}
