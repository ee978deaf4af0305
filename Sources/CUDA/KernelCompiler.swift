import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Compiles `CUDAKernelSource`s with NVRTC and keeps the results for the life of the process, keyed by
/// (file, arch): a second `CUDABackend` on the same architecture, or a second model, compiles nothing.
public final class KernelCompiler: Sendable {
    /// One row of `distill cuda compile`'s table.
    public struct Report: Sendable, Codable {
        public let file: String
        public let arch: String
        public let ok: Bool
        /// CUBIN (or PTX) bytes; 0 on failure.
        public let bytes: Int
        /// `cubin` or `ptx`.
        public let format: String
        /// Wall seconds of the compile.
        public let seconds: Double
        /// Kernels the file defines.
        public let kernels: [String]
        /// NVRTC's error and log when `ok` is false.
        public let error: String?
    }

    public let nvrtc: NVRTC
    private let cache = Mutex<[String: CompiledKernels]>([:])

    public init(nvrtc: NVRTC) {
        self.nvrtc = nvrtc
    }

    /// The compiled image of `source` for `arch`, from the cache or compiled now.
    /// - Throws: `CUDAError.compileFailed` (file and log), `.nvrtc`.
    public func compiled(_ source: CUDAKernelSource, arch: String) throws(CUDAError) -> CompiledKernels {
        let key = source.file + "@" + arch
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let result = try nvrtc.compile(source, arch: arch)
        cache.withLock { $0[key] = result }
        return result
    }

    /// Compiles every source of `sources` for `arch` (uncached, timed): the check `distill cuda compile` runs.
    public func compileAll(_ sources: [CUDAKernelSource] = CUDAKernelSource.all, arch: String) -> [Report] {
        sources.map { source in
            var start = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            let outcome = Swift.Result { () throws(CUDAError) in try nvrtc.compile(source, arch: arch) }
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &end)
            let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
            switch outcome {
            case .success(let compiled):
                return Report(file: source.file, arch: compiled.arch, ok: true, bytes: compiled.image.count,
                              format: compiled.isPTX ? "ptx" : "cubin", seconds: seconds, kernels: source.kernels, error: nil)
            case .failure(let error):
                return Report(file: source.file, arch: arch, ok: false, bytes: 0, format: "-", seconds: seconds,
                              kernels: source.kernels, error: error.description)
            }
        }
    }
}
