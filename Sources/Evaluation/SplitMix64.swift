/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
/// the portable generator of `../shared/reference/eval-parity/gen.py`, used for the linear probe's
/// initialisation and shuffling and for regenerating parity inputs bit for bit in any language.
///
/// Seed 0 gives a first value of `0xe220a8397b1dcdaf`.
public struct SplitMix64: Sendable {
    /// The generator state (advanced by the golden-ratio increment before each output).
    public private(set) var state: UInt64

    /// A generator whose first output derives from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64-bit output.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits of `next()` times 2⁻⁵³.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [-1, 1): `2 · uniform() − 1` (gen.py's `sym()`).
    public mutating func symmetric() -> Double {
        2 * uniform() - 1
    }

    /// A [rows, columns] matrix of `symmetric()` values, filled row-major (gen.py's `matrix`).
    public mutating func symmetricMatrix(rows: Int, columns: Int) -> FeatureMatrix<Double> {
        var values = [Double]()
        values.reserveCapacity(rows * columns)
        for _ in 0 ..< rows * columns { values.append(symmetric()) }
        return FeatureMatrix(rows: rows, columns: columns, values: values)
    }

    /// A permutation of `0..<count` by Fisher–Yates from the last position down: position `i` swaps with
    /// `next() % (i + 1)`. (tools/fixtures/splitmix64.py implements the same, for the probe fixture.)
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0 ..< count)
        var i = count - 1
        while i > 0 {
            let j = Int(next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
