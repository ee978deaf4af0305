import Testing

@testable import ImageOps

@Suite("PIL bicubic resize and crop, byte-exact against Pillow")
struct BicubicResizeTests {
    @Test("resize matches Pillow's Image.resize(BICUBIC) to the byte", arguments: AugmentFixtures.cases(op: "resize"))
    func resizeMatchesPillow(_ fixture: AugmentFixtures.Case) throws {
        let input = try AugmentFixtures.input(fixture)
        let output = BicubicResize.resize(input, width: try #require(fixture.params.width),
                                          height: try #require(fixture.params.height))
        let expected = try AugmentFixtures.expected(fixture)
        #expect(output.width == expected.width && output.height == expected.height)
        let difference = AugmentFixtures.difference(output, expected)
        #expect(difference.count == 0, "\(fixture.name): \(difference.count) bytes differ, by up to \(difference.largest)")
    }

    @Test("pass order of Pillow ≤ 12 (always horizontal first) matches two PIL calls with an 8-bit intermediate",
          arguments: AugmentFixtures.cases(op: "resize_horizontal_first"))
    func horizontalFirstMatchesOlderPillow(_ fixture: AugmentFixtures.Case) throws {
        let input = try AugmentFixtures.input(fixture)
        let width = try #require(fixture.params.width), height = try #require(fixture.params.height)
        let older = BicubicResize.resize(input, width: width, height: height, order: .horizontalFirst)
        #expect(older == (try AugmentFixtures.expected(fixture)))
        // For these sizes Pillow 13 runs the vertical pass first, and the bytes differ.
        #expect(BicubicResize.resize(input, width: width, height: height) != older)
    }

    @Test("resizing a box of the tile equals cropping then resizing (taps clamped to the crop)",
          arguments: AugmentFixtures.cases(op: "resize"))
    func boxResizeEqualsCropThenResize(_ fixture: AugmentFixtures.Case) throws {
        let source = try AugmentFixtures.source(fixture)
        let output = BicubicResize.resize(source, box: fixture.cropBox, width: try #require(fixture.params.width),
                                          height: try #require(fixture.params.height))
        #expect(output == (try AugmentFixtures.expected(fixture)))
    }

    @Test("a scratch reused across sizes gives the same bytes as a fresh one")
    func scratchReuse() throws {
        let fixtures = AugmentFixtures.cases(op: "resize")
        var scratch = ResizeScratch()
        for fixture in fixtures + fixtures.reversed() {
            let source = try AugmentFixtures.source(fixture)
            var output = RGBImage(width: fixture.width, height: fixture.height)
            BicubicResize.resize(source, box: fixture.cropBox, into: &output, scratch: &scratch)
            #expect(output == (try AugmentFixtures.expected(fixture)), "\(fixture.name)")
        }
    }

    @Test("crop matches PIL Image.crop", arguments: AugmentFixtures.cases(op: "crop"))
    func cropMatchesPillow(_ fixture: AugmentFixtures.Case) throws {
        #expect(try AugmentFixtures.input(fixture) == (try AugmentFixtures.expected(fixture)))
    }

    @Test("weights: Pillow's 22-bit fixed point sums to about 2^22, taps stay inside the input")
    func coefficientInvariants() {
        for (inSize, outSize) in [(160, 224), (448, 224), (5, 98), (1000, 37), (98, 98), (1, 7)] {
            let coefficients = BicubicCoefficients(inSize: inSize, outSize: outSize)
            for output in 0..<outSize {
                let first = Int(coefficients.first[output]), count = Int(coefficients.count[output])
                #expect(first >= 0 && count >= 1 && first + count <= inSize)
                let sum = (0..<count).reduce(0) { $0 + Int(coefficients.weights[output * coefficients.taps + $1]) }
                #expect(abs(sum - (1 << 22)) <= count, "\(inSize)→\(outSize) output \(output): weights sum to \(sum)")
            }
        }
    }
}
