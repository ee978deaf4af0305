import Testing

@testable import ImageOps

@Suite("Counter-based augmentation randomness (Philox-4x32-10)")
struct AugmentationRandomTests {
    @Test("Philox-4x32-10 matches Random123's known-answer vectors")
    func knownAnswers() {
        let zero = Philox4x32.block(counter: (0, 0, 0, 0), key: (0, 0))
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let ones = Philox4x32.block(counter: (.max, .max, .max, .max), key: (.max, .max))
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = Philox4x32.block(counter: (0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), key: (0xA409_3822, 0x299F_31D0))
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }

    @Test("the same (seed, epoch, sample, stream) gives the same draws; changing any one changes them")
    func keyedStreams() {
        func draws(_ key: AugmentationKey, stream: Int) -> [UInt32] {
            var random = AugmentationRandom(key: key, stream: stream)
            return (0..<16).map { _ in random.next32() }
        }
        let key = AugmentationKey(seed: 42, epoch: 3, sample: 123_456_789_012)
        let reference = draws(key, stream: 5)
        #expect(draws(key, stream: 5) == reference)
        var variants = [draws(key, stream: 6), draws(AugmentationKey(seed: 43, epoch: 3, sample: 123_456_789_012), stream: 5),
                        draws(AugmentationKey(seed: 42, epoch: 4, sample: 123_456_789_012), stream: 5),
                        draws(AugmentationKey(seed: 42, epoch: 3, sample: 123_456_789_013), stream: 5),
                        draws(AugmentationKey(seed: 42, epoch: 3, sample: 123_456_789_012 | 1 << 40), stream: 5)]
        variants.append(reference)
        #expect(Set(variants).count == variants.count)
        // Draws are the Philox blocks of counter (block, epoch·2⁸ + stream, sample low, sample high), key = seed.
        let block = Philox4x32.block(counter: (1, 3 << 8 | 5, UInt32(123_456_789_012 & 0xFFFF_FFFF), UInt32(123_456_789_012 >> 32)),
                                     key: (42, 0))
        #expect(Array(reference[4..<8]) == [block.0, block.1, block.2, block.3])
    }

    @Test("uniform floats stay in [low, high) and fill ten bins evenly")
    func uniformFloats() {
        var random = AugmentationRandom(key: AugmentationKey(seed: 7, epoch: 0, sample: 0), stream: 0)
        var bins = [Int](repeating: 0, count: 10)
        for _ in 0..<50_000 {
            let value = random.uniform(0.6, 1.4)
            #expect(value >= 0.6 && value < 1.4)
            bins[min(9, Int((value - 0.6) / 0.8 * 10))] += 1
        }
        let (ok, detail) = Statistics.uniform(bins)
        #expect(ok, "\(detail)")
    }

    @Test("integer(below:) is uniform, including bounds that are not powers of two")
    func integers() {
        var random = AugmentationRandom(key: AugmentationKey(seed: 9, epoch: 1, sample: 2), stream: 3)
        for bound in [1, 3, 7, 100, 225] {
            var counts = [Int](repeating: 0, count: bound)
            for _ in 0..<(bound * 400) { counts[random.integer(below: bound)] += 1 }
            if bound > 1 {
                let (ok, detail) = Statistics.uniform(counts)
                #expect(ok, "bound \(bound): \(detail)")
            } else {
                #expect(counts == [400])
            }
        }
    }

    @Test("permutation(4) gives each of the 24 orders equally often")
    func permutations() {
        var random = AugmentationRandom(key: AugmentationKey(seed: 1, epoch: 0, sample: 99), stream: 0)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<48_000 { counts[random.permutation(4), default: 0] += 1 }
        #expect(counts.count == 24)
        #expect(counts.keys.allSatisfy { $0.sorted() == [0, 1, 2, 3] })
        let (ok, detail) = Statistics.uniform(Array(counts.values))
        #expect(ok, "\(detail)")
    }
}
