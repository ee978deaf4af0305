import Compute

/// One CUDA device's primary context and the stream all work of a `CUDABackend` runs on.
///
/// The primary context (`cuDevicePrimaryCtxRetain`) is the one the CUDA runtime and cuBLAS(Lt) use, so they share
/// it. The current context is per OS thread and Swift tasks move between threads, so every entry point calls
/// `makeCurrent()` (a cheap `cuCtxSetCurrent`) before its driver calls (swift-notes.md §4.3).
public final class CUDAContext: @unchecked Sendable {
    /// What the driver reports about the device.
    public struct Properties: Sendable, Codable {
        public let name: String
        public let ordinal: Int
        public let computeCapability: [Int]
        public let multiprocessors: Int
        public let totalMemoryBytes: Int
        public let sharedMemoryPerBlockOptin: Int
        /// `cuDriverGetVersion`: 1000·major + 10·minor (13000 for CUDA 13.0).
        public let driverVersion: Int

        /// `sm_XY`, the NVRTC target of this device.
        public var arch: String { "sm_\(computeCapability[0])\(computeCapability[1])" }
    }

    public let driver: CUDADriver
    public let properties: Properties
    public var device: Device { .cuda(properties.ordinal) }
    let context: OpaquePointer
    /// The stream (non-blocking with respect to the legacy default stream).
    let stream: OpaquePointer

    /// The scheduling priority of a context's stream (`cuStreamCreateWithPriority`): where two streams share the
    /// device, the block scheduler starts the pending blocks of the higher-priority stream first.
    public enum StreamPriority: Sendable {
        /// The device's default (priority 0).
        case normal
        /// The device's greatest priority (`cuCtxGetStreamPriorityRange`): the student step, so the teacher's
        /// forward on a normal stream fills the gaps of the step instead of delaying it.
        case high
    }

    /// Initialises the driver, retains device `ordinal`'s primary context and creates a stream of `priority`.
    /// - Throws: `CUDAError.libraryMissing` (no driver), `.driver` naming the failing call (e.g. `cuInit` with
    ///   `CUDA_ERROR_NO_DEVICE`), `.noDevice`.
    public init(ordinal: Int, priority: StreamPriority = .normal, driver given: CUDADriver? = nil) throws(CUDAError) {
        let driver: CUDADriver
        if let given { driver = given } else { driver = try CUDADriver.shared() }
        self.driver = driver
        try driver.check(driver.cuInit(0), "cuInit")
        var count: Int32 = 0
        try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard ordinal >= 0, ordinal < Int(count) else { throw .noDevice(ordinal: ordinal, count: Int(count)) }
        var device: Int32 = 0
        try driver.check(driver.cuDeviceGet(&device, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try driver.check(driver.cuDeviceGetName(&nameBuffer, 255, device), "cuDeviceGetName")
        func attribute(_ attribute: CUDADriver.Attribute) throws(CUDAError) -> Int {
            var value: Int32 = 0
            try driver.check(driver.cuDeviceGetAttribute(&value, attribute.rawValue, device), "cuDeviceGetAttribute(\(attribute))")
            return Int(value)
        }
        var memory = 0
        try driver.check(driver.cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem_v2")
        var version: Int32 = 0
        try driver.check(driver.cuDriverGetVersion(&version), "cuDriverGetVersion")
        properties = Properties(
            name: nameBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, ordinal: ordinal,
            computeCapability: [try attribute(.computeCapabilityMajor), try attribute(.computeCapabilityMinor)],
            multiprocessors: try attribute(.multiprocessorCount), totalMemoryBytes: memory,
            sharedMemoryPerBlockOptin: try attribute(.maxSharedMemoryPerBlockOptin), driverVersion: Int(version))
        var context: OpaquePointer?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain")
        guard let context else { throw .driver(call: "cuDevicePrimaryCtxRetain", code: -1, name: "null context", message: "") }
        self.context = context
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var level: Int32 = 0
        if priority == .high {
            var least: Int32 = 0
            try driver.check(driver.cuCtxGetStreamPriorityRange(&least, &level), "cuCtxGetStreamPriorityRange")
        }
        var stream: OpaquePointer?
        try driver.check(driver.cuStreamCreateWithPriority(&stream, 1, level), "cuStreamCreateWithPriority(\(level))")
        guard let stream else { throw .driver(call: "cuStreamCreateWithPriority", code: -1, name: "null stream", message: "") }
        self.stream = stream
    }

    /// Makes this context current on the calling thread.
    func makeCurrent() throws(CUDAError) {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    /// `cuMemAlloc_v2` of `bytes`.
    func allocate(bytes: Int) throws(CUDAError) -> UInt64 {
        try makeCurrent()
        var address: UInt64 = 0
        try driver.check(driver.cuMemAlloc(&address, bytes), "cuMemAlloc_v2(\(bytes) bytes)")
        return address
    }

    /// `cuMemFree_v2` (errors ignored: this runs when memory is given back, where nothing can be reported).
    func free(_ address: UInt64) {
        _ = driver.cuCtxSetCurrent(context)
        _ = driver.cuMemFree(address)
    }

    /// Waits for all work queued on the stream; an asynchronous kernel fault surfaces here.
    public func synchronize() throws(CUDAError) {
        try makeCurrent()
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }
}
