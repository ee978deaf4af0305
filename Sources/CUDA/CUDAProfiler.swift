/// Device time per operation of the work a `CUDABackend` queues (`distill bench vit|train --device cuda --profile`):
/// while a profiler is attached (`CUDABackend.profiler`), every kernel launch and cuBLASLt call is bracketed by two
/// CUDA events on the stream (`cuEventElapsedTime`, ≈ 0.5 µs resolution). The time between the two is the
/// operation's; the time between an operation's end and the next one's start — the GPU idle, waiting for the host
/// (launch overhead, host work between a synchronisation and the next launch, copies) — is summed in the row
/// `gaps`. Operations are keyed by kernel name, and cuBLASLt calls by their `MatmulShape` (every block's `qkv` GEMM
/// is one row).
///
/// Profiled passes run call by call (no CUDA graph replay: the events are the measurement), so their total is a
/// little above a graph replay's time. One caller at a time, as the backend.
public final class CUDAProfiler: @unchecked Sendable {
    /// One operation's total over the profiled work.
    public struct Row: Sendable, Codable, Equatable {
        /// The kernel name, or `gemm` and the shape.
        public var name: String
        public var calls: Int
        /// Summed device time, milliseconds.
        public var milliseconds: Double
    }

    /// The row of the time between operations.
    static let gaps = "gaps (GPU idle between operations)"

    private let context: CUDAContext
    private var events: [OpaquePointer] = []
    /// The recorded marks: the operation each event ends (the first mark, "start", ends nothing).
    private var marks: [(name: String, event: OpaquePointer)] = []

    init(context: CUDAContext) {
        self.context = context
    }

    deinit {
        _ = context.driver.cuCtxSetCurrent(context.context)
        for event in events { _ = context.driver.cuEventDestroy(event) }
    }

    /// Records an event after the work queued so far, ending operation `name` (`gaps` before an operation; `nil`:
    /// the start mark).
    /// - Throws: `CUDAError.driver` (`cuEventCreate`, `cuEventRecord`).
    func mark(_ name: String?) throws(CUDAError) {
        let driver = context.driver
        let event: OpaquePointer
        if marks.count < events.count {
            event = events[marks.count]
        } else {
            var created: OpaquePointer?
            try driver.check(driver.cuEventCreate(&created, 0), "cuEventCreate")
            event = created!
            events.append(event)
        }
        try driver.check(driver.cuEventRecord(event, context.stream), "cuEventRecord")
        marks.append((name ?? "", event))
    }

    /// Waits for the recorded work and returns each operation's calls and summed time, longest first; the marks are
    /// cleared (the events are kept for the next profile).
    /// - Throws: `CUDAError.driver` (`cuEventSynchronize`, `cuEventElapsedTime`).
    func collect() throws(CUDAError) -> [Row] {
        let driver = context.driver
        defer { marks.removeAll(keepingCapacity: true) }
        guard let last = marks.last else { return [] }
        try context.makeCurrent()
        try driver.check(driver.cuEventSynchronize(last.event), "cuEventSynchronize")
        var rows: [String: Row] = [:]
        var order: [String] = []
        for index in marks.indices.dropFirst() where !marks[index].name.isEmpty {
            var milliseconds: Float = 0
            try driver.check(driver.cuEventElapsedTime(&milliseconds, marks[index - 1].event, marks[index].event), "cuEventElapsedTime")
            let name = marks[index].name
            if rows[name] == nil { order.append(name) }
            rows[name, default: Row(name: name, calls: 0, milliseconds: 0)].calls += 1
            rows[name]!.milliseconds += Double(milliseconds)
        }
        return order.compactMap { rows[$0] }.sorted { $0.milliseconds > $1.milliseconds }
    }
}

extension CUDABackend {
    /// Runs `work` with a profiler attached (no CUDA graphs inside: `CUDAViTForward` queues call by call while one
    /// is attached) and returns the per-operation device time of what it queued, longest first.
    /// - Throws: what `work` throws, `CUDAError.driver` from the events.
    public func profile(_ work: () throws -> Void) throws -> [CUDAProfiler.Row] {
        let profiler = CUDAProfiler(context: context)
        try context.makeCurrent()
        try profiler.mark(nil)
        self.profiler = profiler
        defer { self.profiler = nil }
        try work()
        return try profiler.collect()
    }
}
