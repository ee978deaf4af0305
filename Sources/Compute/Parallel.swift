import Dispatch

/// Splits `0..<count` into at most `threads` contiguous ranges and runs `body` on each, concurrently
/// (`DispatchQueue.concurrentPerform`), returning when all are done. With one range it runs inline.
///
/// `minimumChunk` keeps tiny jobs on the calling thread: a range is never smaller than it (except the last).
/// The caller's thread takes part; call it from a thread that may block (a stage thread), never from the
/// cooperative pool.
@usableFromInline
enum Parallel {
    @usableFromInline
    static func forEachRange(count: Int, threads: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(threads, count / max(minimumChunk, 1)))
        if chunks == 1 {
            body(0..<count)
            return
        }
        let base = count / chunks
        let extra = count % chunks
        // The kernels' bodies capture raw buffer pointers, which are not Sendable; each range writes disjoint
        // elements, and concurrentPerform returns only when every range is done.
        nonisolated(unsafe) let work = body
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * base + min(chunk, extra)
            let end = start + base + (chunk < extra ? 1 : 0)
            work(start..<end)
        }
    }
}
