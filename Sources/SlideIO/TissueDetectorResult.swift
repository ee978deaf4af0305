/// What a `TissueDetector` found on one thumbnail: the mask and the decisions behind it, for the per-slide
/// report and the QC thumbnail (field case T2: the chosen threshold is recorded per slide).
public struct TissueDetection: Sendable, Equatable {
    /// The kind of background the detector saw.
    public enum Background: String, Sendable, Equatable, Codable {
        /// Bright glass: brightfield (H&E, IHC) slides.
        case bright
        /// Dark background: fluorescence slides (e.g. DAPI), where tissue is brighter than the background.
        case dark
    }

    /// Whether any tissue was found (field case T4: both extremes are explicit, not an empty list by accident).
    public enum Status: String, Sendable, Equatable, Codable {
        /// No mask pixel is tissue: the slide gives zero tiles and a report line.
        case noTissue
        /// Some pixels are tissue.
        case partialTissue
        /// Every mask pixel is tissue (e.g. a microscopy field with no glass, or the whole-image fallback).
        case allTissue
    }

    /// Pixels set to background by a filter before thresholding, counted in thumbnail px. A pixel caught by
    /// several filters is counted once, under the first that applies in the order black, pen, glass.
    public struct Exclusions: Sendable, Equatable, Codable {
        /// Black padding and black pen (low value).
        public var black: Int
        /// Red, green or blue pen marks.
        public var pen: Int
        /// White or grey glass (low saturation and not dark).
        public var glass: Int

        /// Counts of excluded pixels.
        public init(black: Int = 0, pen: Int = 0, glass: Int = 0) {
            self.black = black
            self.pen = pen
            self.glass = glass
        }
    }

    /// The mask at thumbnail resolution.
    public let mask: TissueMask
    /// The background the detector saw.
    public let background: Background
    /// The detector's name (`TissueDetector.name`).
    public let method: String
    /// The threshold used on the detector's 0…255 signal (tissue is `signal > threshold`); nil when the
    /// detector does not threshold (whole-image fallback).
    public let threshold: Int?
    /// Otsu's threshold before the detector bounded it (nil when not computed or when the histogram had one
    /// value only).
    public let otsuThreshold: Int?
    /// Pixels removed by the artefact filters.
    public let exclusions: Exclusions

    /// A detection result.
    public init(mask: TissueMask, background: Background, method: String, threshold: Int? = nil,
                otsuThreshold: Int? = nil, exclusions: Exclusions = Exclusions()) {
        self.mask = mask
        self.background = background
        self.method = method
        self.threshold = threshold
        self.otsuThreshold = otsuThreshold
        self.exclusions = exclusions
    }

    /// `.noTissue`, `.allTissue` or `.partialTissue`, from the mask (an empty mask has no tissue).
    public var status: Status {
        let tissue = mask.tissuePixelCount
        if tissue == 0 { return .noTissue }
        return tissue == mask.values.count ? .allTissue : .partialTissue
    }

    /// Fraction of the thumbnail that is tissue, 0…1.
    public var tissueFraction: Double { mask.tissueFraction }
}
