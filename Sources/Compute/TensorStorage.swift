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
    /// First byte (a host address; device storage arrives with the CUDA backend).
    public let base: UnsafeMutableRawPointer
    /// Size in bytes.
    public let byteCount: Int
    /// The device holding the memory.
    public let device: Device

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
    }

    deinit { free(base) }
}
