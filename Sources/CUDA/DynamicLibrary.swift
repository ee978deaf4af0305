#if canImport(Glibc)
import Glibc
#endif

/// A shared library opened at run time with `dlopen` (never linked): the CUDA driver, NVRTC and cuBLASLt are
/// found on the machine that runs the binary, so a build without CUDA compiles and tests everything else
/// (DESIGN.md §4; swift-notes.md §4.3).
///
/// The handle stays open for the life of the process (the function tables point into it).
struct DynamicLibrary: @unchecked Sendable {
    /// The name or path that opened, from the candidate list.
    let path: String
    let handle: UnsafeMutableRawPointer
    /// The family name used in messages (`libcuda`, `libnvrtc`, `libcublasLt`).
    let library: String

    /// Opens the first candidate that loads (`RTLD_NOW | RTLD_LOCAL`).
    /// - Parameters:
    ///   - library: the family name for messages.
    ///   - candidates: sonames (searched by the dynamic linker: `LD_LIBRARY_PATH`, the ld cache) or paths, in order.
    /// - Throws: `CUDAError.libraryMissing` listing every candidate tried with `dlerror`'s reason.
    static func open(_ library: String, candidates: [String]) throws(CUDAError) -> DynamicLibrary {
        var attempts: [CUDAError.LoadAttempt] = []
        for candidate in candidates {
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_LOCAL) {
                return DynamicLibrary(path: candidate, handle: handle, library: library)
            }
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            attempts.append(CUDAError.LoadAttempt(candidate: candidate, reason: reason))
        }
        throw .libraryMissing(library: library, attempts: attempts)
    }

    /// The address of `symbol` as a C function of type `T`.
    /// - Throws: `CUDAError.symbolMissing` naming the library file and the symbol.
    func function<T>(_ symbol: String, as type: T.Type = T.self) throws(CUDAError) -> T {
        guard let address = dlsym(handle, symbol) else { throw .symbolMissing(library: path, symbol: symbol) }
        return unsafeBitCast(address, to: type)
    }

    /// The address of `symbol` as `T`, or nil when the library does not export it (optional entry points).
    func optionalFunction<T>(_ symbol: String, as type: T.Type = T.self) -> T? {
        guard let address = dlsym(handle, symbol) else { return nil }
        return unsafeBitCast(address, to: type)
    }

    /// Candidates for a library shipped with the CUDA toolkit: the sonames `names` (found through
    /// `LD_LIBRARY_PATH` and the ld cache), then each name inside `$<override>` (a file or a folder), `$CUDA_HOME/lib64`
    /// and `/usr/local/cuda/lib64`.
    static func toolkitCandidates(names: [String], override: String) -> [String] {
        var candidates: [String] = []
        if let value = environment(override), !value.isEmpty {
            if value.hasSuffix(".so") || value.contains(".so.") { candidates.append(value) } else {
                candidates += names.map { value + "/" + $0 }
            }
        }
        candidates += names
        if let home = environment("CUDA_HOME"), !home.isEmpty { candidates += names.map { home + "/lib64/" + $0 } }
        candidates += names.map { "/usr/local/cuda/lib64/" + $0 }
        var seen = Set<String>()
        return candidates.filter { seen.insert($0).inserted }
    }

    /// `getenv` as a Swift string.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
