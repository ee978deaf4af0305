import Compute

/// The data of one tensor handed to `SafetensorsWriter`: a host `Tensor` (stored in its own dtype, F32, BF16 or
/// F16), or values of an array slice stored as F32 or F64 under a shape. Slices share their array's storage, so
/// large flat buffers (a student, optimiser moments) are written in parts without a copy.
public enum SafetensorsPayload: Sendable {
    /// A host tensor, stored with its dtype and shape.
    case tensor(Tensor)
    /// float32 values, stored as F32 `shape` (the slice holds `shape`'s element count).
    case float32(ArraySlice<Float>, shape: [Int])
    /// float64 values, stored as F64 `shape` (the slice holds `shape`'s element count).
    case float64(ArraySlice<Double>, shape: [Int])

    /// The header's dtype.
    public var dtype: SafetensorsDType {
        switch self {
        case .tensor(let tensor): SafetensorsDType(tensor.dtype)
        case .float32: .f32
        case .float64: .f64
        }
    }

    /// The header's shape.
    public var shape: [Int] {
        switch self {
        case .tensor(let tensor): tensor.shape
        case .float32(_, let shape), .float64(_, let shape): shape
        }
    }

    /// Element count of the stored data (the slice's count for the array cases).
    var count: Int {
        switch self {
        case .tensor(let tensor): tensor.count
        case .float32(let values, _): values.count
        case .float64(let values, _): values.count
        }
    }

    /// Bytes of the stored data.
    var byteCount: Int { count * dtype.byteSize }

    /// Calls `body` with the stored data's bytes (little-endian, as the host holds them).
    func withBytes<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        var failure: E?
        switch self {
        case .tensor(let tensor):
            try body(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount))
        case .float32(let values, _):
            values.withUnsafeBytes { bytes in
                do throws(E) { try body(bytes) } catch { failure = error }
            }
        case .float64(let values, _):
            values.withUnsafeBytes { bytes in
                do throws(E) { try body(bytes) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }
}
