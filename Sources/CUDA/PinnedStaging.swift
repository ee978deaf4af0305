#if canImport(Glibc)
import Glibc
#endif

/// Page-locked host buffers between host arrays and device memory: copies from pinned memory run asynchronously
/// on the stream (pageable ones would block and stage internally). Two upload slots alternate (double
/// buffering): while the device copies from one, the host fills the other; a slot is reused only after the event
/// recorded behind its last copy has completed. Transfers larger than a slot go in `chunkBytes` pieces, so pinned
/// memory stays bounded whatever the tensor size. Downloads use a third buffer and wait for the stream.
///
/// Not thread-safe: one caller (the backend's user) at a time.
final class PinnedStaging: @unchecked Sendable {
    private struct Slot {
        var host: UnsafeMutableRawPointer
        var event: OpaquePointer
        var pending = false
    }

    /// Bytes per slot (64 MiB).
    static let chunkBytes = 64 << 20

    private let context: CUDAContext
    private var slots: [Slot] = []
    private var next = 0
    private let download: UnsafeMutableRawPointer

    init(context: CUDAContext) throws(CUDAError) {
        self.context = context
        let driver = context.driver
        try context.makeCurrent()
        for _ in 0..<2 {
            var host: UnsafeMutableRawPointer?
            try driver.check(driver.cuMemAllocHost(&host, Self.chunkBytes), "cuMemAllocHost_v2(\(Self.chunkBytes) bytes)")
            var event: OpaquePointer?
            try driver.check(driver.cuEventCreate(&event, 2), "cuEventCreate")  // CU_EVENT_DISABLE_TIMING
            slots.append(Slot(host: host!, event: event!))
        }
        var host: UnsafeMutableRawPointer?
        try driver.check(driver.cuMemAllocHost(&host, Self.chunkBytes), "cuMemAllocHost_v2(\(Self.chunkBytes) bytes)")
        download = host!
    }

    /// Waits for the stream (copies may still read the buffers), then frees the pinned buffers and events.
    deinit {
        let driver = context.driver
        _ = driver.cuCtxSetCurrent(context.context)
        _ = driver.cuStreamSynchronize(context.stream)
        for slot in slots {
            _ = driver.cuEventDestroy(slot.event)
            _ = driver.cuMemFreeHost(slot.host)
        }
        _ = driver.cuMemFreeHost(download)
    }

    /// Queues a copy of `bytes` host bytes to device `address` (returns once the host bytes are in pinned memory;
    /// the device copy runs in stream order).
    func upload(_ bytes: UnsafeRawBufferPointer, to address: UInt64) throws(CUDAError) {
        let driver = context.driver
        try context.makeCurrent()
        var offset = 0
        while offset < bytes.count {
            let size = min(Self.chunkBytes, bytes.count - offset)
            var slot = slots[next]
            if slot.pending { try driver.check(driver.cuEventSynchronize(slot.event), "cuEventSynchronize") }
            slot.host.copyMemory(from: bytes.baseAddress! + offset, byteCount: size)
            try driver.check(driver.cuMemcpyHtoDAsync(address + UInt64(offset), slot.host, size, context.stream),
                             "cuMemcpyHtoDAsync_v2(\(size) bytes)")
            try driver.check(driver.cuEventRecord(slot.event, context.stream), "cuEventRecord")
            slot.pending = true
            slots[next] = slot
            next = (next + 1) % slots.count
            offset += size
        }
    }

    /// Copies `byteCount` bytes from device `address` into `destination`, waiting for all earlier work on the stream.
    func download(from address: UInt64, byteCount: Int, into destination: UnsafeMutableRawPointer) throws(CUDAError) {
        let driver = context.driver
        try context.makeCurrent()
        var offset = 0
        while offset < byteCount {
            let size = min(Self.chunkBytes, byteCount - offset)
            try driver.check(driver.cuMemcpyDtoHAsync(download, address + UInt64(offset), size, context.stream),
                             "cuMemcpyDtoHAsync_v2(\(size) bytes)")
            try driver.check(driver.cuStreamSynchronize(context.stream), "cuStreamSynchronize")
            (destination + offset).copyMemory(from: download, byteCount: size)
            offset += size
        }
    }
}
