import Testing

@testable import SlideIO

@Suite("Otsu threshold (Otsu 1979)")
struct TissueOtsuTests {
    @Test("hand-computed histogram: values 1,1,2,6,7,7 → t* = 2")
    func handComputed() {
        // N = 6, S = Σ i·nᵢ = 24. σ²_B(t) = (N·S₀ − n₀·S)² / (N²·n₀·n₁):
        //   t = 1: n₀ = 2, S₀ = 2  → (12 − 48)² / (36·2·4) = 1296 / 288 = 4.5
        //   t = 2…5: n₀ = 3, S₀ = 4 → (24 − 72)² / (36·3·3) = 2304 / 324 = 7.11  (ω₀ = ½, μ₀ = 4/3, μ₁ = 20/3)
        //   t = 6: n₀ = 4, S₀ = 10 → (60 − 96)² / (36·4·2) = 1296 / 288 = 4.5
        // Maximum 7.11 at t = 2…5; ties go to the smallest t → 2, so {6, 7} is foreground.
        var histogram = [Int](repeating: 0, count: 256)
        histogram[1] = 2
        histogram[2] = 1
        histogram[6] = 1
        histogram[7] = 2
        #expect(OtsuThreshold.threshold(histogram: histogram) == 2)
        #expect(OtsuThreshold.threshold(of: [1, 1, 2, 6, 7, 7]) == 2)
        // A short histogram (missing bins are zeros) gives the same answer.
        #expect(OtsuThreshold.threshold(histogram: [0, 2, 1, 0, 0, 0, 1, 2]) == 2)
    }

    @Test("asymmetric example: 10×{20}, 5×{30}, 5×{200} → t* = 30")
    func asymmetric() {
        // N = 20, S = 200 + 150 + 1000 = 1350.
        //   t = 20…29: n₀ = 10, S₀ = 200 → (4000 − 13500)² / (400·10·10) = 90 250 000 / 40 000 = 2256.25
        //   t = 30…199: n₀ = 15, S₀ = 350 → (7000 − 20250)² / (400·15·5) = 175 562 500 / 30 000 = 5852.08
        // → t* = 30: the two low modes form the background class.
        let values = [UInt8](repeating: 20, count: 10) + [UInt8](repeating: 30, count: 5) + [UInt8](repeating: 200, count: 5)
        #expect(OtsuThreshold.threshold(of: values) == 30)
    }

    @Test("ties go to the smallest threshold; fewer than two values give nil")
    func edgeCases() {
        #expect(OtsuThreshold.threshold(of: [UInt8](repeating: 10, count: 5) + [UInt8](repeating: 200, count: 5)) == 10)
        #expect(OtsuThreshold.threshold(of: [UInt8](repeating: 7, count: 100)) == nil)
        #expect(OtsuThreshold.threshold(of: []) == nil)
        #expect(OtsuThreshold.threshold(of: [0, 255]) == 0)
    }

    @Test("agrees with a direct ω/μ evaluation of σ²_B on pseudo-random histograms")
    func matchesDirectFormula() {
        var state: UInt64 = 12345
        for _ in 0 ..< 50 {
            var histogram = [Int](repeating: 0, count: 256)
            for bin in 0 ..< 256 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                histogram[bin] = Int(state >> 58)  // 0…63
            }
            let total = Double(histogram.reduce(0, +))
            var best = -1.0
            var bestT = -1
            for t in 0 ..< 255 {
                let n0 = Double(histogram[0 ... t].reduce(0, +))
                let n1 = total - n0
                guard n0 > 0, n1 > 0 else { continue }
                let mean0 = Double((0 ... t).reduce(0) { $0 + $1 * histogram[$1] }) / n0
                let mean1 = Double((t + 1 ..< 256).reduce(0) { $0 + $1 * histogram[$1] }) / n1
                let variance = (n0 / total) * (n1 / total) * (mean0 - mean1) * (mean0 - mean1)
                if variance > best * (1 + 1e-12) {
                    best = variance
                    bestT = t
                }
            }
            #expect(OtsuThreshold.threshold(histogram: histogram) == bestT)
        }
    }
}

@Suite("Tissue detection building blocks: HSV, median, box mean, morphology, pen colours")
struct TissueBuildingBlockTests {
    @Test("saturation and value in OpenCV's 8-bit convention")
    func hsv() {
        #expect(HSVPlanes.saturation(r: 255, g: 0, b: 0) == 255)
        #expect(HSVPlanes.saturation(r: 255, g: 255, b: 255) == 0)
        #expect(HSVPlanes.saturation(r: 0, g: 0, b: 0) == 0)
        #expect(HSVPlanes.saturation(r: 200, g: 100, b: 100) == 128)  // 255·100/200 = 127.5 → 128
        #expect(HSVPlanes.saturation(r: 230, g: 150, b: 200) == 89)  // eosin pink: 255·80/230 = 88.7 → 89
        #expect(HSVPlanes.value(r: 12, g: 240, b: 7) == 240)
    }

