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
    /// First byte: a host address, or for device storage the device address (`deviceAddress`) carried in a
    /// pointer that must never be dereferenced on the host.
    public let base: UnsafeMutableRawPointer
    /// Size in bytes.
    public let byteCount: Int
    /// The device holding the memory.
    public let device: Device
    /// Gives device memory back (to its allocator's pool); nil for host memory, which is `free`d.
    private let release: (@Sendable (UInt64) -> Void)?

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
        self.release = nil
    }

    /// Device memory of `byteCount` bytes at `address` on `device` (allocated by a device backend), handed back
    /// through `release` when the last reference goes. Host kernels must not touch it (`Tensor.floats` traps).
    /// - Precondition: `address != 0`, `device != .cpu`, `byteCount >= 0`.
    public init(deviceAddress address: UInt64, byteCount: Int, device: Device, release: @escaping @Sendable (UInt64) -> Void) {
        precondition(address != 0 && device != .cpu && byteCount >= 0, "device storage of \(byteCount) bytes at \(address) on \(device)")
        self.base = UnsafeMutableRawPointer(bitPattern: UInt(address))!
        self.byteCount = byteCount
        self.device = device
        self.release = release
    }

    /// The address as the device sees it (for device storage).
    public var deviceAddress: UInt64 { UInt64(UInt(bitPattern: base)) }

    deinit {
        if let release { release(deviceAddress) } else { free(base) }
    }
}
