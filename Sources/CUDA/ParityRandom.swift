/// The deterministic inputs of the parity runs (the device machine has no sample data): SplitMix64 (Steele, Lea,
/// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), one stream per seed, started at `seed·φ`.
enum ParityRandom {
    /// The stream's raw 64-bit outputs, `count` of them.
    static func outputs(_ count: Int, seed: UInt64) -> [UInt64] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// `count` values uniform in `[−scale, scale)`: `(2u − 1)·scale`, u of 24 random bits.
    static func uniform(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        outputs(count, seed: seed).map { (Float($0 >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }

    /// `count` bytes (RGB8 pixels).
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        outputs(count, seed: seed).map { UInt8(truncatingIfNeeded: $0) }
    }
}
