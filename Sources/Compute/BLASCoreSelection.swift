import CBLAS

#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernel family this process runs, and why.
///
/// OpenBLAS built with `DYNAMIC_ARCH` (Debian's 0.3.21) picks its kernels from the CPU model when it loads. A CPU
/// model it does not know — virtual machines often report a generic "Intel Xeon Processor" — gets its last-resort
/// **Prescott** (SSE3) kernels, whatever the CPU supports: on the 2-core development VM (AVX-512) sgemm then runs
/// ~6× slower than with the SkylakeX kernels (`docs/compute.md`).
///
/// So, once per process, before `CPUBackend` makes its first BLAS call: **if** `OPENBLAS_CORETYPE` is not set (a
/// host that sets it has chosen, and is never overridden), **and** OpenBLAS fell back to Prescott, **and** the CPU
/// flags the kernel reports (`/proc/cpuinfo`) include AVX-512 F/BW/DQ/VL (→ SkylakeX kernels) or AVX2 and FMA
/// (→ Haswell kernels), **and** the library exports its `gotoblas_dynamic_quit`/`gotoblas_dynamic_init`
/// entry points, the kernel table is re-selected through them with `OPENBLAS_CORETYPE` set to the family for the
/// duration of the call (it is removed again, so child processes are unaffected). Otherwise nothing changes.
/// To keep the fallback, set `OPENBLAS_CORETYPE=Prescott`.
public struct BLASCoreSelection: Sendable, Equatable, Codable {
    /// The family OpenBLAS chose when it loaded.
    public let detected: String
    /// The family in use (`openblas_get_corename`).
    public let selected: String
    /// Why `selected` is what it is.
    public let reason: String

    /// The selection of this process, made on first use.
    public static let current: BLASCoreSelection = select()

    static func select() -> BLASCoreSelection {
        let detected = String(cString: openblas_get_corename())
        func keep(_ reason: String) -> BLASCoreSelection { BLASCoreSelection(detected: detected, selected: detected, reason: reason) }
        if let forced = getenv("OPENBLAS_CORETYPE") {
            return keep("OPENBLAS_CORETYPE=\(String(cString: forced)) is set")
        }
        guard detected.lowercased() == "prescott" else { return keep("chosen by OpenBLAS for this CPU") }
        let flags = cpuFlags()
        let family: String
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
            family = "SkylakeX"
        } else if flags.contains("avx2") && flags.contains("fma") {
            family = "Haswell"
        } else {
            return keep("OpenBLAS's fallback; the CPU has neither AVX-512 nor AVX2")
        }
        guard let library = dlopen(nil, RTLD_NOW), let quit = dlsym(library, "gotoblas_dynamic_quit"),
              let initialise = dlsym(library, "gotoblas_dynamic_init") else {
            return keep("OpenBLAS's fallback; this OpenBLAS cannot re-select its kernels")
        }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", family, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialise, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return BLASCoreSelection(detected: detected, selected: String(cString: openblas_get_corename()),
                                 reason: "OpenBLAS fell back to Prescott on an unrecognised CPU with \(family == "SkylakeX" ? "AVX-512" : "AVX2")")
    }

    /// The `flags` of the first processor in /proc/cpuinfo (empty when unreadable).
    static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(separator: ":", maxSplits: 1).last?.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) ?? [])
            }
        }
        return []
    }
}
