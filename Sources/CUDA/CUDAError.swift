/// Everything that can go wrong between this process and a GPU: a library that does not load, a symbol it lacks,
/// a driver call that fails (named with its `CUresult` name and code), an NVRTC compile (with the kernel file and
/// the compiler's log), a cuBLASLt status. One enum so callers report a single clear line.
public enum CUDAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One `dlopen` attempt and the dynamic linker's reason.
    public struct LoadAttempt: Sendable, Equatable, CustomStringConvertible {
        public let candidate: String
        public let reason: String
        public var description: String { reason.hasPrefix(candidate) ? reason : "\(candidate): \(reason)" }
    }

    /// No candidate of `library` (`libcuda`, `libnvrtc`, `libcublasLt`) could be opened.
    case libraryMissing(library: String, attempts: [LoadAttempt])
    /// `library` opened but lacks `symbol` (a driver or toolkit too old for the versioned name).
    case symbolMissing(library: String, symbol: String)
    /// A driver API call returned `code` ≠ `CUDA_SUCCESS`; `name` is `cuGetErrorName`'s (e.g.
    /// `CUDA_ERROR_OUT_OF_MEMORY`), `message` `cuGetErrorString`'s.
    case driver(call: String, code: Int32, name: String, message: String)
    /// The machine has `count` CUDA devices, not ordinal `ordinal`.
    case noDevice(ordinal: Int, count: Int)
    /// An NVRTC call other than the compile failed (`nvrtcGetErrorString`'s text).
    case nvrtc(call: String, code: Int32, message: String)
    /// NVRTC rejected kernel source `file` for `arch`; `log` is the program log.
    case compileFailed(file: String, arch: String, log: String)
    /// A cuBLASLt call returned `status` (named as in `cublas_api.h`, e.g. `CUBLAS_STATUS_NOT_SUPPORTED`).
    case cublas(call: String, status: Int32, name: String)
    /// cuBLASLt's heuristic found no algorithm for a matmul (`shape` describes it).
    case noMatmulAlgorithm(shape: String)
    /// A size or layout the CUDA forward does not handle (the reason names it).
    case unsupported(String)

    public var description: String {
        switch self {
        case .libraryMissing(let library, let attempts):
            let tried = attempts.map(\.description).joined(separator: "; ")
            return "\(library) could not be loaded (tried \(attempts.count): \(tried))"
        case .symbolMissing(let library, let symbol):
            return "\(library) has no symbol \(symbol) (driver or toolkit too old?)"
        case .driver(let call, let code, let name, let message):
            return "\(call) failed: \(name) (\(code)): \(message)"
        case .noDevice(let ordinal, let count):
            return "no CUDA device \(ordinal): the driver reports \(count) device\(count == 1 ? "" : "s")"
        case .nvrtc(let call, let code, let message):
            return "\(call) failed: \(message) (\(code))"
        case .compileFailed(let file, let arch, let log):
            return "NVRTC could not compile \(file) for \(arch):\n\(log)"
        case .cublas(let call, let status, let name):
            return "\(call) failed: \(name) (\(status))"
        case .noMatmulAlgorithm(let shape):
            return "cublasLtMatmulAlgoGetHeuristic found no algorithm for \(shape)"
        case .unsupported(let reason):
            return "CUDA forward: \(reason)"
        }
    }

    /// The name of a `cublasStatus_t` (cublas_api.h).
    public static func cublasStatusName(_ status: Int32) -> String {
        switch status {
        case 0: "CUBLAS_STATUS_SUCCESS"
        case 1: "CUBLAS_STATUS_NOT_INITIALIZED"
        case 3: "CUBLAS_STATUS_ALLOC_FAILED"
        case 7: "CUBLAS_STATUS_INVALID_VALUE"
        case 8: "CUBLAS_STATUS_ARCH_MISMATCH"
        case 11: "CUBLAS_STATUS_MAPPING_ERROR"
        case 13: "CUBLAS_STATUS_EXECUTION_FAILED"
        case 14: "CUBLAS_STATUS_INTERNAL_ERROR"
        case 15: "CUBLAS_STATUS_NOT_SUPPORTED"
        case 16: "CUBLAS_STATUS_LICENSE_ERROR"
        default: "CUBLAS_STATUS_\(status)"
        }
    }
}
