import ImageOps

/// The default tissue detector: Otsu's threshold on HSV saturation, with artefact filters and area cleanup.
///
/// Steps, on the thumbnail (all values 0…255, OpenCV's HSV convention, see `HSVPlanes`):
/// 1. **Background kind.** The median value `V` of the pixels that are not pure black (0, 0, 0) — pure black is
///    padding, TRIDENT/CellViT — is compared with `darkBackgroundMedianValue`. At or below it the background
///    is dark (fluorescence, e.g. DAPI on black): see `DarkBackgroundPolicy`. Brightfield glass has `V` ≈ 220–250
///    and even an all-tissue H&E field stays above ~120.
/// 2. **Artefact filters** (brightfield), each pixel forced to background, first match wins:
///    - black padding and black pen: `V ≤ blackValueMaximum` (TRIDENT/CellViT `black_mask`, V ≤ 85);
///    - red/green/blue pen: `PenMarkFilter` (histolab's RGB boxes) for the colours in `penColors`;
///    - glass (white or grey): `S ≤ glassSaturationMaximum ∧ V ≥ glassValueMinimum` (TRIDENT/CellViT `gray_mask`:
///      S ≤ 10, V ≥ 70).
///    Filtered pixels get saturation 0 (TRIDENT sets them to white) so they stay in Otsu's histogram as
///    background, and they are never tissue, even after the blur.
/// 3. **Median blur** of the saturation with a `medianKernel × medianKernel` window (CLAM: `cv2.medianBlur`,
///    `mthresh = 7`).
/// 4. **Otsu** (`OtsuThreshold`, Otsu 1979) on the blurred saturation of all pixels, *clipped* at
///    `maximumThreshold` (30): every value above it is counted in its bin, so the tissue class is one mode and
///    the threshold falls in the valley between glass (S ≲ 10) and tissue — also for pale tissue (field case
///    T2) — instead of splitting stained tissue into pale and dark (which plain Otsu does on a thumbnail that is
///    mostly tissue). The result is then raised to at least `minimumThreshold` (8, CLAM's fixed `sthresh`), so an
///    all-glass thumbnail is not split on noise (field case T4: zero tissue is then the answer). Tissue is
///    `blurred S > threshold` and not filtered; `TissueDetection.threshold` records the value per slide.
/// 5. **Cleanup**: 8-connected tissue components smaller than `minimumTissueArea` are removed, then holes
///    smaller than `maximumHoleArea` are filled (`MaskMorphology`). Both areas are level-0 px², converted with the
///    frame's scale, so the result does not depend on the thumbnail's size. Defaults: components under one CLAM
///    reference patch, 512 × 512 level-0 px² (CLAM's `bwh_biopsy` preset, `a_t = 1`: dust, specks, pen
///    crumbs), are removed; holes under 128 × 128 level-0 px² (a sixteenth of that, under one 224-px tile at
///    0.5 µm/px) are filled — pixel noise, not lumens, fat or cracks: those stay background (field case B2),
///    so tiles over them are rejected. No closing or dilation is applied.
///
/// The kernel size is in thumbnail px: the blur is as coarse as the thumbnail, like CLAM's at its `seg_level`.
/// Cost: O(1) per thumbnail px with the default clip and kernel (`ClippedMedianFilter`; else O(k) median updates); peak extra memory ≈ 9 bytes per thumbnail px
/// besides the thumbnail (planes, flags, blurred signal, mask and the cleanup's 4-byte queue).
public struct SaturationOtsuDetector: TissueDetector {
    /// What to do with a dark-background (fluorescence) thumbnail.
    public enum DarkBackgroundPolicy: String, Sendable, Equatable, Codable, CaseIterable {
        /// Throw `TissueDetectionError.darkBackground`: the slide is reported, not tiled. The default, because
        /// the models distilled here are brightfield (H&E) models and fluorescence tiles would be out of domain.
        case reject
        /// Take bright regions as tissue: Otsu on the local mean of the value `V` over a
        /// `medianKernel × medianKernel` window (`BoxFilter`: nuclei density; a median would erase isolated
        /// nuclei), bounded below by `minimumThreshold`, no pen or glass filters, then the same cleanup. The
        /// result says `background: .dark`.
        case brightObjects
    }

    /// `"saturation-otsu"`.
    public let name = "saturation-otsu"

