import Compute
import Synchronization

/// The CUDA runtime the GPU forward runs on (`Device.cuda(n)`): the device's primary context and one stream
/// (`CUDAContext`), a caching device memory pool, pinned staging for uploads and downloads, the kernel sources
/// compiled by NVRTC for the device's `sm_XY` and loaded as modules, and a cuBLASLt handle with a cache of matmul
/// plans (descriptors, layouts and the heuristic's algorithm per `MatmulShape`).
///
/// Work is queued on the stream and runs asynchronously; `download` (and `synchronize`) wait for it. It does not
/// conform to `Backend` (f32 kernels that each return with their output written): the GPU forward keeps bf16
/// activations and queues a whole pass without waiting (docs/cuda.md, "Why not `Backend`").
///
/// One caller at a time (a stage replica, the embed command); a second model wants a second backend (they share
/// the process-wide compiled kernels).
public final class CUDABackend: @unchecked Sendable {
    public let context: CUDAContext
    public var device: Device { context.device }
    public var properties: CUDAContext.Properties { context.properties }
    /// The architecture kernels were compiled for.
    public let arch: String
    /// The libraries that loaded: driver, NVRTC, cuBLASLt (paths as opened).
    public let libraries: [String: String]

    let pool: DeviceMemoryPool
    let staging: PinnedStaging
    private let functions: [String: OpaquePointer]
    private let blas: CUBLASLt
    private let blasHandle: OpaquePointer
    private let workspace: TensorStorage
    private let plans = Mutex<[MatmulPlan.Key: MatmulPlan]>([:])
    /// Attached by `profile(_:)`: an event after every launch and matmul.
    var profiler: CUDAProfiler?

    /// cuBLASLt workspace (32 MiB, as cuBLAS recommends for Hopper).
    static let workspaceBytes = 32 << 20

    /// Opens device `ordinal`: loads the driver, NVRTC and cuBLASLt, compiles and loads every kernel source.
    /// - Parameters:
    ///   - nvrtcPath: an NVRTC library file or folder to try first.
    ///   - priority: the priority of the backend's stream (`.high` for the student step beside a teacher).
    /// - Throws: `CUDAError`: a library that does not load (listing what was tried), a failed driver call, a compile
    ///   error naming the kernel file with NVRTC's log, a cuBLASLt status.
    public init(ordinal: Int = 0, nvrtcPath: String? = nil, priority: CUDAContext.StreamPriority = .normal) throws(CUDAError) {
        let context = try CUDAContext(ordinal: ordinal, priority: priority)
        self.context = context
        let nvrtc = try nvrtcPath == nil ? NVRTC.shared() : NVRTC.load(candidates: NVRTC.candidates(explicitPath: nvrtcPath))
        let blas = try CUBLASLt.load()
        self.blas = blas
        let compiler = Self.compiler(nvrtc)
        arch = context.properties.arch
        let driver = context.driver
        try context.makeCurrent()
        var functions: [String: OpaquePointer] = [:]
        for source in CUDAKernelSource.all {
            let compiled = try compiler.compiled(source, arch: arch)
            var module: OpaquePointer?
            let loaded = compiled.image.withUnsafeBytes { image in driver.cuModuleLoadData(&module, image.baseAddress) }
            try driver.check(loaded, "cuModuleLoadData(\(source.file), \(compiled.arch))")
            for kernel in source.kernels {
                var function: OpaquePointer?
                try driver.check(driver.cuModuleGetFunction(&function, module, kernel), "cuModuleGetFunction(\(kernel))")
                functions[kernel] = function!
            }
        }
        self.functions = functions
        var handle: OpaquePointer?
        try blas.check(blas.cublasLtCreate(&handle), "cublasLtCreate")
        blasHandle = handle!
        pool = DeviceMemoryPool(context: context)
        staging = try PinnedStaging(context: context)
        workspace = try pool.storage(bytes: Self.workspaceBytes)
        libraries = ["libcuda": driver.library.path, "libnvrtc": nvrtc.path, "libcublasLt": blas.path]
    }

    /// Waits for queued work and destroys the cuBLASLt handle (plans, staging and pooled memory go with their owners;
    /// compiled modules stay loaded for the process).
    deinit {
        _ = context.driver.cuCtxSetCurrent(context.context)
        _ = context.driver.cuStreamSynchronize(context.stream)
        plans.withLock { $0.removeAll() }
        _ = blas.cublasLtDestroy(blasHandle)
    }

    /// One compiler per NVRTC library file, so compiled images are shared by every backend of the process.
    private static let compilers = Mutex<[String: KernelCompiler]>([:])
    private static func compiler(_ nvrtc: NVRTC) -> KernelCompiler {
        compilers.withLock { compilers in
            if let existing = compilers[nvrtc.path] { return existing }
            let compiler = KernelCompiler(nvrtc: nvrtc)
            compilers[nvrtc.path] = compiler
            return compiler
        }
    }

