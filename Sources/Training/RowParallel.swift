import Compute
import Dispatch

/// Splits the rows of a loss over the CPU backend's threads (`CPUBackend.threads`; one thread for other
/// backends): `0..<count` in at most `threads` contiguous ranges, run with `DispatchQueue.concurrentPerform`, the
/// caller's thread taking part. Each range writes its own rows only, and every sum over rows is taken afterwards
/// in row order, so results do not depend on the thread count. (Compute's `Parallel` does the same for the
/// kernels; it is internal to Compute.)
enum RowParallel {
    /// The threads a backend's host loops may use.
    static func threads(_ backend: any Backend) -> Int { (backend as? CPUBackend)?.threads ?? 1 }

    static func forEach(count: Int, threads: Int, minimumChunk: Int = 4, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(threads, count / max(minimumChunk, 1)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let base = count / chunks, extra = count % chunks
        // The bodies capture raw pointers (not Sendable); the ranges are disjoint and concurrentPerform returns
        // when all are done.
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * base + min(chunk, extra)
            work(start..<(start + base + (chunk < extra ? 1 : 0)))
        }
    }
}
