/// Conversions between storage types and `Float`.
///
/// bf16 → f32 is exact (a shift); f16 → f32 is exact (`Float(Float16)`, hardware F16C when built for
/// haswell). f32 → bf16 rounds to nearest even, NaN kept quiet — PyTorch's `tensor.to(torch.bfloat16)`.
public enum DTypeConversion {
    /// Converts `count` elements of `dtype` at `source` to `Float`.
    public static func convert(_ source: UnsafeRawPointer, dtype: DType, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .bf16:
            let bits = source.assumingMemoryBound(to: UInt16.self)
            for index in 0..<count {
                destination[index] = Float(bitPattern: UInt32(bits[index]) << 16)
            }
        case .f16:
            let halves = source.assumingMemoryBound(to: Float16.self)
            for index in 0..<count {
                destination[index] = Float(halves[index])
            }
        }
    }

    /// `value` as a bfloat16 bit pattern, rounded to nearest even.
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return UInt16(truncatingIfNeeded: (value.bitPattern >> 16) | 0x0040) }
        let bits = value.bitPattern
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
