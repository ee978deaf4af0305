#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file that cannot be read or written; every case names the file, and the tensor when one
/// is at fault.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// A system call failed (`operation`: open, stat, mmap, write, fsync, rename, …).
    case io(path: String, operation: String, errno: Int32)
    /// The 8-byte header length or the JSON header is malformed.
    case badHeader(path: String, reason: String)
    /// One tensor's header entry is malformed (unknown dtype, bad shape, offsets out of range or overlapping).
    case badEntry(path: String, key: String, reason: String)
    /// The file has no tensor of that name.
    case missingTensor(path: String, key: String)
    /// The tensor's dtype cannot be converted to `Float` (only F32, F16 and BF16 can).
    case unsupportedDType(path: String, key: String, dtype: String)
    /// The tensor is stored in a dtype other than the one the reader requires (`expected`), e.g. F16 where an exact
    /// F32 or F64 value is needed.
    case dtypeMismatch(path: String, key: String, dtype: String, expected: String)
    /// A tensor handed to the writer cannot be stored (not on the host, duplicate name).
    case cannotWrite(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let errno):
            return "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
        case .badHeader(let path, let reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case .badEntry(let path, let key, let reason):
            return "\(path): tensor '\(key)': \(reason)"
        case .missingTensor(let path, let key):
            return "\(path): no tensor named '\(key)'"
        case .unsupportedDType(let path, let key, let dtype):
            return "\(path): tensor '\(key)' has dtype \(dtype); only F32, F16 and BF16 convert to float32"
        case .dtypeMismatch(let path, let key, let dtype, let expected):
            return "\(path): tensor '\(key)' has dtype \(dtype), expected \(expected)"
        case .cannotWrite(let path, let key, let reason):
            return "\(path): cannot write tensor '\(key)': \(reason)"
        }
    }
}
