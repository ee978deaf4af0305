#if canImport(Glibc)
import Glibc
#endif

/// A CUDA graph: work queued on a backend's stream once, captured (`cuStreamBeginCapture` in relaxed mode …
/// `cuStreamEndCapture`) and instantiated, then replayed by one `cuGraphLaunch` — the kernels and cuBLASLt calls of
/// a whole ViT pass with their arguments as they were at capture (buffer addresses, sizes, the bias pointers), so
/// replaying it is only valid on the same buffers (docs/cuda.md, "CUDA graphs").
///
/// Capture mode `CU_STREAM_CAPTURE_MODE_RELAXED` (2): the captured work must neither wait for the stream nor
/// allocate (the forward's buffers and matmul plans exist before its first capture).
public final class CUDAGraph: @unchecked Sendable {
    private let context: CUDAContext
    private let executable: OpaquePointer

    /// Whether graphs are used (`DISTILL_CUDA_GRAPHS=0` turns them off: every pass queued call by call).
    public static var enabled: Bool { DynamicLibrary.environment("DISTILL_CUDA_GRAPHS") != "0" }

    /// Captures what `work` queues on `backend`'s stream (nothing runs) and instantiates it.
    /// - Throws: the error `work` throws (the capture is ended and discarded first), or `CUDAError.driver` naming
    ///   `cuStreamBeginCapture_v2`, `cuStreamEndCapture` or `cuGraphInstantiateWithFlags`.
    public init(capturing work: () throws(CUDAError) -> Void, on backend: CUDABackend) throws(CUDAError) {
        let context = backend.context
        let driver = context.driver
        self.context = context
        try context.makeCurrent()
        try driver.check(driver.cuStreamBeginCapture(context.stream, 2), "cuStreamBeginCapture_v2")
        var failure: CUDAError?
        do { try work() } catch { failure = error }
        var graph: OpaquePointer?
        let ended = driver.cuStreamEndCapture(context.stream, &graph)
        defer { if graph != nil { _ = driver.cuGraphDestroy(graph) } }
        if let failure { throw failure }
        try driver.check(ended, "cuStreamEndCapture")
        var executable: OpaquePointer?
        try driver.check(driver.cuGraphInstantiateWithFlags(&executable, graph, 0), "cuGraphInstantiateWithFlags")
        self.executable = executable!
    }

    /// Queues one replay on the stream.
    /// - Throws: `CUDAError.driver` (`cuGraphLaunch`).
    public func launch() throws(CUDAError) {
        try context.makeCurrent()
        try context.driver.check(context.driver.cuGraphLaunch(executable, context.stream), "cuGraphLaunch")
    }

    deinit {
        _ = context.driver.cuCtxSetCurrent(context.context)
        _ = context.driver.cuGraphExecDestroy(executable)
    }
}
