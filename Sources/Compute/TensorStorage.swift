#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of memory on one device that one or more `Tensor` views share.
///
/// Host storage is 64-byte aligned (one cache line, and the widest vector load) and freed when the last
/// reference goes. Contents start undefined unless made with `zeroed: true`.
///
/// Sendable by contract (`@unchecked`): the storage itself never changes after creation; writes to its
/// memory go through kernels, and whoever writes a buffer must not hand it to another thread while writing
/// (the model owns its activations; parameters are written once at load time).
public final class TensorStorage: @unchecked Sendable {
    /// First byte. On `.cpu` a host address; other devices keep their device address here.
    public let base: UnsafeMutableRawPointer
    /// Size in bytes.
    public let byteCount: Int
    /// The device holding the memory.
    public let device: Device
    private let release: @Sendable (UnsafeMutableRawPointer) -> Void

    /// Host memory of `byteCount` bytes, 64-byte aligned.
    /// - Parameter zeroed: fill with zero bytes.
    /// - Precondition: `byteCount >= 0`; allocation failure traps (out of memory).
    public init(hostBytes byteCount: Int, zeroed: Bool = false) {
        precondition(byteCount >= 0, "negative storage size \(byteCount)")
        var pointer: UnsafeMutableRawPointer?
        let status = posix_memalign(&pointer, 64, max(byteCount, 64))
        guard status == 0, let pointer else { fatalError("out of memory allocating \(byteCount) bytes") }
        if zeroed { memset(pointer, 0, byteCount) }
        self.base = pointer
        self.byteCount = byteCount
        self.device = .cpu
        self.release = { free($0) }
    }

    /// Memory allocated elsewhere (a device allocator, a memory map), freed by `release` when the storage goes.
    public init(base: UnsafeMutableRawPointer, byteCount: Int, device: Device,
                release: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        self.base = base
        self.byteCount = byteCount
        self.device = device
        self.release = release
    }

    deinit { release(base) }
}
