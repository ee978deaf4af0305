import CBLAS

/// The CPU implementation of `Backend`: OpenBLAS `cblas_sgemm` for matrix products and vectorised Swift
/// loops (eight `Float` lanes) for everything else; fp32 throughout. It is the reference the other backends
/// are checked against (DESIGN.md §4).
///
/// Threads: every kernel, GEMMs included, is split over `threads` ranges run with `DispatchQueue.concurrentPerform`
/// (a GEMM by rows of its output, each part one OpenBLAS call); OpenBLAS itself runs single-threaded
/// (`openblas_set_num_threads(1)`, process-wide). OpenBLAS's own worker threads, when it has several, busy-wait with
/// `sched_yield` between calls and took 17 % of the cycles of a ViT-B/14 forward on 2 cores, competing with the
/// element-wise kernels; with one BLAS thread they stay asleep. The first backend of a process also applies
/// `BLASCoreSelection` (OpenBLAS's kernel family) before any BLAS call. A backend's kernels are meant to be called
/// from one thread at a time (one stage thread).
public struct CPUBackend: Backend {
    /// Threads every kernel is split over (≥ 1).
    public let threads: Int

    /// A backend using `threads` threads (default: every core the process may use).
    /// - Precondition: `threads ≥ 1`.
    public init(threads: Int = CPUBackend.availableCores) {
        precondition(threads >= 1, "CPUBackend needs at least one thread, got \(threads)")
        self.threads = threads
        _ = BLASCoreSelection.current
        openblas_set_num_threads(1)
    }

    /// The number of processors OpenBLAS sees (`openblas_get_num_procs`: the cores this process may run on).
    public static var availableCores: Int { max(1, Int(openblas_get_num_procs())) }

    /// The OpenBLAS kernel family in use (`openblas_get_corename`, e.g. "SkylakeX", "Haswell"); see
    /// `BLASCoreSelection` for how it is chosen.
    public static var blasCore: String { String(cString: openblas_get_corename()) }

    public var device: Device { .cpu }

    public func makeTensor(shape: [Int]) -> Tensor { Tensor(shape: shape) }

    public func upload(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor) {
        precondition(values.count == tensor.count, "upload of \(values.count) values into \(tensor)")
        guard let source = values.baseAddress else { return }
        tensor.floats.update(from: source, count: values.count)
    }

    public func download(_ tensor: Tensor) -> [Float] { tensor.scalars() }

    public func fill(_ tensor: Tensor, value: Float, count: Int) {
        let x = floats(tensor, count, "fill")
        Parallel.forEachRange(count: count, threads: threads, minimumChunk: 1 << 16) { range in
            (x + range.lowerBound).update(repeating: value, count: range.count)
        }
    }

    public func copy(from source: Tensor, to destination: Tensor, count: Int) {
        let x = floats(source, count, "copy source")
        let y = floats(destination, count, "copy destination")
        Parallel.forEachRange(count: count, threads: threads, minimumChunk: 1 << 16) { range in
            (y + range.lowerBound).update(from: x + range.lowerBound, count: range.count)
        }
    }

    /// The elements of `tensor`, checking it holds at least `count` `f32` values on the host.
    @inline(__always)
    func floats(_ tensor: Tensor, _ count: Int, _ name: StaticString) -> UnsafeMutablePointer<Float> {
        precondition(tensor.count >= count, "\(name): \(tensor) holds fewer than \(count) elements")
        return tensor.floats
    }
}
