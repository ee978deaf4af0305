/// Which pyramid level to read for a target resolution, and the residual scale to resample by
/// (field cases L1, L2, L4, R6).
///
/// **Rule.** With level-0 resolution `mpp` (µm/px) and target `targetMPP`, the target downsample per axis
/// is `targetMPP / mpp` (level-0 px per output px). The chosen level is the **coarsest level whose
/// reported downsample ≤ target downsample × (1 + tolerance)**, using the smaller of the two axes'
/// target downsamples so that neither axis is read coarser than asked. The tolerance (default 1 %) absorbs
/// the rounding in real pyramids: downsamples such as 4.0001, 4.0161 or 64.08 count as 4 and 64 (L1), an
/// exact match picks that level (L2), and a target between levels picks the finer one, never a level
/// index used as a magnification (L4). When even level 0 is coarser than the target (the target is finer
/// than the scan), level 0 is chosen and ``upsamples`` is true.
///
/// **Residual scale** (output px per level px, per axis): `residualScale = levelDownsample /
/// targetDownsample`. Resampling a region of `n` level px by it gives `n × residualScale` output px;
/// equivalently, an output tile of `s` px needs `s / residualScale` level px, covering
/// `s × targetDownsample` level-0 px. A value of 1 means no resampling; below 1 shrinks; above 1 enlarges
/// (at most `1 + tolerance` unless ``upsamples``).
public struct LevelChoice: Sendable, Equatable {
    /// The default tolerance: a level counts as matching when its downsample is within 1 % above the target.
    public static let defaultTolerance = 0.01

    /// The chosen level index.
    public let level: Int
    /// The chosen level's downsample as reported (level-0 px per level px).
    public let levelDownsample: Double
    /// Target level-0 px per output px along x (`targetMPP / mpp.x`).
    public let targetDownsampleX: Double
    /// Target level-0 px per output px along y (`targetMPP / mpp.y`).
    public let targetDownsampleY: Double
    /// Output px per level px along x: `levelDownsample / targetDownsampleX`.
    public let residualScaleX: Double
    /// Output px per level px along y: `levelDownsample / targetDownsampleY`.
    public let residualScaleY: Double
    /// The tolerance the choice used.
    public let tolerance: Double

    /// Chooses among levels with the given downsamples (index = level) for target downsamples per axis.
    /// - Precondition: `downsamples` is not empty; targets and tolerance are finite, targets > 0, tolerance ≥ 0.
    public init(downsamples: [Double], targetDownsampleX: Double, targetDownsampleY: Double,
                tolerance: Double = LevelChoice.defaultTolerance) {
        precondition(!downsamples.isEmpty, "a slide has at least one level")
        precondition(targetDownsampleX > 0 && targetDownsampleY > 0 && targetDownsampleX.isFinite && targetDownsampleY.isFinite,
                     "target downsamples must be positive (got \(targetDownsampleX), \(targetDownsampleY))")
        precondition(tolerance >= 0 && tolerance.isFinite, "tolerance must be ≥ 0 (got \(tolerance))")
        let limit = min(targetDownsampleX, targetDownsampleY) * (1 + tolerance)
        // The coarsest level within the limit (the lowest index on ties); else the finest level.
        var chosen: Int?
        for (index, downsample) in downsamples.enumerated() where downsample <= limit {
            if chosen.map({ downsample > downsamples[$0] }) ?? true { chosen = index }
        }
        let finest = downsamples.indices.min { downsamples[$0] < downsamples[$1] } ?? 0
        let chosenLevel = chosen ?? finest
        level = chosenLevel
        levelDownsample = downsamples[chosenLevel]
        self.targetDownsampleX = targetDownsampleX
        self.targetDownsampleY = targetDownsampleY
        residualScaleX = levelDownsample / targetDownsampleX
        residualScaleY = levelDownsample / targetDownsampleY
        self.tolerance = tolerance
    }

    /// Chooses for one target downsample on both axes.
    public init(downsamples: [Double], targetDownsample: Double, tolerance: Double = LevelChoice.defaultTolerance) {
        self.init(downsamples: downsamples, targetDownsampleX: targetDownsample, targetDownsampleY: targetDownsample,
                  tolerance: tolerance)
    }

    /// Chooses a level of `levels` for `targetMPP` µm/px, given the slide's level-0 resolution `mpp`.
    /// - Precondition: `targetMPP` is positive and finite.
    public init(levels: [SlideLevel], mpp: ResolvedMPP, targetMPP: Double, tolerance: Double = LevelChoice.defaultTolerance) {
        precondition(targetMPP > 0 && targetMPP.isFinite, "target mpp must be positive (got \(targetMPP))")
        self.init(downsamples: levels.map(\.downsample), targetDownsampleX: targetMPP / mpp.x,
                  targetDownsampleY: targetMPP / mpp.y, tolerance: tolerance)
    }

    /// Whether the target is finer than level 0 beyond the tolerance, so the read is enlarged.
    public var upsamples: Bool { max(residualScaleX, residualScaleY) > 1 + tolerance }

    /// Whether the level matches the target within the tolerance on both axes (no resampling needed
    /// beyond the tolerance).
    public var isExact: Bool {
        abs(residualScaleX - 1) <= tolerance && abs(residualScaleY - 1) <= tolerance
    }

    /// The size in px of the chosen level to read for an output of `width × height` px:
    /// `round(width / residualScaleX) × round(height / residualScaleY)`, at least 1 × 1.
    public func levelSize(outputWidth width: Int, outputHeight height: Int) -> (width: Int, height: Int) {
        (max(1, Int((Double(width) / residualScaleX).rounded())), max(1, Int((Double(height) / residualScaleY).rounded())))
    }

    /// The level-0 extent in px covered by an output of `width × height` px:
    /// `width × targetDownsampleX` by `height × targetDownsampleY`.
    public func level0Extent(outputWidth width: Int, outputHeight height: Int) -> (width: Double, height: Double) {
        (Double(width) * targetDownsampleX, Double(height) * targetDownsampleY)
    }
}

extension Slide {
    /// The level to read for `targetMPP` µm/px on this slide with level-0 resolution `mpp`; see ``LevelChoice``.
    public func chooseLevel(targetMPP: Double, mpp: ResolvedMPP, tolerance: Double = LevelChoice.defaultTolerance) -> LevelChoice {
        LevelChoice(levels: levels, mpp: mpp, targetMPP: targetMPP, tolerance: tolerance)
    }
}
