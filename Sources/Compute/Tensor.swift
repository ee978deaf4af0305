/// A shape, an element type and a view into device storage: the unit every `Backend` kernel works on.
///
/// Row-major (PyTorch layout): the last dimension is contiguous, so a `[B, L, D]` tensor holds token `l` of
/// image `b` at elements `(b·L + l)·D ..< (b·L + l + 1)·D`. A tensor is a view: several tensors may share
/// one `TensorStorage` at different offsets (a model's parameters are views into one flat buffer, as in
/// llm.c), and `view(offset:shape:)` makes more without copying.
///
/// Sendable by contract (see `TensorStorage`): the view itself is immutable; whoever writes its elements
/// must not share the tensor with another thread while writing.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Sizes per dimension, outermost first.
    public let shape: [Int]
    /// Element type of the storage.
    public let dtype: DType
    /// The memory this view points into.
    public let storage: TensorStorage
    /// Offset of the first element from `storage.base`, in elements of `dtype`.
    public let offset: Int

    /// A view of `shape` at element `offset` of `storage`.
    /// - Precondition: the view fits in the storage; every dimension ≥ 0.
    public init(shape: [Int], dtype: DType = .f32, storage: TensorStorage, offset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let count = shape.reduce(1, *)
        precondition(offset >= 0 && (offset + count) * dtype.byteSize <= storage.byteCount,
                     "a \(dtype) view of \(shape) at element \(offset) does not fit \(storage.byteCount) bytes")
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
        self.offset = offset
    }

    /// New host memory for `shape` (contents undefined unless `zeroed`).
    public convenience init(shape: [Int], dtype: DType = .f32, zeroed: Bool = false) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, dtype: dtype, storage: TensorStorage(hostBytes: count * dtype.byteSize, zeroed: zeroed))
    }

    /// A host `f32` tensor holding `values`.
    /// - Precondition: `values.count` equals the product of `shape`.
    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { source in
            floats.update(from: source.baseAddress!, count: source.count)
        }
    }

    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// The device of the storage.
    public var device: Device { storage.device }
    /// Size of the view in bytes.
    public var byteCount: Int { count * dtype.byteSize }

    /// Address of the first element (a device address for device storage).
    public var rawPointer: UnsafeMutableRawPointer { storage.base + offset * dtype.byteSize }

    /// The elements of a host `f32` tensor, for CPU kernels.
    /// - Precondition: `device == .cpu` and `dtype == .f32`.
    public var floats: UnsafeMutablePointer<Float> {
        precondition(device == .cpu && dtype == .f32, "floats of a \(dtype) tensor on \(device)")
        return rawPointer.assumingMemoryBound(to: Float.self)
    }

    /// A view of `shape` starting `offset` elements into this view (same storage, no copy).
    /// - Precondition: the new view lies inside this one.
    public func view(offset: Int = 0, shape: [Int]) -> Tensor {
        precondition(offset >= 0 && offset + shape.reduce(1, *) <= count,
                     "view of \(shape) at \(offset) outside a tensor of \(self.shape)")
        return Tensor(shape: shape, dtype: dtype, storage: storage, offset: self.offset + offset)
    }

    /// The same elements under another shape of equal element count.
    public func reshaped(_ shape: [Int]) -> Tensor {
        precondition(shape.reduce(1, *) == count, "cannot reshape \(self.shape) to \(shape)")
        return view(shape: shape)
    }

    /// A copy of a host tensor's elements as `Float` (converting `bf16`/`f16`).
    /// - Precondition: `device == .cpu`.
    public func scalars() -> [Float] {
        precondition(device == .cpu, "scalars() of a tensor on \(device): download it first")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            DTypeConversion.convert(UnsafeRawPointer(rawPointer), dtype: dtype, count: count, into: buffer.baseAddress!)
            initialized = count
        }
    }

    public var description: String { "Tensor(\(dtype) \(shape) on \(device))" }
}
