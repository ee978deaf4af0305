/// cuBLASLt (`libcublasLt.so.13` / `.so.12`), loaded with `dlopen`: the GEMMs of the CUDA forward (bf16 inputs,
/// fp32 accumulation, bf16 or f32 outputs, bias epilogue). Enum values are those of `cublasLt.h` /
/// `library_types.h` (CUDA 12–13), written out because no header is included.
public struct CUBLASLt: @unchecked Sendable {
    typealias Status = Int32
    typealias Handle = OpaquePointer?

    public var path: String { library.path }
    let library: DynamicLibrary
    let cublasLtCreate: @convention(c) (UnsafeMutablePointer<Handle>) -> Status
    let cublasLtDestroy: @convention(c) (Handle) -> Status
    let cublasLtGetVersion: @convention(c) () -> Int
    let cublasLtMatmulDescCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, Int32) -> Status
    let cublasLtMatmulDescDestroy: @convention(c) (Handle) -> Status
    let cublasLtMatmulDescSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatrixLayoutCreate: @convention(c) (UnsafeMutablePointer<Handle>, Int32, UInt64, UInt64, Int64) -> Status
    let cublasLtMatrixLayoutDestroy: @convention(c) (Handle) -> Status
    let cublasLtMatrixLayoutSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatmulPreferenceCreate: @convention(c) (UnsafeMutablePointer<Handle>) -> Status
    let cublasLtMatmulPreferenceDestroy: @convention(c) (Handle) -> Status
    let cublasLtMatmulPreferenceSetAttribute: @convention(c) (Handle, Int32, UnsafeRawPointer, Int) -> Status
    let cublasLtMatmulAlgoGetHeuristic: @convention(c) (Handle, Handle, Handle, Handle, Handle, Handle, Handle, Int32,
                                                        UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> Status
    let cublasLtMatmul: @convention(c) (Handle, Handle, UnsafeRawPointer, UInt64, Handle, UInt64, Handle,
                                        UnsafeRawPointer, UInt64, Handle, UInt64, Handle, UnsafeRawPointer?,
                                        UInt64, Int, Handle) -> Status
    let cublasLtGetStatusName: (@convention(c) (Status) -> UnsafePointer<CChar>?)?

    /// Sonames searched, newest first.
    public static let names = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]

    /// The sonames, then inside `$DISTILL_CUBLASLT` (file or folder), `$CUDA_HOME/lib64`, `/usr/local/cuda/lib64`.
    public static var candidates: [String] { DynamicLibrary.toolkitCandidates(names: names, override: "DISTILL_CUBLASLT") }

    /// - Throws: `CUDAError.libraryMissing` (what was tried, and why), `.symbolMissing`.
    public static func load(candidates: [String] = CUBLASLt.candidates) throws(CUDAError) -> CUBLASLt {
        try CUBLASLt(library: DynamicLibrary.open("libcublasLt", candidates: candidates))
    }

    private init(library l: DynamicLibrary) throws(CUDAError) {
        library = l
        cublasLtCreate = try l.function("cublasLtCreate")
        cublasLtDestroy = try l.function("cublasLtDestroy")
        cublasLtGetVersion = try l.function("cublasLtGetVersion")
        cublasLtMatmulDescCreate = try l.function("cublasLtMatmulDescCreate")
        cublasLtMatmulDescDestroy = try l.function("cublasLtMatmulDescDestroy")
        cublasLtMatmulDescSetAttribute = try l.function("cublasLtMatmulDescSetAttribute")
        cublasLtMatrixLayoutCreate = try l.function("cublasLtMatrixLayoutCreate")
        cublasLtMatrixLayoutDestroy = try l.function("cublasLtMatrixLayoutDestroy")
        cublasLtMatrixLayoutSetAttribute = try l.function("cublasLtMatrixLayoutSetAttribute")
        cublasLtMatmulPreferenceCreate = try l.function("cublasLtMatmulPreferenceCreate")
        cublasLtMatmulPreferenceDestroy = try l.function("cublasLtMatmulPreferenceDestroy")
        cublasLtMatmulPreferenceSetAttribute = try l.function("cublasLtMatmulPreferenceSetAttribute")
        cublasLtMatmulAlgoGetHeuristic = try l.function("cublasLtMatmulAlgoGetHeuristic")
        cublasLtMatmul = try l.function("cublasLtMatmul")
        cublasLtGetStatusName = l.optionalFunction("cublasLtGetStatusName")
    }

    /// Throws `CUDAError.cublas` naming `call` and the status when `status` is not `CUBLAS_STATUS_SUCCESS`.
    func check(_ status: Status, _ call: @autoclosure () -> String) throws(CUDAError) {
        guard status != 0 else { return }
        let name = cublasLtGetStatusName?(status).map { String(cString: $0) } ?? CUDAError.cublasStatusName(status)
        throw .cublas(call: call(), status: status, name: name)
    }

    /// `cudaDataType_t` (library_types.h).
    enum DataType: Int32 {
        case f32 = 0
        case bf16 = 14
    }
    /// `CUBLAS_COMPUTE_32F`.
    static let compute32F: Int32 = 68
    /// `cublasLtMatmulDescAttributes_t`.
    enum DescAttribute: Int32 {
        case transA = 3, transB = 4, epilogue = 7, biasPointer = 8, biasDataType = 26
    }
    /// `cublasLtMatrixLayoutAttribute_t`.
    enum LayoutAttribute: Int32 {
        case batchCount = 5, stridedBatchOffset = 6
    }
    /// `CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES` (uint64) and `…_MIN_ALIGNMENT_{A,B,C,D}_BYTES` (uint32).
    static let preferenceMaxWorkspaceBytes: Int32 = 1
    static let preferenceMinAlignmentA: Int32 = 5
    static let preferenceMinAlignmentB: Int32 = 6
    static let preferenceMinAlignmentC: Int32 = 7
    static let preferenceMinAlignmentD: Int32 = 8
    /// `cublasLtEpilogue_t`: `CUBLASLT_EPILOGUE_DEFAULT` / `CUBLASLT_EPILOGUE_BIAS`.
    static let epilogueDefault: Int32 = 1
    static let epilogueBias: Int32 = 4
    /// `cublasOperation_t`.
    static let opN: Int32 = 0
    static let opT: Int32 = 1
    /// `sizeof(cublasLtMatmulHeuristicResult_t)`: a 64-byte algo, `size_t workspaceSize`, `cublasStatus_t state`,
    /// `float wavesCount`, `int reserved[4]` = 96 bytes; `workspaceSize` at byte 64, `state` at 72.
    static let heuristicResultBytes = 96
}
