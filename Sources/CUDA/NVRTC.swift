#if canImport(Glibc)
import Glibc
#endif

/// NVRTC (`libnvrtc.so.13` / `.so.12`), loaded with `dlopen`: compiles the CUDA C kernel sources at run time
/// for the device's compute capability. Needs no GPU and no driver, so `distill cuda compile` runs anywhere the
/// library is (CI installs it from the `nvidia-cuda-nvrtc` wheel).
public struct NVRTC: @unchecked Sendable {
    typealias Result = Int32
    typealias Program = OpaquePointer?

    /// The file that opened.
    public var path: String { library.path }
    let library: DynamicLibrary
    let nvrtcVersion: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Result
    let nvrtcGetErrorString: @convention(c) (Result) -> UnsafePointer<CChar>?
    let nvrtcCreateProgram: @convention(c) (UnsafeMutablePointer<Program>, UnsafePointer<CChar>, UnsafePointer<CChar>, Int32,
                                            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    let nvrtcDestroyProgram: @convention(c) (UnsafeMutablePointer<Program>) -> Result
    let nvrtcCompileProgram: @convention(c) (Program, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Result
    let nvrtcGetProgramLogSize: @convention(c) (Program, UnsafeMutablePointer<Int>) -> Result
    let nvrtcGetProgramLog: @convention(c) (Program, UnsafeMutablePointer<CChar>) -> Result
    let nvrtcGetPTXSize: @convention(c) (Program, UnsafeMutablePointer<Int>) -> Result
    let nvrtcGetPTX: @convention(c) (Program, UnsafeMutablePointer<CChar>) -> Result
    /// Absent before CUDA 11.1: then PTX is loaded instead (the driver JIT-compiles it).
    let nvrtcGetCUBINSize: (@convention(c) (Program, UnsafeMutablePointer<Int>) -> Result)?
    let nvrtcGetCUBIN: (@convention(c) (Program, UnsafeMutablePointer<CChar>) -> Result)?

    /// Sonames searched, newest first.
    public static let names = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]

    /// Where NVRTC is looked for: `explicitPath` (a file or a folder) first, then `$DISTILL_NVRTC`, the sonames,
    /// `$CUDA_HOME/lib64`, `/usr/local/cuda/lib64`.
    public static func candidates(explicitPath: String? = nil) -> [String] {
        var list: [String] = []
        if let explicitPath, !explicitPath.isEmpty {
            list += explicitPath.contains(".so") ? [explicitPath] : names.map { explicitPath + "/" + $0 }
        }
        return list + DynamicLibrary.toolkitCandidates(names: names, override: "DISTILL_NVRTC")
    }

    /// Opens NVRTC from `candidates` and binds its entry points. NVRTC loads `libnvrtc-builtins.so.<major>.<minor>`
    /// by soname when it compiles; when the library was found by path, the builtins beside it are opened first
    /// (`RTLD_GLOBAL`), so no `LD_LIBRARY_PATH` is needed.
    /// - Throws: `CUDAError.libraryMissing` listing every candidate and the reason, `.symbolMissing`.
    public static func load(candidates: [String] = NVRTC.candidates()) throws(CUDAError) -> NVRTC {
        let library = try DynamicLibrary.open("libnvrtc", candidates: candidates)
        if let slash = library.path.lastIndex(of: "/") {
            preloadBuiltins(folder: String(library.path[..<slash]))
        }
        return try NVRTC(library: library)
    }

    /// The process-wide NVRTC from the default candidates, loaded once.
    public static func shared() throws(CUDAError) -> NVRTC { try sharedResult.get() }
    private static let sharedResult: Swift.Result<NVRTC, CUDAError> = {
        Swift.Result { () throws(CUDAError) -> NVRTC in try load() }
    }()

    private init(library l: DynamicLibrary) throws(CUDAError) {
        library = l
        nvrtcVersion = try l.function("nvrtcVersion")
        nvrtcGetErrorString = try l.function("nvrtcGetErrorString")
        nvrtcCreateProgram = try l.function("nvrtcCreateProgram")
        nvrtcDestroyProgram = try l.function("nvrtcDestroyProgram")
        nvrtcCompileProgram = try l.function("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try l.function("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try l.function("nvrtcGetProgramLog")
        nvrtcGetPTXSize = try l.function("nvrtcGetPTXSize")
        nvrtcGetPTX = try l.function("nvrtcGetPTX")
        nvrtcGetCUBINSize = l.optionalFunction("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = l.optionalFunction("nvrtcGetCUBIN")
    }

    /// `(major, minor)` of the library.
    public func version() throws(CUDAError) -> (major: Int, minor: Int) {
        var major: Int32 = 0, minor: Int32 = 0
        try check(nvrtcVersion(&major, &minor), "nvrtcVersion")
        return (Int(major), Int(minor))
    }

    /// Compiles `source` for `arch` (`sm_90`: CUBIN when the library can emit it; `compute_90`: PTX).
    /// - Returns: the image for `cuModuleLoadData` (a NUL-terminated PTX text when `isPTX`).
    /// - Throws: `CUDAError.compileFailed` with `source.file` and NVRTC's log, `.nvrtc` for other failures.
    public func compile(_ source: CUDAKernelSource, arch: String) throws(CUDAError) -> CompiledKernels {
        var program: Program = nil
        let text = source.fullText
        try check(text.withCString { code in
            source.file.withCString { name in nvrtcCreateProgram(&program, code, name, 0, nil, nil) }
        }, "nvrtcCreateProgram(\(source.file))")
        defer { _ = nvrtcDestroyProgram(&program) }
        let wantsCUBIN = arch.hasPrefix("sm_") && nvrtcGetCUBIN != nil
        let archOption = wantsCUBIN ? arch : "compute_" + arch.drop(while: { !$0.isNumber })
        let options = ["--gpu-architecture=\(archOption)", "--std=c++17", "-default-device"]
        let result = withCStrings(options) { pointers in nvrtcCompileProgram(program, Int32(pointers.count), pointers.baseAddress) }
        if result != 0 {
            let log = programLog(program)
            throw .compileFailed(file: source.file, arch: archOption, log: log.isEmpty ? errorString(result) : log)
        }
        var size = 0
        if wantsCUBIN, let getSize = nvrtcGetCUBINSize, let get = nvrtcGetCUBIN {
            try check(getSize(program, &size), "nvrtcGetCUBINSize(\(source.file))")
            var bytes = [UInt8](repeating: 0, count: size)
            try check(bytes.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { get(program, $0.baseAddress!) }
            }, "nvrtcGetCUBIN(\(source.file))")
            return CompiledKernels(source: source, arch: archOption, image: bytes, isPTX: false)
        }
        try check(nvrtcGetPTXSize(program, &size), "nvrtcGetPTXSize(\(source.file))")
        var bytes = [UInt8](repeating: 0, count: size)
        try check(bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { nvrtcGetPTX(program, $0.baseAddress!) }
        }, "nvrtcGetPTX(\(source.file))")
        return CompiledKernels(source: source, arch: archOption, image: bytes, isPTX: true)
    }

    private func programLog(_ program: Program) -> String {
        var size = 0
        guard nvrtcGetProgramLogSize(program, &size) == 0, size > 1 else { return "" }
        var log = [CChar](repeating: 0, count: size)
        guard nvrtcGetProgramLog(program, &log) == 0 else { return "" }
        return log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private func errorString(_ result: Result) -> String {
        nvrtcGetErrorString(result).map { String(cString: $0) } ?? "NVRTC error \(result)"
    }

    private func check(_ result: Result, _ call: @autoclosure () -> String) throws(CUDAError) {
        guard result != 0 else { return }
        throw .nvrtc(call: call(), code: result, message: errorString(result))
    }

    /// Opens `libnvrtc-builtins.so.*` found in `folder` (globally), so NVRTC's own `dlopen` of it by soname succeeds.
    private static func preloadBuiltins(folder: String) {
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasPrefix("libnvrtc-builtins.so.") { _ = dlopen(folder + "/" + name, RTLD_NOW | RTLD_GLOBAL) }
        }
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (valid during the call).
func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer { body($0) }
}

/// One kernel source compiled for one architecture.
public struct CompiledKernels: Sendable {
    public let source: CUDAKernelSource
    /// `sm_XY` (CUBIN) or `compute_XY` (PTX).
    public let arch: String
    /// The CUBIN bytes, or the PTX text with its terminating NUL.
    public let image: [UInt8]
    public let isPTX: Bool
}
