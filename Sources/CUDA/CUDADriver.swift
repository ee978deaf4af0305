#if canImport(Glibc)
import Glibc
#endif

/// The CUDA driver API (`libcuda.so.1`), loaded with `dlopen`, as a table of typed C function pointers.
///
/// `cuda.h` `#define`s many entry points to versioned symbols; the table binds those names
/// (`cuMemAlloc_v2`, `cuMemcpyHtoDAsync_v2`, `cuDevicePrimaryCtxRelease_v2`, `cuStreamBeginCapture_v2` …), as
/// swift-notes.md §4.3 lists. Graph capture needs a driver of CUDA 11.4 or later (`cuGraphInstantiateWithFlags`).
/// Opaque handles (`CUcontext`, `CUmodule`, `CUfunction`, `CUstream`, `CUevent`) are `OpaquePointer?`,
/// `CUdeviceptr` is `UInt64`, `CUdevice` and `CUresult` are `Int32`, `size_t` is `Int`.
/// Every call goes through `check(_:_:)`, which turns a failure into `CUDAError.driver` with the call's name,
/// `cuGetErrorName` and `cuGetErrorString`.
public struct CUDADriver: @unchecked Sendable {
    typealias Result = Int32
    typealias Handle = OpaquePointer?

    let library: DynamicLibrary
    let cuInit: @convention(c) (UInt32) -> Result
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> Result
    let cuGetErrorName: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Result
    let cuGetErrorString: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Result
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Result
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Result
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Result
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Result
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Result
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<Handle>, Int32) -> Result
    let cuDevicePrimaryCtxRelease: @convention(c) (Int32) -> Result
    let cuCtxSetCurrent: @convention(c) (Handle) -> Result
    let cuCtxGetStreamPriorityRange: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Result
    let cuStreamCreateWithPriority: @convention(c) (UnsafeMutablePointer<Handle>, UInt32, Int32) -> Result
    let cuStreamDestroy: @convention(c) (Handle) -> Result
    let cuStreamSynchronize: @convention(c) (Handle) -> Result
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<UInt64>, Int) -> Result
    let cuMemFree: @convention(c) (UInt64) -> Result
    let cuMemGetInfo: @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Result
    let cuMemAllocHost: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, Int) -> Result
    let cuMemFreeHost: @convention(c) (UnsafeMutableRawPointer?) -> Result
    let cuMemcpyHtoDAsync: @convention(c) (UInt64, UnsafeRawPointer?, Int, Handle) -> Result
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, UInt64, Int, Handle) -> Result
    let cuMemcpyDtoDAsync: @convention(c) (UInt64, UInt64, Int, Handle) -> Result
    let cuMemsetD32Async: @convention(c) (UInt64, UInt32, Int, Handle) -> Result
    let cuMemsetD16Async: @convention(c) (UInt64, UInt16, Int, Handle) -> Result
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<Handle>, UnsafeRawPointer?) -> Result
    let cuModuleUnload: @convention(c) (Handle) -> Result
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<Handle>, Handle, UnsafePointer<CChar>) -> Result
    let cuFuncSetAttribute: @convention(c) (Handle, Int32, Int32) -> Result
    let cuLaunchKernel: @convention(c) (Handle, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, Handle,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Result
    let cuEventCreate: @convention(c) (UnsafeMutablePointer<Handle>, UInt32) -> Result
    let cuEventDestroy: @convention(c) (Handle) -> Result
    let cuEventRecord: @convention(c) (Handle, Handle) -> Result
    let cuEventSynchronize: @convention(c) (Handle) -> Result
    let cuStreamWaitEvent: @convention(c) (Handle, Handle, UInt32) -> Result
    let cuEventElapsedTime: @convention(c) (UnsafeMutablePointer<Float>, Handle, Handle) -> Result
    let cuStreamBeginCapture: @convention(c) (Handle, Int32) -> Result
    let cuStreamEndCapture: @convention(c) (Handle, UnsafeMutablePointer<Handle>) -> Result
    let cuGraphInstantiateWithFlags: @convention(c) (UnsafeMutablePointer<Handle>, Handle, UInt64) -> Result
    let cuGraphLaunch: @convention(c) (Handle, Handle) -> Result
    let cuGraphExecDestroy: @convention(c) (Handle) -> Result
    let cuGraphDestroy: @convention(c) (Handle) -> Result

    /// `libcuda.so.1` (the driver installs it in the ld cache), then `libcuda.so`, then `$DISTILL_LIBCUDA`.
    public static var candidates: [String] {
        var list: [String] = []
        if let value = DynamicLibrary.environment("DISTILL_LIBCUDA"), !value.isEmpty { list.append(value) }
        return list + ["libcuda.so.1", "libcuda.so"]
    }

    /// Opens the driver library and binds every entry point (no call is made; `CUDAContext` calls `cuInit`).
    /// - Parameter candidates: names or paths to try (default `candidates`).
    /// - Throws: `CUDAError.libraryMissing` (listing what was tried and why), `.symbolMissing`.
    public static func load(candidates: [String] = CUDADriver.candidates) throws(CUDAError) -> CUDADriver {
        try CUDADriver(library: DynamicLibrary.open("libcuda", candidates: candidates))
    }

    /// The process-wide driver table, loaded once (the outcome, success or error, is kept).
    public static func shared() throws(CUDAError) -> CUDADriver { try sharedResult.get() }
    private static let sharedResult: Swift.Result<CUDADriver, CUDAError> = {
        Swift.Result { () throws(CUDAError) -> CUDADriver in try load() }
    }()

    private init(library l: DynamicLibrary) throws(CUDAError) {
        library = l
        cuInit = try l.function("cuInit")
        cuDriverGetVersion = try l.function("cuDriverGetVersion")
        cuGetErrorName = try l.function("cuGetErrorName")
        cuGetErrorString = try l.function("cuGetErrorString")
        cuDeviceGetCount = try l.function("cuDeviceGetCount")
        cuDeviceGet = try l.function("cuDeviceGet")
        cuDeviceGetName = try l.function("cuDeviceGetName")
        cuDeviceGetAttribute = try l.function("cuDeviceGetAttribute")
        cuDeviceTotalMem = try l.function("cuDeviceTotalMem_v2")
        cuDevicePrimaryCtxRetain = try l.function("cuDevicePrimaryCtxRetain")
        cuDevicePrimaryCtxRelease = try l.function("cuDevicePrimaryCtxRelease_v2")
        cuCtxSetCurrent = try l.function("cuCtxSetCurrent")
        cuCtxGetStreamPriorityRange = try l.function("cuCtxGetStreamPriorityRange")
        cuStreamCreateWithPriority = try l.function("cuStreamCreateWithPriority")
        cuStreamDestroy = try l.function("cuStreamDestroy_v2")
        cuStreamSynchronize = try l.function("cuStreamSynchronize")
        cuMemAlloc = try l.function("cuMemAlloc_v2")
        cuMemFree = try l.function("cuMemFree_v2")
        cuMemGetInfo = try l.function("cuMemGetInfo_v2")
        cuMemAllocHost = try l.function("cuMemAllocHost_v2")
        cuMemFreeHost = try l.function("cuMemFreeHost")
        cuMemcpyHtoDAsync = try l.function("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try l.function("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try l.function("cuMemcpyDtoDAsync_v2")
        cuMemsetD32Async = try l.function("cuMemsetD32Async")
        cuMemsetD16Async = try l.function("cuMemsetD16Async")
        cuModuleLoadData = try l.function("cuModuleLoadData")
        cuModuleUnload = try l.function("cuModuleUnload")
        cuModuleGetFunction = try l.function("cuModuleGetFunction")
        cuFuncSetAttribute = try l.function("cuFuncSetAttribute")
        cuLaunchKernel = try l.function("cuLaunchKernel")
        cuEventCreate = try l.function("cuEventCreate")
        cuEventDestroy = try l.function("cuEventDestroy_v2")
        cuEventRecord = try l.function("cuEventRecord")
        cuEventSynchronize = try l.function("cuEventSynchronize")
        cuStreamWaitEvent = try l.function("cuStreamWaitEvent")
        cuEventElapsedTime = try l.function("cuEventElapsedTime")
        cuStreamBeginCapture = try l.function("cuStreamBeginCapture_v2")
        cuStreamEndCapture = try l.function("cuStreamEndCapture")
        cuGraphInstantiateWithFlags = try l.function("cuGraphInstantiateWithFlags")
        cuGraphLaunch = try l.function("cuGraphLaunch")
        cuGraphExecDestroy = try l.function("cuGraphExecDestroy")
        cuGraphDestroy = try l.function("cuGraphDestroy")
    }

    /// Throws `CUDAError.driver` naming `call` when `result` is not `CUDA_SUCCESS` (0).
    func check(_ result: Result, _ call: @autoclosure () -> String) throws(CUDAError) {
        guard result != 0 else { return }
        throw .driver(call: call(), code: result, name: errorName(result), message: errorString(result))
    }

    /// `cuGetErrorName`, or `CUresult <code>` when the driver does not know the code.
    func errorName(_ result: Result) -> String {
        var text: UnsafePointer<CChar>?
        guard cuGetErrorName(result, &text) == 0, let text else { return "CUresult \(result)" }
        return String(cString: text)
    }

    /// `cuGetErrorString`, or an empty string.
    func errorString(_ result: Result) -> String {
        var text: UnsafePointer<CChar>?
        guard cuGetErrorString(result, &text) == 0, let text else { return "" }
        return String(cString: text)
    }

    /// The `CUdevice_attribute` values this package reads (cuda.h).
    enum Attribute: Int32 {
        case multiprocessorCount = 16
        case computeCapabilityMajor = 75
        case computeCapabilityMinor = 76
        case maxSharedMemoryPerBlockOptin = 97
    }
}