    /// Median window side (thumbnail px, odd). CLAM `mthresh = 7`.
    public var medianKernel: Int
    /// Lower bound of the threshold on blurred saturation (0…255). CLAM's fixed `sthresh = 8`.
    public var minimumThreshold: Int
    /// Saturation (0…255) at which the histogram is clipped before Otsu, hence the largest possible threshold.
    public var maximumThreshold: Int
    /// Pixels with value `V ≤` this are black padding or black pen (TRIDENT/CellViT: 85).
    public var blackValueMaximum: Int
    /// Glass: saturation `S ≤` this … (TRIDENT/CellViT: 10)
    public var glassSaturationMaximum: Int
    /// … and value `V ≥` this (TRIDENT/CellViT: 70).
    public var glassValueMinimum: Int
    /// Pen colours removed (all three by default; empty to disable).
    public var penColors: Set<PenMarkFilter.Color>
    /// Tissue components smaller than this (level-0 px²) are removed.
    public var minimumTissueArea: Double
    /// Holes smaller than this (level-0 px²) are filled; larger ones stay background.
    public var maximumHoleArea: Double
    /// A median value `V` at or below this (0…255) means a dark background.
    public var darkBackgroundMedianValue: Int
    /// What to do with a dark background.
    public var darkBackgroundPolicy: DarkBackgroundPolicy

    /// A detector; every parameter defaults to the value documented on the type.
    public init(medianKernel: Int = 7, minimumThreshold: Int = 8, maximumThreshold: Int = 30,
                blackValueMaximum: Int = 85, glassSaturationMaximum: Int = 10, glassValueMinimum: Int = 70,
                penColors: Set<PenMarkFilter.Color> = Set(PenMarkFilter.Color.allCases),
                minimumTissueArea: Double = 512 * 512, maximumHoleArea: Double = 128 * 128,
                darkBackgroundMedianValue: Int = 64, darkBackgroundPolicy: DarkBackgroundPolicy = .reject) {
        precondition(medianKernel >= 1 && medianKernel % 2 == 1, "median kernel must be odd and ≥ 1")
        precondition((0 ... 255).contains(minimumThreshold) && (minimumThreshold ... 255).contains(maximumThreshold),
                     "need 0 ≤ minimumThreshold ≤ maximumThreshold ≤ 255")
        precondition(minimumTissueArea >= 0 && maximumHoleArea >= 0, "areas must be ≥ 0")
        self.medianKernel = medianKernel
        self.minimumThreshold = minimumThreshold
        self.maximumThreshold = maximumThreshold
        self.blackValueMaximum = blackValueMaximum
        self.glassSaturationMaximum = glassSaturationMaximum
        self.glassValueMinimum = glassValueMinimum
        self.penColors = penColors
        self.minimumTissueArea = minimumTissueArea
        self.maximumHoleArea = maximumHoleArea
        self.darkBackgroundMedianValue = darkBackgroundMedianValue
        self.darkBackgroundPolicy = darkBackgroundPolicy
    }