    // MARK: memory

    /// A new device tensor of `shape` and `dtype` from the pool (contents undefined).
    public func makeTensor(shape: [Int], dtype: DType) throws(CUDAError) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, dtype: dtype, storage: try pool.storage(bytes: max(count, 1) * dtype.byteSize))
    }

    /// Queues a copy of host bytes into `tensor` (its whole view).
    /// - Precondition: `bytes.count == tensor.byteCount`, `tensor` on this device.
    public func upload(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) throws(CUDAError) {
        precondition(tensor.device == device && bytes.count == tensor.byteCount,
                     "upload of \(bytes.count) bytes into \(tensor) (\(tensor.byteCount) bytes)")
        try staging.upload(bytes, to: tensor.address)
    }

    /// The `f32` elements of a device tensor (waits for queued work).
    public func downloadFloats(_ tensor: Tensor) throws(CUDAError) -> [Float] {
        precondition(tensor.device == device && tensor.dtype == .f32, "downloadFloats of \(tensor)")
        var values = [Float](repeating: 0, count: tensor.count)
        try values.withUnsafeMutableBytes { bytes in
            Swift.Result { () throws(CUDAError) in
                try staging.download(from: tensor.address, byteCount: tensor.byteCount, into: bytes.baseAddress!)
            }
        }.get()
        return values
    }

    /// The raw elements of a device tensor as bytes (waits for queued work).
    public func downloadBytes(_ tensor: Tensor) throws(CUDAError) -> [UInt8] {
        precondition(tensor.device == device, "downloadBytes of \(tensor)")
        var values = [UInt8](repeating: 0, count: tensor.byteCount)
        try values.withUnsafeMutableBytes { bytes in
            Swift.Result { () throws(CUDAError) in
                try staging.download(from: tensor.address, byteCount: tensor.byteCount, into: bytes.baseAddress!)
            }
        }.get()
        return values
    }

    /// Fills a device tensor with NaN (f32 `0x7FC00000`, bf16 `0x7FC0`): poisoning before a pass, so an element a
    /// kernel fails to write shows up as NaN.
    public func poison(_ tensor: Tensor) throws(CUDAError) {
        let driver = context.driver
        try context.makeCurrent()
        switch tensor.dtype {
        case .f32:
            try driver.check(driver.cuMemsetD32Async(tensor.address, 0x7FC0_0000, tensor.count, context.stream), "cuMemsetD32Async")
        case .bf16, .f16:
            try driver.check(driver.cuMemsetD16Async(tensor.address, tensor.dtype == .bf16 ? 0x7FC0 : 0x7E00, tensor.count,
                                                     context.stream), "cuMemsetD16Async")
        }
    }

    /// Queues `value` into every 32-bit word of a device tensor (0 for zeros; the training kernels' f64 and integer
    /// arrays live in f32 tensors of raw words).
    /// - Precondition: the tensor's bytes are a whole number of words.
    public func fillWords(_ tensor: Tensor, _ value: UInt32) throws(CUDAError) {
        let driver = context.driver
        try context.makeCurrent()
        precondition(tensor.byteCount % 4 == 0, "fillWords of \(tensor)")
        try profiler?.mark(CUDAProfiler.gaps)
        try driver.check(driver.cuMemsetD32Async(tensor.address, value, tensor.byteCount / 4, context.stream), "cuMemsetD32Async")
        try profiler?.mark("memset")
    }

    /// Queues a device-to-device copy of `source`'s view into `destination`'s (same byte count).
    /// - Throws: `CUDAError.driver` (`cuMemcpyDtoDAsync_v2`).
    public func copy(from source: Tensor, to destination: Tensor) throws(CUDAError) {
        precondition(source.byteCount == destination.byteCount && source.device == device && destination.device == device,
                     "copy of \(source) into \(destination)")
        let driver = context.driver
        try context.makeCurrent()
        try profiler?.mark(CUDAProfiler.gaps)
        try driver.check(driver.cuMemcpyDtoDAsync(destination.address, source.address, source.byteCount, context.stream),
                         "cuMemcpyDtoDAsync_v2(\(source.byteCount) bytes)")
        try profiler?.mark("copy (device to device)")
    }

    /// Waits for every queued operation.
    public func synchronize() throws(CUDAError) { try context.synchronize() }

    /// The device's free and total memory (`cuMemGetInfo_v2`), in bytes: what every process and context holds.
    /// - Throws: `CUDAError.driver`.
    public func deviceMemory() throws(CUDAError) -> (free: Int, total: Int) {
        let driver = context.driver
        try context.makeCurrent()
        var free = 0, total = 0
        try driver.check(driver.cuMemGetInfo(&free, &total), "cuMemGetInfo_v2")
        return (free, total)
    }

    /// Device memory handed out by the pool now and at most, and held in its cache, in bytes.
    public var memoryUsage: (used: Int, peak: Int, cached: Int) { pool.usage }

    // MARK: kernels

    /// Queues kernel `name` with `configuration` and `arguments` (typed as its C parameters).
    /// - Throws: `CUDAError.driver` (`cuLaunchKernel(name)`), `.unsupported` for an invalid configuration.
    func launch(_ name: String, _ configuration: LaunchConfiguration, _ arguments: [KernelArgument]) throws(CUDAError) {
        guard let function = functions[name] else { throw .unsupported("no kernel \(name) in the compiled sources") }
        guard configuration.isValid(sharedLimit: properties.sharedMemoryPerBlockOptin) else {
            throw .unsupported("launch of \(name) with grid \(configuration.gridX), block \(configuration.blockX)")
        }
        let driver = context.driver
        try profiler?.mark(CUDAProfiler.gaps)
        let result = KernelArgument.withParameters(arguments) { parameters in
            driver.cuLaunchKernel(function, UInt32(configuration.gridX), 1, 1, UInt32(configuration.blockX), 1, 1,
                                  UInt32(configuration.sharedBytes), context.stream, parameters, nil)
        }
        try driver.check(result, "cuLaunchKernel(\(name), grid \(configuration.gridX), block \(configuration.blockX))")
        try profiler?.mark(name)
    }

    /// Queues `D = α·op(A)·op(B) + β·D (+ bias)` (`shape`'s column-major terms) through cuBLASLt: β = 0 overwrites D,
    /// β = 1 accumulates into it (C = D, the weight gradients summed over crop sizes and logit chunks). The bias is
    /// bf16 for a bf16 D and f32 for an f32 D (cuBLASLt's default bias type is D's).
    /// - Throws: `CUDAError.cublas` naming the call and status, `.noMatmulAlgorithm`.
    func matmul(_ shape: MatmulShape, a: Tensor, b: Tensor, d: Tensor, bias: Tensor? = nil, alpha: Float = 1,
                beta: Float = 0) throws(CUDAError) {
        precondition(shape.isValid, "invalid matmul \(shape)")
        precondition(a.dtype == .bf16 && b.dtype == .bf16 && d.dtype == (shape.outputF32 ? .f32 : .bf16),
                     "matmul \(shape): operands \(a.dtype), \(b.dtype) → \(d.dtype)")
        precondition(a.count >= shape.spanA && b.count >= shape.spanB && d.count >= shape.spanD,
                     "matmul \(shape) on \(a.shape), \(b.shape) → \(d.shape)")
        precondition((bias != nil) == shape.bias && (bias.map { $0.dtype == d.dtype && $0.count == shape.m } ?? true),
                     "matmul \(shape): bias \(String(describing: bias))")
        try context.makeCurrent()
        let key = MatmulPlan.Key(shape: shape,
                                 alignA: MatmulPlan.alignment(a.address, strideBytes: shape.strideA * 2),
                                 alignB: MatmulPlan.alignment(b.address, strideBytes: shape.strideB * 2),
                                 alignD: MatmulPlan.alignment(d.address, strideBytes: shape.strideD * d.dtype.byteSize))
        let plan = try self.plan(key)
        if let bias {
            var address = bias.address
            try blas.check(blas.cublasLtMatmulDescSetAttribute(plan.operation, CUBLASLt.DescAttribute.biasPointer.rawValue,
                                                               &address, 8), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)")
        }
        var alpha = alpha, beta = beta
        try profiler?.mark(CUDAProfiler.gaps)
        let status = plan.algorithm.withUnsafeBytes { algorithm in
            blas.cublasLtMatmul(blasHandle, plan.operation, &alpha, a.address, plan.layoutA, b.address, plan.layoutB,
                                &beta, d.address, plan.layoutD, d.address, plan.layoutD, algorithm.baseAddress,
                                workspace.deviceAddress, Self.workspaceBytes, context.stream)
        }
        try blas.check(status, "cublasLtMatmul(\(shape))")
        try profiler?.mark(shape.profileName)
    }

    private func plan(_ key: MatmulPlan.Key) throws(CUDAError) -> MatmulPlan {
        if let plan = plans.withLock({ $0[key] }) { return plan }
        let plan = try MatmulPlan(key: key, blas: blas, handle: blasHandle, workspaceBytes: Self.workspaceBytes)
        plans.withLock { $0[key] = plan }
        return plan
    }
}

extension Tensor {
    /// The device address of the view's first element.
    var address: UInt64 { storage.deviceAddress + UInt64(offset * dtype.byteSize) }
}
