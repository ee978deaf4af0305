import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CUDA

/// The run-time loaders name what they tried and why, and a library without the CUDA entry points is reported by
/// the missing symbol — the errors a machine without a driver or toolkit shows.
@Suite struct LoaderTests {
    @Test func aMissingLibraryListsEveryCandidateWithItsReason() {
        let candidates = ["libdistill-bogus.so.1", "/nonexistent/folder/libdistill-bogus.so"]
        #expect {
            _ = try DynamicLibrary.open("libbogus", candidates: candidates)
        } throws: { error in
            guard case CUDAError.libraryMissing(let library, let attempts) = error else { return false }
            let text = "\(error)"
            return library == "libbogus" && attempts.map(\.candidate) == candidates
                && attempts.allSatisfy { $0.reason.contains("No such file") || $0.reason.contains("cannot open") }
                && text.hasPrefix("libbogus could not be loaded (tried 2: ")
                && text.contains("libdistill-bogus.so.1") && text.contains("/nonexistent/folder/libdistill-bogus.so")
        }
    }

    @Test func driverNVRTCAndCuBLASLtLoadersReportTheirCandidates() {
        #expect(throws: CUDAError.libraryMissing(library: "libcuda", attempts: [
            .init(candidate: "libcuda-bogus.so.1", reason: "libcuda-bogus.so.1: cannot open shared object file: No such file or directory"),
        ])) {
            _ = try CUDADriver.load(candidates: ["libcuda-bogus.so.1"])
        }
        #expect(throws: CUDAError.libraryMissing(library: "libnvrtc", attempts: [
            .init(candidate: "/nonexistent/libnvrtc.so.13", reason: "/nonexistent/libnvrtc.so.13: cannot open shared object file: No such file or directory"),
        ])) {
            _ = try NVRTC.load(candidates: ["/nonexistent/libnvrtc.so.13"])
        }
        #expect(throws: CUDAError.libraryMissing(library: "libcublasLt", attempts: [
            .init(candidate: "libcublasLt-bogus.so.13", reason: "libcublasLt-bogus.so.13: cannot open shared object file: No such file or directory"),
        ])) {
            _ = try CUBLASLt.load(candidates: ["libcublasLt-bogus.so.13"])
        }
    }

    @Test func aLibraryWithoutTheEntryPointsNamesTheFirstMissingSymbol() {
        #expect(throws: CUDAError.symbolMissing(library: "libc.so.6", symbol: "cuInit")) {
            _ = try CUDADriver.load(candidates: ["libc.so.6"])
        }
        #expect(throws: CUDAError.symbolMissing(library: "libc.so.6", symbol: "nvrtcVersion")) {
            _ = try NVRTC.load(candidates: ["libc.so.6"])
        }
        #expect("\(CUDAError.symbolMissing(library: "libc.so.6", symbol: "cuInit"))"
            == "libc.so.6 has no symbol cuInit (driver or toolkit too old?)")
    }

    @Test func nvrtcCandidatesPutAnExplicitPathFirst() {
        let folder = NVRTC.candidates(explicitPath: "/opt/nvrtc/lib")
        #expect(Array(folder.prefix(3)) == ["/opt/nvrtc/lib/libnvrtc.so.13", "/opt/nvrtc/lib/libnvrtc.so.12", "/opt/nvrtc/lib/libnvrtc.so"])
        #expect(folder.contains("libnvrtc.so.13") && folder.contains("/usr/local/cuda/lib64/libnvrtc.so.12"))
        #expect(NVRTC.candidates(explicitPath: "/x/libnvrtc.so.13").first == "/x/libnvrtc.so.13")
        #expect(Set(folder).count == folder.count)
    }

    @Test func errorsNameTheCallAndTheCode() {
        #expect("\(CUDAError.driver(call: "cuMemAlloc_v2(1024 bytes)", code: 2, name: "CUDA_ERROR_OUT_OF_MEMORY", message: "out of memory"))"
            == "cuMemAlloc_v2(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory")
        #expect("\(CUDAError.cublas(call: "cublasLtMatmul", status: 15, name: CUDAError.cublasStatusName(15)))"
            == "cublasLtMatmul failed: CUBLAS_STATUS_NOT_SUPPORTED (15)")
        #expect("\(CUDAError.compileFailed(file: "layer_norm.cu", arch: "sm_90", log: "layer_norm.cu(3): error"))"
            == "NVRTC could not compile layer_norm.cu for sm_90:\nlayer_norm.cu(3): error")
        #expect(CUDAError.cublasStatusName(7) == "CUBLAS_STATUS_INVALID_VALUE")
        #expect(CUDAError.cublasStatusName(99) == "CUBLAS_STATUS_99")
    }
}

/// `CUDABackend` on a machine without the driver is one `libraryMissing` error naming libcuda; with the driver it is
/// never that error (it opens the GPU, or names the failing driver call).
@Suite struct NoDriverTests {
    @Test func openingTheDeviceWithoutADriverNamesLibcuda() {
        let driverLoads = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) != nil
        do {
            _ = try CUDABackend(ordinal: 0)
            #expect(driverLoads, "a backend opened without libcuda.so.1")
        } catch {
            if driverLoads {
                if case .libraryMissing(let library, _) = error { #expect(library != "libcuda") }
            } else {
                guard case .libraryMissing(let library, let attempts) = error else { Issue.record("\(error)"); return }
                #expect(library == "libcuda" && attempts.contains { $0.candidate == "libcuda.so.1" })
                #expect("\(error)".hasPrefix("libcuda could not be loaded (tried "))
            }
        }
    }
}
