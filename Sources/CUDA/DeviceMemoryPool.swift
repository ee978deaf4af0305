import Compute
import Synchronization

/// A caching allocator of device memory (as PyTorch's): blocks are rounded to a size class, and a freed block goes
/// back to its class's free list instead of to `cuMemFree`, so the forward's buffers of a repeating batch shape cost
/// no driver call after the first pass. Reuse is safe because all work runs in order on the backend's one stream
/// (a block freed by the host is only handed out to work enqueued after the work that used it).
///
/// Thread-safe (a mutex around the lists); `cuMemAlloc`/`cuMemFree` run with the backend's context current.
final class DeviceMemoryPool: Sendable {
    private struct State {
        var free: [Int: [UInt64]] = [:]
        var cachedBytes = 0
        var usedBytes = 0
        var peakUsedBytes = 0
    }

    private let context: CUDAContext
    private let state = Mutex(State())

    init(context: CUDAContext) {
        self.context = context
    }

    /// The size class of a request of `bytes`: powers of two from 512 B up to 1 MiB, then multiples of 2 MiB.
    static func sizeClass(bytes: Int) -> Int {
        let small = 512, mebibyte = 1 << 20, large = 2 << 20
        if bytes <= small { return small }
        if bytes <= mebibyte {
            var size = small
            while size < bytes { size <<= 1 }
            return size
        }
        return (bytes + large - 1) / large * large
    }

    /// A device storage of at least `bytes`, from the cache or `cuMemAlloc_v2` (after emptying the cache once when
    /// the device is out of memory).
    /// - Throws: `CUDAError.driver` (`cuMemAlloc_v2`, e.g. `CUDA_ERROR_OUT_OF_MEMORY`).
    func storage(bytes: Int) throws(CUDAError) -> TensorStorage {
        let size = Self.sizeClass(bytes: bytes)
        let cached: UInt64? = state.withLock { state in
            guard let address = state.free[size]?.popLast() else { return nil }
            state.cachedBytes -= size
            return address
        }
        let address: UInt64
        if let cached {
            address = cached
        } else {
            do {
                address = try context.allocate(bytes: size)
            } catch {
                trim()
                address = try context.allocate(bytes: size)
            }
        }
        state.withLock { state in
            state.usedBytes += size
            state.peakUsedBytes = max(state.peakUsedBytes, state.usedBytes)
        }
        return TensorStorage(deviceAddress: address, byteCount: bytes, device: context.device) { [self] address in
            state.withLock { state in
                state.free[size, default: []].append(address)
                state.cachedBytes += size
                state.usedBytes -= size
            }
        }
    }

    /// Frees every cached block (`cuMemFree_v2`).
    func trim() {
        let blocks = state.withLock { state in
            let all = state.free.values.flatMap { $0 }
            state.free = [:]
            state.cachedBytes = 0
            return all
        }
        for address in blocks { context.free(address) }
    }

    /// Bytes handed out now, and the most handed out at once.
    var usage: (used: Int, peak: Int, cached: Int) {
        state.withLock { ($0.usedBytes, $0.peakUsedBytes, $0.cachedBytes) }
    }
}
