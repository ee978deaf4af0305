/// One argument of a kernel launch, typed as the kernel's C parameter: a device pointer (`T*`), `int`,
/// `long long`, `float` or `double`. `cuLaunchKernel` takes an array of pointers to each argument's value.
enum KernelArgument {
    case pointer(UInt64)
    case int32(Int32)
    case int64(Int64)
    case float(Float)
    case float64(Double)

    /// An `int` argument from a Swift size.
    /// - Precondition: the value fits in 32 bits.
    static func int(_ value: Int) -> KernelArgument {
        precondition(value >= Int(Int32.min) && value <= Int(Int32.max), "kernel argument \(value) does not fit an int")
        return .int32(Int32(value))
    }

    /// A `long long` argument.
    static func long(_ value: Int) -> KernelArgument { .int64(Int64(value)) }

    /// A `double` argument.
    static func double(_ value: Double) -> KernelArgument { .float64(value) }

    /// Calls `body` with `cuLaunchKernel`'s `kernelParams`: an array of pointers, each to an 8-byte slot holding
    /// one argument (4-byte values in the low bytes; x86-64 and aarch64 are little-endian).
    static func withParameters<R>(_ arguments: [KernelArgument],
                                  _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> R) -> R {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(arguments.count, 1) * 8, alignment: 8)
        defer { storage.deallocate() }
        var pointers: [UnsafeMutableRawPointer?] = []
        for (index, argument) in arguments.enumerated() {
            let slot = storage + index * 8
            switch argument {
            case .pointer(let value): slot.storeBytes(of: value, as: UInt64.self)
            case .int32(let value): slot.storeBytes(of: value, as: Int32.self)
            case .int64(let value): slot.storeBytes(of: value, as: Int64.self)
            case .float(let value): slot.storeBytes(of: value, as: Float.self)
            case .float64(let value): slot.storeBytes(of: value, as: Double.self)
            }
            pointers.append(slot)
        }
        return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