    /// Brute-force median with replicated borders.
    private func referenceMedian(_ plane: [UInt8], width: Int, height: Int, kernel: Int) -> [UInt8] {
        let radius = kernel / 2
        var output = plane
        for y in 0 ..< height {
            for x in 0 ..< width {
                var window: [UInt8] = []
                for dy in -radius ... radius {
                    for dx in -radius ... radius {
                        window.append(plane[min(max(y + dy, 0), height - 1) * width + min(max(x + dx, 0), width - 1)])
                    }
                }
                output[y * width + x] = window.sorted()[window.count / 2]
            }
        }
        return output
    }

    @Test("median filter equals a brute-force median with replicated borders", arguments: [1, 3, 7, 31])
    func median(kernel: Int) {
        var state: UInt64 = 99
        for (width, height) in [(23, 17), (1, 9), (9, 1), (5, 5)] {
            let plane = (0 ..< width * height).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 62 == 0 ? UInt8(truncatingIfNeeded: state >> 40) : UInt8((state >> 56) & 0x0F)
            }
            #expect(MedianFilter.apply(plane, width: width, height: height, kernel: kernel)
                == referenceMedian(plane, width: width, height: height, kernel: kernel))
        }
    }

    @Test("clipped median equals min(brute-force median, 31) with replicated borders", arguments: [1, 3, 7, 15])
    func clippedMedian(kernel: Int) {
        var state: UInt64 = 7
        for (width, height) in [(23, 17), (1, 9), (9, 1), (5, 5), (40, 3)] {
            let plane = (0 ..< width * height).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // Half the values around the clip (20…43), the rest anywhere in 0…255.
                return state >> 63 == 0 ? UInt8(20 + (state >> 40) % 24) : UInt8(truncatingIfNeeded: state >> 48)
            }
            let expected = referenceMedian(plane, width: width, height: height, kernel: kernel).map { min($0, 31) }
            #expect(ClippedMedianFilter.apply(plane, width: width, height: height, kernel: kernel) == expected)
        }
        // All 225 values of a 15 × 15 window above the clip, and all equal: the byte counts reach their maximum.
        #expect(ClippedMedianFilter.apply([UInt8](repeating: 200, count: 30 * 30), width: 30, height: 30, kernel: 15)
            .allSatisfy { $0 == 31 })
        #expect(ClippedMedianFilter.apply([UInt8](repeating: 0, count: 30 * 30), width: 30, height: 30, kernel: 15)
            .allSatisfy { $0 == 0 })
    }

    @Test("median removes salt noise smaller than half the window")
    func medianSalt() {
        var plane = [UInt8](repeating: 0, count: 20 * 20)
        for index in stride(from: 3, to: plane.count, by: 17) { plane[index] = 255 }
        #expect(MedianFilter.apply(plane, width: 20, height: 20, kernel: 7).allSatisfy { $0 == 0 })
    }

    @Test("box mean equals a brute-force mean with replicated borders")
    func boxMean() {
        let width = 13, height = 11, kernel = 5
        let plane = (0 ..< width * height).map { UInt8(($0 * 37) % 256) }
        let filtered = BoxFilter.mean(plane, width: width, height: height, kernel: kernel)
        for y in 0 ..< height {
            for x in 0 ..< width {
                var sum = 0
                for dy in -2 ... 2 {
                    for dx in -2 ... 2 {
                        sum += Int(plane[min(max(y + dy, 0), height - 1) * width + min(max(x + dx, 0), width - 1)])
                    }
                }
                #expect(Int(filtered[y * width + x]) == (sum + 12) / 25)
            }
        }
    }

    /// A mask from rows of "#" (1) and "." (0).
    private func mask(_ rows: [String]) -> (values: [UInt8], width: Int, height: Int) {
        (rows.joined().map { $0 == "#" ? 1 : 0 }, rows[0].count, rows.count)
    }

    @Test("small 8-connected components are removed, diagonal neighbours count as one component")
    func removeSmallComponents() {
        var (values, width, height) = mask([
            "#.......",
            ".#...###",
            "..#..###",
            "........",
            "......#.",
        ])
        // Components: the diagonal line (3 px), the block (6 px), the single pixel (1 px).
        let removed = MaskMorphology.removeSmallComponents(&values, width: width, height: height, minimumArea: 3)
        #expect(removed == 1)
        #expect(values == mask([
            "#.......",
            ".#...###",
            "..#..###",
            "........",
            "........",
        ]).values)
    }

    @Test("small holes are filled, large holes and background touching the border are kept (B2)")
    func fillSmallHoles() {
        var (values, width, height) = mask([
            "##########",
            "#.##....##",
            "####....##",
            "####....##",
            "##########",
            "....######",
        ])
        // Holes: 1 px at (1, 1); 12 px block. The bottom-left background touches the border: not a hole.
        let filled = MaskMorphology.fillSmallHoles(&values, width: width, height: height, maximumArea: 12)
        #expect(filled == 1)
        #expect(values == mask([
            "##########",
            "####....##",
            "####....##",
            "####....##",
            "##########",
            "....######",
        ]).values)
        // A diagonal gap does not enclose: with 4-connected holes the pixel at (1, 1) below is a hole only if its
        // 4-neighbours are all tissue.
        var (open, openWidth, openHeight) = mask([
            "#.#",
            ".##",
            "###",
        ])
        MaskMorphology.fillSmallHoles(&open, width: openWidth, height: openHeight, maximumArea: 100)
        #expect(open == mask(["#.#", ".##", "###"]).values)
    }

    @Test("run-based component cleanup equals a pixel flood fill on random masks")
    func cleanupMatchesFloodFill() {
        /// Flood fill of every component of `target`; flips those `flip` selects. The independent reference.
        func reference(_ mask: [UInt8], _ width: Int, _ height: Int, target: UInt8, eight: Bool,
                       flip: (Int, Bool) -> Bool) -> [UInt8] {
            var out = mask, seen = [Bool](repeating: false, count: mask.count)
            for start in mask.indices where mask[start] == target && !seen[start] {
                var stack = [start], component: [Int] = []
                seen[start] = true
                var border = false
                while let index = stack.popLast() {
                    component.append(index)
                    let x = index % width, y = index / width
                    if x == 0 || y == 0 || x == width - 1 || y == height - 1 { border = true }
                    for dy in -1 ... 1 {
                        for dx in -1 ... 1 where (dx != 0 || dy != 0) && (eight || dx == 0 || dy == 0) {
                            let nx = x + dx, ny = y + dy
                            guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                            let n = ny * width + nx
                            if mask[n] == target && !seen[n] { seen[n] = true; stack.append(n) }
                        }
                    }
                }
                if flip(component.count, border) { for index in component { out[index] = 1 - target } }
            }
            return out
        }
        var state: UInt64 = 12345
        for (width, height, density) in [(37, 23, 0.3), (37, 23, 0.55), (64, 64, 0.45), (1, 30, 0.5), (30, 1, 0.5), (9, 9, 0.8)] {
            for _ in 0 ..< 5 {
                let mask = (0 ..< width * height).map { _ -> UInt8 in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Double(state >> 11) / Double(1 << 53) < density ? 1 : 0
                }
                for limit in [2, 5, 20] {
                    var removed = mask
                    MaskMorphology.removeSmallComponents(&removed, width: width, height: height, minimumArea: limit)
                    #expect(removed == reference(mask, width, height, target: 1, eight: true) { area, _ in area < limit })
                    var filled = mask
                    MaskMorphology.fillSmallHoles(&filled, width: width, height: height, maximumArea: limit)
                    #expect(filled == reference(mask, width, height, target: 0, eight: false) { area, border in !border && area < limit })
                }
            }
        }
    }

    @Test("pen colours: histolab's boxes catch ink, not H&E stain")
    func penColours() {
        #expect(PenMarkFilter.classify(r: 220, g: 30, b: 50) == .red)
        #expect(PenMarkFilter.classify(r: 40, g: 160, b: 140) == .green)
        #expect(PenMarkFilter.classify(r: 30, g: 60, b: 180) == .blue)
        // Eosin pink, haematoxylin purple, pale pink, glass.
        for (r, g, b) in [(230, 150, 200), (120, 80, 170), (240, 200, 225), (240, 240, 242)] as [(UInt8, UInt8, UInt8)] {
            #expect(PenMarkFilter.classify(r: r, g: g, b: b) == nil, "(\(r), \(g), \(b))")
        }
        #expect(!PenMarkFilter.isPen(r: 220, g: 30, b: 50, colors: [.green, .blue]))
        #expect(PenMarkFilter.isPen(r: 220, g: 30, b: 50, colors: [.red]))
        // The table matcher agrees with the boxes as written, on a coarse grid of colours.
        let matcher = PenMarkFilter.Matcher(colors: Set(PenMarkFilter.Color.allCases))
        for r in stride(from: 0, through: 255, by: 5) {
            for g in stride(from: 0, through: 255, by: 5) {
                for b in stride(from: 0, through: 255, by: 5) {
                    let (r, g, b) = (UInt8(r), UInt8(g), UInt8(b))
                    let direct = PenMarkFilter.redBoxes.contains { r > $0.r && g < $0.g && b < $0.b }
                        || PenMarkFilter.greenBoxes.contains { r < $0.r && g > $0.g && b > $0.b }
                        || PenMarkFilter.blueBoxes.contains { r < $0.r && g < $0.g && b > $0.b }
                    if matcher.isPen(r: r, g: g, b: b) != direct { Issue.record("(\(r), \(g), \(b))") }
                }
            }
        }
    }
}
