import DequeModule
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread that runs the jobs of one stage replica's task.
///
/// The cooperative pool has one thread per core (2 on the CI machine), so one stage blocking in a C call
/// (OpenSlide, BLAS, zstd, a CUDA sync) would stall every other stage sharing it (`swift-notes.md` §4.5,
/// field case H6). The runner starts each replica's task with this executor as its task executor
/// preference: the stage's nonisolated code and its default-actor-isolated code run here, so a stage may
/// block or spin on its own thread without starving the rest of the graph. The OS scheduler shares cores.
///
/// The thread exits after ``shutdown()`` once its queue is empty.
public final class StageThread: TaskExecutor, @unchecked Sendable {
    // Safety: `jobs` and `stopped` are guarded by `state`; `wakeup` is thread-safe.
    private let state = Mutex<(jobs: Deque<UnownedJob>, stopped: Bool)>((Deque(), false))
    private let wakeup = DispatchSemaphore(value: 0)
    /// The task label it serves (`stage`, `stage#2`), for debugging.
    public let name: String

    /// Starts the thread.
    /// - Parameter name: thread name, e.g. the stage name and replica index.
    public init(name: String) {
        self.name = name
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let me = Unmanaged<StageThread>.fromOpaque(raw!).takeRetainedValue()
            me.loop()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed with \(rc)")
        pthread_detach(thread)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        state.withLock { $0.jobs.append(unowned) }
        wakeup.signal()
    }

    /// Lets the thread exit once all queued jobs have run. The runner calls it after the replica's task
    /// has finished; a job enqueued after the thread exited would never run.
    public func shutdown() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    private func loop() {
        while true {
            wakeup.wait()
            while let job = state.withLock({ $0.jobs.popFirst() }) {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            if state.withLock({ $0.stopped && $0.jobs.isEmpty }) { return }
        }
    }
}
