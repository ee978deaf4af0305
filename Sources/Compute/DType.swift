/// The element type of a tensor's storage.
///
/// Compute is fp32 everywhere on the CPU (DESIGN.md §4); `bf16` and `f16` are storage formats (checkpoints,
/// and later the CUDA backend's GEMM inputs) converted to `f32` with `DTypeConversion`.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 binary32.
    case f32
    /// bfloat16: the upper 16 bits of a binary32 (8-bit exponent, 7-bit mantissa).
    case bf16
    /// IEEE 754 binary16 (5-bit exponent, 10-bit mantissa).
    case f16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .bf16, .f16: 2
        }
    }

    public var description: String { rawValue }
}
