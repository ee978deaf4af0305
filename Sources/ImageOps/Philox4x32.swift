/// Philox-4×32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
/// easy as 1, 2, 3" (SC 2011; Random123): a keyed bijection of a 128-bit counter, so any draw of any stream can
/// be computed directly from (key, counter), in any order, on any thread. Matches Random123's known-answer
/// vectors (`kat_vectors`: `philox4x32 10`).
///
/// A round: `(hi₀, lo₀) = M₀·c₀`, `(hi₁, lo₁) = M₁·c₂` (32×32 → 64-bit products), then
/// `c = (hi₁ ⊕ c₁ ⊕ k₀, lo₁, hi₀ ⊕ c₃ ⊕ k₁, lo₀)`; the key is bumped by the Weyl constants `(W₀, W₁)` between
/// rounds; ten rounds.
public enum Philox4x32 {
    static let m0: UInt64 = 0xD251_1F53
    static let m1: UInt64 = 0xCD9E_8D57
    static let w0: UInt32 = 0x9E37_79B9
    static let w1: UInt32 = 0xBB67_AE85

    /// The four 32-bit outputs for `counter` under `key`.
    @inline(__always)
    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 {
                k0 &+= w0
                k1 &+= w1
            }
            let p0 = m0 &* UInt64(c0)
            let p1 = m1 &* UInt64(c2)
            (c0, c1, c2, c3) = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0, UInt32(truncatingIfNeeded: p1),
                                UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1, UInt32(truncatingIfNeeded: p0))
        }
        return (c0, c1, c2, c3)
    }
}
