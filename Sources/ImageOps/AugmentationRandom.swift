/// Where an augmentation's randomness comes from: the run's seed, the epoch and the sample, so a sample gets the
/// same crops whichever worker handles it and after a resume (DESIGN.md §3 "Determinism").
public struct AugmentationKey: Sendable, Equatable, Hashable, Codable {
    /// The run's seed (`run.seed` of the graph).
    public var seed: UInt64
    /// The epoch, `0 ..< 2²⁴`.
    public var epoch: Int
    /// The sample's identity (e.g. its index in the dataset, or a hash of its slide and coordinates).
    public var sample: UInt64

    /// - Precondition: `epoch` in `0 ..< 2²⁴`.
    public init(seed: UInt64, epoch: Int, sample: UInt64) {
        precondition(epoch >= 0 && epoch < 1 << 24, "epoch \(epoch) is outside 0 ..< 2^24")
        self.seed = seed
        self.epoch = epoch
        self.sample = sample
    }

    /// A tile's sample identity from where it comes from: FNV-1a 64 over the slide id's UTF-8 bytes, then
    /// level-0 `x` and `y` as 8 little-endian bytes each. The same tile gets the same id whatever the shard order,
    /// the reader or the worker, and after a resume.
    public static func sampleID(slideID: String, x: Int, y: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for byte in slideID.utf8 { mix(byte) }
        for value in [x, y] {
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(value)) >> UInt64(shift))) }
        }
        return hash
    }
}

/// A stream of random numbers for one (key, stream) pair, drawn from ``Philox4x32`` with
/// key = the 64-bit seed and counter = (block, epoch·2⁸ + stream, sample low, sample high): distinct
/// (seed, epoch, sample, stream) tuples never share a block. Streams `0 ..< 256` separate the crops of a sample,
/// so the draws of one crop do not shift another's.
///
/// The draws mirror torch's CPU ones: ``uniform(_:_:)`` keeps 24 random bits like `uniform_` on float32,
/// ``integer(below:)`` is unbiased (Lemire's multiply-and-reject), ``permutation(_:)`` is a Fisher–Yates
/// shuffle (`randperm`), ``chance(_:)`` is `rand() < p`.
public struct AugmentationRandom: RandomNumberGenerator, Sendable {
    let key: (UInt32, UInt32)
    let lane: UInt32
    let sampleLow: UInt32
    let sampleHigh: UInt32
    var block: UInt32 = 0
    var buffer: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    var used = 4

    /// - Precondition: `stream < 256`.
    public init(key: AugmentationKey, stream: Int) {
        precondition(stream >= 0 && stream < 256, "stream \(stream) is outside 0 ..< 256")
        self.key = (UInt32(truncatingIfNeeded: key.seed), UInt32(truncatingIfNeeded: key.seed >> 32))
        lane = UInt32(key.epoch) << 8 | UInt32(stream)
        sampleLow = UInt32(truncatingIfNeeded: key.sample)
        sampleHigh = UInt32(truncatingIfNeeded: key.sample >> 32)
    }

    /// The next 32 random bits.
    public mutating func next32() -> UInt32 {
        if used == 4 {
            precondition(block != .max, "an augmentation stream ran out of blocks")
            buffer = Philox4x32.block(counter: (block, lane, sampleLow, sampleHigh), key: key)
            block &+= 1
            used = 0
        }
        defer { used += 1 }
        switch used {
        case 0: return buffer.0
        case 1: return buffer.1
        case 2: return buffer.2
        default: return buffer.3
        }
    }

    /// The next 64 random bits (`RandomNumberGenerator`).
    public mutating func next() -> UInt64 {
        UInt64(next32()) << 32 | UInt64(next32())
    }

    /// A float32 uniform in `[low, high)`: 24 random bits `u·2⁻²⁴`, then `u·(high − low) + low` in float32, as
    /// torch's `uniform_` on a float32 tensor.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        let unit = Float(next32() & 0xFF_FFFF) * 0x1p-24
        return unit * (high - low) + low
    }

    /// `rand() < p`: true with probability `p` (never for p = 0, always for p = 1).
    public mutating func chance(_ probability: Double) -> Bool {
        Double(uniform(0, 1)) < probability
    }

    /// An integer uniform in `0 ..< bound` (torch `randint(0, bound)`), without modulo bias.
    /// - Precondition: `bound` in `1 ... 2³²`.
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound >= 1 && bound <= 1 << 32, "randint bound \(bound) is outside 1 ... 2^32")
        let range = UInt64(bound)
        var product = UInt64(next32()) &* range
        if UInt64(UInt32(truncatingIfNeeded: product)) < range {
            let threshold = ((1 << 32) - range) % range
            while UInt64(UInt32(truncatingIfNeeded: product)) < threshold {
                product = UInt64(next32()) &* range
            }
        }
        return Int(product >> 32)
    }

    /// A uniformly random permutation of `0 ..< count` (torch `randperm`).
    public mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        var index = count - 1
        while index > 0 {
            values.swapAt(index, integer(below: index + 1))
            index -= 1
        }
        return values
    }
}
