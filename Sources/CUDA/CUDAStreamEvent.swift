/// An ordering point between two backends' streams in one context (`cuEventRecord` on one, `cuStreamWaitEvent` on
/// the other): the work queued on the waiting stream after `wait` starts only once the work queued on the recording
/// stream before `record` has finished; neither host thread waits. Timing is off (`CU_EVENT_DISABLE_TIMING`), the
/// cheapest kind of event. `distill bench train --device cuda` orders the teacher's forward and the student's step
/// with two of them (docs/cuda.md, "Teacher and student on two streams").
///
/// Both backends must share the context (`CUDABackend(ordinal:)` retains the device's primary context, so any two
/// on one device do). One caller at a time.
public final class CUDAStreamEvent: @unchecked Sendable {
    private let context: CUDAContext
    private let event: OpaquePointer

    /// - Throws: `CUDAError.driver` (`cuEventCreate`).
    public init(context: CUDAContext) throws(CUDAError) {
        self.context = context
        try context.makeCurrent()
        var created: OpaquePointer?
        try context.driver.check(context.driver.cuEventCreate(&created, 2), "cuEventCreate")
        event = created!
    }

    /// Marks the end of the work queued so far on `backend`'s stream.
    /// - Throws: `CUDAError.driver` (`cuEventRecord`).
    public func record(on backend: CUDABackend) throws(CUDAError) {
        try backend.context.makeCurrent()
        try context.driver.check(context.driver.cuEventRecord(event, backend.context.stream), "cuEventRecord")
    }

    /// Makes the work queued next on `backend`'s stream wait for the last `record` (none yet: no wait).
    /// - Throws: `CUDAError.driver` (`cuStreamWaitEvent`).
    public func wait(on backend: CUDABackend) throws(CUDAError) {
        try backend.context.makeCurrent()
        try context.driver.check(context.driver.cuStreamWaitEvent(backend.context.stream, event, 0), "cuStreamWaitEvent")
    }

    deinit {
        _ = context.driver.cuCtxSetCurrent(context.context)
        _ = context.driver.cuEventDestroy(event)
    }
}
