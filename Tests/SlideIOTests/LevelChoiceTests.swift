import Testing
@testable import SlideIO

/// Level choice with tolerance and residual scale (field cases L1, L2, L4, R6).
@Suite("Level choice")
struct LevelChoiceTests {
    @Test("L1: downsamples 1, 4.0003, 16.0036, 64.083: targets 4, 16, 64, 50 pick levels 1, 2, 3, 2", arguments: [
        (4.0, 1), (16.0, 2), (64.0, 3), (50.0, 2), (1.0, 0), (3.99, 1), (3.9, 0), (1000.0, 3),
    ])
    func nonIntegerDownsamples(_ target: Double, _ level: Int) {
        let downsamples = [1, 4.0003, 16.0036, 64.083]
        let choice = LevelChoice(downsamples: downsamples, targetDownsample: target)
        #expect(choice.level == level)
        #expect(choice.levelDownsample == downsamples[level])
        #expect(abs(choice.residualScaleX - downsamples[level] / target) < 1e-12)
        #expect(choice.residualScaleX == choice.residualScaleY)
    }

    @Test("L1: the 10× level reported as 4.0001 still counts as 4; 64.08 counts as 64")
    func slightlyAbove() {
        #expect(LevelChoice(downsamples: [1, 4.0001, 16.0004], targetDownsample: 4).level == 1)
        #expect(LevelChoice(downsamples: [1, 4.000339, 16.003617, 64.083328], targetDownsample: 64).level == 3)
        // Beyond the tolerance, the finer level is used and resampled down.
        let strict = LevelChoice(downsamples: [1, 4.0003, 16.0036, 64.083], targetDownsample: 64, tolerance: 0.0001)
        #expect(strict.level == 2 && abs(strict.residualScaleX - 16.0036 / 64) < 1e-12)
    }

    @Test("L2: an exact match picks that level", arguments: [(1.0, 0), (4.0, 1), (16.0, 2), (64.0, 3)])
    func exactMatch(_ target: Double, _ level: Int) {
        let choice = LevelChoice(downsamples: [1, 4, 16, 64], targetDownsample: target)
        #expect(choice.level == level && choice.residualScaleX == 1 && choice.isExact && !choice.upsamples)
    }

    @Test("osp-boxes.tiff (1, 2, 4.0161, 8.0863): 4× picks level 2 (0.4 % off); 8.0863 is 1.08 % off 8×, beyond 1 %")
    func boxes() throws {
        let slide = try Slide(path: SlidePaths.boxes)
        let mpp = ResolvedMPP(x: 0.25, y: 0.25, source: .runOverride)
        let four = slide.chooseLevel(targetMPP: 1.0, mpp: mpp)
        #expect(four.level == 2 && abs(four.residualScaleX - 4.0161290322580641 / 4) < 1e-12 && four.isExact)
        // 8.0863 / 8 = 1.0108: outside the default 1 %, so level 2 is read and shrunk by about 1/2 …
        let eight = slide.chooseLevel(targetMPP: 2.0, mpp: mpp)
        #expect(eight.level == 2 && abs(eight.residualScaleX - 4.0161290322580641 / 8) < 1e-12 && !eight.isExact)
        // … and a 2 % tolerance accepts level 3 with a slight enlargement.
        let eightLoose = slide.chooseLevel(targetMPP: 2.0, mpp: mpp, tolerance: 0.02)
        #expect(eightLoose.level == 3 && abs(eightLoose.residualScaleX - 8.0863121185701843 / 8) < 1e-12)
        #expect(eightLoose.residualScaleX > 1 && eightLoose.residualScaleX < 1.011 && !eightLoose.upsamples)
        // 3× lies between levels 1 and 2: the finer level (2×) is read and shrunk by 2/3.
        let three = slide.chooseLevel(targetMPP: 0.75, mpp: mpp)
        #expect(three.level == 1 && abs(three.residualScaleX - 2.0 / 3.0) < 1e-12)
        #expect(three.levelSize(outputWidth: 224, outputHeight: 224) == (336, 336))
    }

    @Test("tcga (1, 2.0005): 2× picks level 1")
    func tcga() throws {
        let slide = try Slide(path: SlidePaths.tcga)
        let choice = slide.chooseLevel(targetMPP: 0.5, mpp: ResolvedMPP(x: 0.25, y: 0.25, source: .runOverride))
        #expect(choice.level == 1 && abs(choice.residualScaleX - 2.0005055500659967 / 2) < 1e-12)
    }

    @Test("L4/R6: 0.5 µm/px on a 0.25 and a 0.4425 µm/px slide with levels (1, 4, 16) both cover 112 µm per 224 px")
    func physicalSize() {
        for mpp0 in [0.25, 0.4425] {
            let mpp = ResolvedMPP(x: mpp0, y: mpp0, source: .runOverride)
            let levels = [SlideLevel(index: 0, width: 40_000, height: 30_000, downsample: 1),
                          SlideLevel(index: 1, width: 10_000, height: 7_500, downsample: 4),
                          SlideLevel(index: 2, width: 2_500, height: 1_875, downsample: 16)]
            let choice = LevelChoice(levels: levels, mpp: mpp, targetMPP: 0.5)
            #expect(choice.level == 0, "neither slide has a level at 0.5 µm/px: read level 0 and shrink")
            let extent = choice.level0Extent(outputWidth: 224, outputHeight: 224)
            #expect(abs(extent.width * mpp0 - 112) < 1e-9 && abs(extent.height * mpp0 - 112) < 1e-9)
            let read = choice.levelSize(outputWidth: 224, outputHeight: 224)
            #expect(abs(Double(read.width) * mpp0 - 112) <= mpp0, "within half a level-0 px per side")
        }
    }

    @Test("a target finer than level 0 chooses level 0 and says it upsamples")
    func upsampling() {
        let choice = LevelChoice(downsamples: [1, 2], targetDownsample: 0.5)
        #expect(choice.level == 0 && choice.residualScaleX == 2 && choice.upsamples)
    }

    @Test("anisotropic pixels: the finer axis decides, residuals differ per axis")
    func anisotropic() {
        let mpp = ResolvedMPP(x: 0.25, y: 0.5, source: .runOverride)
        let levels = [SlideLevel(index: 0, width: 100, height: 100, downsample: 1),
                      SlideLevel(index: 1, width: 50, height: 50, downsample: 2),
                      SlideLevel(index: 2, width: 25, height: 25, downsample: 4)]
        let choice = LevelChoice(levels: levels, mpp: mpp, targetMPP: 1.0)   // 4× in x, 2× in y
        #expect(choice.level == 1)
        #expect(choice.residualScaleX == 0.5 && choice.residualScaleY == 1)
    }
}
