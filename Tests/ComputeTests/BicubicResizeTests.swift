import Testing
@testable import Compute

/// The 1-D bicubic weights, checked against the numbers worked out in distillation-spec.md §2.8; the full
/// 16×16 → 7×7 grids are checked against PyTorch in ModelsTests (`PositionGridTests`).
@Suite struct BicubicResizeTests {
    @Test func sourceCoordinatesOfBothModes() {
        // Offset mode: s = 16/7.1; size mode: s = 16/7; src = s·(i + 0.5) − 0.5 (spec §2.8).
        let offset: [Float] = [0.62676, 2.88028, 5.13380, 7.38732, 9.64085, 11.89437, 14.14789]
        let size: [Float] = [0.64286, 2.92857, 5.21429, 7.5, 9.78571, 12.07143, 14.35714]
        #expect(BicubicResize.outputSize(inputSize: 16, scaleFactor: 7.1 / 16) == 7)
        for (mode, sources) in [(BicubicResize(scaleFactor: 7.1 / 16, antialias: false), offset),
                                (BicubicResize(scaleFactor: nil, antialias: false), size)] {
            let weights = mode.weights(inputSize: 16, outputSize: 7)
            for (row, source) in sources.enumerated() {
                let slice = Array(weights[(row * 16)..<(row * 16 + 16)])
                #expect(abs(slice.reduce(0, +) - 1) < 1e-6)
                // Keys' weights at the spec's source coordinate: taps i0−1 … i0+2, t = src − i0 (rows whose taps
                // need no clamping; the coordinates are given to 5 decimals).
                let i0 = Int(source.rounded(.down))
                let t = source - Float(i0)
                guard i0 >= 1 && i0 + 2 <= 15 else { continue }
                let expected = [BicubicResize.cubic2(t + 1, -0.75), BicubicResize.cubic1(t, -0.75),
                                BicubicResize.cubic1(1 - t, -0.75), BicubicResize.cubic2(2 - t, -0.75)]
                for tap in 0..<4 {
                    #expect(abs(slice[i0 - 1 + tap] - expected[tap]) < 2e-5, "row \(row) tap \(tap)")
                }
            }
        }
    }

    @Test func keysWeightsAtHalfway() {
        // Size mode, output 3: src = 7.5, t = 0.5, taps 6…9 with A = −0.75: cc2(1.5) = −0.09375, cc1(0.5) = 0.59375.
        let weights = BicubicResize(scaleFactor: nil, antialias: false).weights(inputSize: 16, outputSize: 7)
        #expect(Array(weights[(3 * 16 + 6)...(3 * 16 + 9)]) == [-0.09375, 0.59375, 0.59375, -0.09375])
        // Output 0 of size mode: src = 0.642857, i0 = 0, taps −1 and 0 both clamp to index 0.
        let t: Float = 16.0 / 7.0 * 0.5 - 0.5
        let expected0 = BicubicResize.cubic2(t + 1, -0.75) + BicubicResize.cubic1(t, -0.75)
        #expect(abs(weights[0] - expected0) < 1e-7)
    }

    @Test func antialiasWidensTheSupport() {
        // Downsampling 16 → 7 (s = 16/7): support 2s = 4.571; output 3 is centred on 8.0: xmin = Int(8 − 4.571 + 0.5)
        // = 3, xsize = Int(8 + 4.571 + 0.5) − 3 = 10, so indices 3…12, with Pillow's a = −0.5 filter evaluated at
        // (j − 8 + 0.5)/s (|x| ≤ 1.97 < 2, all non-zero), normalised.
        let weights = BicubicResize(scaleFactor: nil, antialias: true).weights(inputSize: 16, outputSize: 7)
        let row = Array(weights[(3 * 16)..<(4 * 16)])
        let nonZero = row.indices.filter { row[$0] != 0 }
        #expect(nonZero.first == 3 && nonZero.last == 12)
        #expect(abs(row.reduce(0, +) - 1) < 1e-6)
        for i in 3...7 { #expect(abs(row[i] - row[15 - i]) < 1e-6) }   // symmetric about the centre 8.0 = pixel edge 7|8
        // The outermost tap: filter(4.5·7/16 = 1.96875) = ((−0.5·x + 2.5)·x − 4)·x + 2 = −0.000473, over the sum.
        #expect(row[3] < 0 && row[3] > -0.001)
        // Upsampling keeps the plain kernel width: every row has at most 4 taps.
        let up = BicubicResize(scaleFactor: nil, antialias: true).weights(inputSize: 4, outputSize: 9)
        for r in 0..<9 { #expect(up[(r * 4)..<(r * 4 + 4)].filter { $0 != 0 }.count <= 4) }
    }
}