    public func detect(in thumbnail: RGBImage, frame: ThumbnailFrame) throws -> TissueDetection {
        let width = thumbnail.width
        let height = thumbnail.height
        guard width > 0, height > 0 else {
            throw TissueDetectionError.emptyThumbnail(width: width, height: height)
        }
        // The saturation plane becomes the filtered signal in place (no copy).
        var planes = HSVPlanes.saturationAndValue(of: thumbnail)
        let median = Self.medianValueIgnoringPureBlack(planes.value)
        if median <= darkBackgroundMedianValue {
            switch darkBackgroundPolicy {
            case .reject:
                throw TissueDetectionError.darkBackground(medianValue: median, limit: darkBackgroundMedianValue)
            case .brightObjects:
                return detectBrightObjects(value: planes.value, width: width, height: height, frame: frame)
            }
        }

        // 2. Artefact filters: excluded pixels get saturation 0 and are never tissue.
        let count = width * height
        var excluded = [Bool](repeating: false, count: count)
        var exclusions = TissueDetection.Exclusions()
        let filterPens = !penColors.isEmpty
        let pens = PenMarkFilter.Matcher(colors: penColors)
        let black = UInt8(clamping: blackValueMaximum)
        let glassS = glassSaturationMaximum, glassV = glassValueMinimum
        thumbnail.pixels.withUnsafeBufferPointer { pixels in
            planes.value.withUnsafeBufferPointer { value in
                planes.saturation.withUnsafeMutableBufferPointer { saturation in
                    excluded.withUnsafeMutableBufferPointer { excluded in
                        for index in 0 ..< count {
                            let v = value[index]
                            if v <= black {
                                exclusions.black += 1
                            } else if filterPens, pens.isPen(r: pixels[index &* 3], g: pixels[index &* 3 &+ 1], b: pixels[index &* 3 &+ 2]) {
                                exclusions.pen += 1
                            } else if Int(saturation[index]) <= glassS && Int(v) >= glassV {
                                exclusions.glass += 1
                            } else {
                                continue
                            }
                            excluded[index] = true
                            saturation[index] = 0
                        }
                    }
                }
            }
        }

        // 3–4. Median blur; Otsu on the clipped histogram, raised to the floor.
        // Otsu on the saturation clipped at maximumThreshold: every value above it is counted in its bin.
        let clip = min(max(maximumThreshold, 0), 255)
        // Only min(blurred, clip + 1) matters below (the histogram is clipped at `clip`, thresholds are ≤ clip):
        // the clipped median is exact and much cheaper when it applies.
        let blurred = clip < Int(ClippedMedianFilter.clip) && medianKernel <= ClippedMedianFilter.maximumKernel
            ? ClippedMedianFilter.apply(planes.saturation, width: width, height: height, kernel: medianKernel)
            : MedianFilter.apply(planes.saturation, width: width, height: height, kernel: medianKernel)
        let floor = min(max(minimumThreshold, 0), clip)
        var histogram = OtsuThreshold.histogram(of: blurred)
        histogram[clip] += histogram[(clip + 1)...].reduce(0, +)
        histogram.removeSubrange((clip + 1)...)
        let otsu = OtsuThreshold.threshold(histogram: histogram)
        let threshold = max(otsu ?? floor, floor)
        var values = [UInt8](repeating: 0, count: blurred.count)
        blurred.withUnsafeBufferPointer { blurred in
            excluded.withUnsafeBufferPointer { excluded in
                values.withUnsafeMutableBufferPointer { values in
                    for index in 0 ..< count where !excluded[index] && Int(blurred[index]) > threshold {
                        values[index] = 1
                    }
                }
            }
        }

        // 5. Cleanup.
        clean(&values, width: width, height: height, frame: frame)
        let mask = TissueMask(width: width, height: height, values: values, frame: frame)
        return TissueDetection(mask: mask, background: .bright, method: name, threshold: threshold,
                               otsuThreshold: otsu, exclusions: exclusions)
    }

    /// Dark-background path (`DarkBackgroundPolicy.brightObjects`): bright regions are tissue.
    private func detectBrightObjects(value: [UInt8], width: Int, height: Int, frame: ThumbnailFrame) -> TissueDetection {
        let blurred = BoxFilter.mean(value, width: width, height: height, kernel: medianKernel)
        let otsu = OtsuThreshold.threshold(of: blurred)
        let floor = min(max(minimumThreshold, 0), 255)
        let threshold = max(otsu ?? floor, floor)
        var values = blurred.map { Int($0) > threshold ? UInt8(1) : 0 }
        clean(&values, width: width, height: height, frame: frame)
        let mask = TissueMask(width: width, height: height, values: values, frame: frame)
        return TissueDetection(mask: mask, background: .dark, method: name, threshold: threshold, otsuThreshold: otsu)
    }

    /// Removes small components, then fills small holes; areas converted from level-0 px² to mask px.
    private func clean(_ values: inout [UInt8], width: Int, height: Int, frame: ThumbnailFrame) {
        let pixelArea = frame.level0AreaPerPixel
        let limit = Double(values.count + 1)  // any area beyond the mask's behaves the same
        let minimumComponent = Int(min((minimumTissueArea / pixelArea).rounded(.up), limit))
        let maximumHole = Int(min((maximumHoleArea / pixelArea).rounded(.up), limit))
        MaskMorphology.removeSmallComponents(&values, width: width, height: height, minimumArea: minimumComponent)
        MaskMorphology.fillSmallHoles(&values, width: width, height: height, maximumArea: maximumHole)
    }

    /// Median of `V` over pixels that are not pure black (0, 0, 0); 0 when every pixel is pure black.
    static func medianValueIgnoringPureBlack(_ value: [UInt8]) -> Int {
        var histogram = [Int](repeating: 0, count: 256)
        var counted = 0
        for index in 0 ..< value.count where value[index] > 0 {
            histogram[Int(value[index])] += 1
            counted += 1
        }
        guard counted > 0 else { return 0 }
        // Lower median: the value of rank ⌊(n − 1) / 2⌋ in sorted order.
        let rank = (counted - 1) / 2
        var cumulative = 0
        for level in 0 ..< 256 {
            cumulative += histogram[level]
            if cumulative > rank { return level }
        }
        return 255
    }
}
