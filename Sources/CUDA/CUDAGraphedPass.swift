/// Work that repeats with the same arguments on the same buffers — a ViT forward over fixed activations, the
/// training step's forward and backward — queued as a `CUDAGraph` (docs/cuda.md, "CUDA graphs"): call by call the
/// first time (what the work makes once, the cuBLASLt plans and the resampled `pos_embed`, is made then), captured
/// the second time and launched, replayed by one `cuGraphLaunch` from then on. A capture that fails leaves the work
/// call by call and keeps the reason (`failure`); `DISTILL_CUDA_GRAPHS=0` turns graphs off; with a `CUDAProfiler`
/// attached the work is queued call by call (the events are the measurement).
///
/// The work must only queue on the backend's stream: no wait for it, no upload or download, no allocation (a buffer
/// the pool handed out inside the capture could go to someone else while the graph still writes it). One caller at
/// a time.
final class CUDAGraphedPass: @unchecked Sendable {
    private var queuedOnce = false
    private var graph: CUDAGraph?
    /// Why the capture failed, when it did.
    private(set) var failure: String?

    /// Queues `work` on `backend`'s stream: call by call, or captured, or replayed (above).
    /// - Throws: what `work` throws; `CUDAError.driver` from the capture's launch or a replay.
    func run(on backend: CUDABackend, _ work: () throws(CUDAError) -> Void) throws(CUDAError) {
        if backend.profiler != nil { return try work() }
        if let graph { return try graph.launch() }
        guard CUDAGraph.enabled, failure == nil, queuedOnce else {
            queuedOnce = true
            return try work()
        }
        do {
            let captured = try CUDAGraph(capturing: work, on: backend)
            graph = captured
            try captured.launch()
        } catch {
            failure = error.description
            try work()
        }
    }
}
