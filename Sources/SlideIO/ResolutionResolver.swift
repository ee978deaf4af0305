import Foundation

/// Finds a slide's level-0 resolution (µm/px) and records where it came from. Metadata is never
/// trusted blindly, and a slide with no usable resolution is an error, never a guess (field cases R1–R7).
///
/// **Precedence** (first usable source wins):
/// 1. the per-slide override (``slideOverrides``, a `slide,mpp` CSV): the user named this slide;
/// 2. the per-run override (``runOverride``): the user gave one value for the run;
/// 3. vendor properties, read the way OpenSlide 3.4.1 exposes them: `aperio.MPP`;
///    `mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_X/_Y`; `philips.DICOM_PIXEL_SPACING`
///    (mm, "row col"); `ventana.ScanRes` (µm/px);
/// 4. `openslide.mpp-x` / `openslide.mpp-y` (OpenSlide's own reading; for NDPI, Leica and others it is
///    derived from the TIFF tags by OpenSlide);
/// 5. TIFF tags `tiff.XResolution` / `tiff.YResolution` in px per `tiff.ResolutionUnit` (inch, centimeter,
///    … normalised by ``ResolutionUnit``; a missing unit means inch, the TIFF default). OpenSlide 3.4.1
///    does not convert these for generic TIFFs (R2), so this step does.
///
/// An explicit override wins over metadata because the user is the only source that can correct wrong
/// metadata; when an override disagrees with the slide's own metadata by more than 1 % the result carries a
/// warning naming both values, so a mistaken run-wide override does not pass silently.
///
/// Metadata values are checked: a value must be finite and inside ``plausibleRange``, and TIFF tags
/// equal to the 72 or 96 dpi placeholders that image libraries write by default are ignored with a warning
/// (osp-boxes.tiff says 28.35 px/cm = 72 dpi, i.e. 352.78 µm/px; R2, R5). Unit "none" gives nothing.
/// A slide without any source throws ``SlideError/noResolution(path:tried:)`` listing each source and
/// what was found there. A damaged file never gets here: ``Slide`` reports it when opening (R7).
public struct ResolutionResolver: Sendable {
    /// Per-slide overrides (highest precedence), or nil.
    public var slideOverrides: MPPOverrideTable?
    /// One µm/px value for every slide of a run (both axes), or nil.
    public var runOverride: Double?
    /// Metadata values outside this range, in µm/px, are ignored as implausible (default 0.02–50).
    public var plausibleRange: ClosedRange<Double> = 0.02...50

    /// Vendor property keys the resolver reads, in order.
    public static let vendorKeys = [
        "aperio.MPP",
        "mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_X",
        "philips.DICOM_PIXEL_SPACING",
        "ventana.ScanRes",
    ]

    /// A resolver with the given overrides (none by default).
    public init(slideOverrides: MPPOverrideTable? = nil, runOverride: Double? = nil) {
        self.slideOverrides = slideOverrides
        self.runOverride = runOverride
    }

    /// The resolution of an open slide.
    /// - Throws: ``SlideError/noResolution(path:tried:)``; ``SlideError/invalidRequest(path:detail:)`` for a
    ///   run override that is not a positive finite number.
    public func resolve(_ slide: Slide) throws -> ResolvedMPP {
        try resolve(path: slide.path, properties: slide.properties)
    }

    /// The resolution of the slide at `path` with OpenSlide `properties` (the pure form of ``resolve(_:)``,
    /// for tests and for slides read by other backends).
    /// - Throws: ``SlideError/noResolution(path:tried:)``; ``SlideError/invalidRequest(path:detail:)``.
    public func resolve(path: String, properties: [String: String]) throws -> ResolvedMPP {
        var tried: [String] = []
        var warnings: [String] = []
        let metadata = metadataResolution(properties: properties, tried: &tried, warnings: &warnings)

        if let table = slideOverrides {
            if let entry = table.entry(forSlide: path) {
                let source = MPPSource.slideOverride(file: table.file, line: entry.line)
                return ResolvedMPP(x: entry.mpp, y: entry.mpp, source: source,
                                   warnings: disagreement(entry.mpp, source, metadata) + warnings)
            }
            tried.insert("per-slide override: \((path as NSString).lastPathComponent) is not in \(table.file)", at: 0)
        } else {
            tried.insert("per-slide override: none given", at: 0)
        }
        if let value = runOverride {
            guard value.isFinite, value > 0 else {
                throw SlideError.invalidRequest(path: path, detail: "the per-run mpp override \(value) is not a positive number of µm/px")
            }
            return ResolvedMPP(x: value, y: value, source: .runOverride,
                               warnings: disagreement(value, .runOverride, metadata) + warnings)
        }
        tried.insert("per-run override: none given", at: 1)
        if let metadata {
            return ResolvedMPP(x: metadata.x, y: metadata.y, source: metadata.source, warnings: warnings)
        }
        throw SlideError.noResolution(path: path, tried: tried)
    }

    // MARK: - Metadata sources

    private func disagreement(_ value: Double, _ source: MPPSource, _ metadata: ResolvedMPP?) -> [String] {
        guard let metadata, abs(metadata.x - value) > 0.01 * metadata.x else { return [] }
        return ["\(source) \(format(value)) µm/px replaces \(metadata.source) \(format(metadata.x)) µm/px from the slide"]
    }

    private func metadataResolution(properties: [String: String], tried: inout [String], warnings: inout [String]) -> ResolvedMPP? {
        // 3. Vendor properties.
        var vendorNotes: [String] = []
        for key in Self.vendorKeys {
            guard let raw = properties[key] else { continue }
            let pair: (Double, Double)?
            switch key {
            case "mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_X":
                let yKey = "mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_Y"
                pair = number(raw).map { x in (x, properties[yKey].flatMap(number) ?? x) }
            case "philips.DICOM_PIXEL_SPACING":
                // "row-spacing col-spacing" in mm, values possibly quoted.
                let values = raw.split(whereSeparator: { $0 == " " || $0 == "\\" }).compactMap { number(String($0)) }
                pair = values.count == 2 ? (values[1] * 1000, values[0] * 1000) : nil
            default:
                pair = number(raw).map { ($0, $0) }
            }
            if let (x, y) = pair, plausible(x), plausible(y) {
                return ResolvedMPP(x: x, y: y, source: .vendorProperty(key: key))
            }
            vendorNotes.append("\(key) = '\(raw)' ignored (not a plausible µm/px value)")
            warnings.append("\(key) = '\(raw)' ignored: not a plausible µm/px value (\(rangeText))")
        }
        tried.append(vendorNotes.isEmpty
            ? "vendor properties (\(Self.vendorKeys.joined(separator: ", "))): absent"
            : "vendor properties: " + vendorNotes.joined(separator: ", "))

        // 4. openslide.mpp-x / -y.
        if let rawX = properties["openslide.mpp-x"] {
            let rawY = properties["openslide.mpp-y"]
            if let x = number(rawX), plausible(x) {
                if let y = rawY.flatMap(number), plausible(y) {
                    return ResolvedMPP(x: x, y: y, source: .openSlideProperties, warnings: warnings)
                }
                warnings.append("openslide.mpp-y is \(rawY.map { "'\($0)'" } ?? "absent"); using openslide.mpp-x for both axes")
                return ResolvedMPP(x: x, y: x, source: .openSlideProperties, warnings: warnings)
            }
            tried.append("openslide.mpp-x = '\(rawX)' ignored (not a plausible µm/px value)")
            warnings.append("openslide.mpp-x = '\(rawX)' ignored: not a plausible µm/px value (\(rangeText))")
        } else {
            tried.append("openslide.mpp-x/y: absent")
        }

        // 5. TIFF resolution tags.
        let unitText = properties["tiff.ResolutionUnit"]
        guard let rawX = properties["tiff.XResolution"] else {
            tried.append("tiff.XResolution/YResolution: absent" + (unitText.map { " (tiff.ResolutionUnit = \($0))" } ?? ""))
            return nil
        }
        let unit: ResolutionUnit
        if let unitText {
            guard let parsed = ResolutionUnit(spelling: unitText) else {
                tried.append("tiff.XResolution = \(rawX) with unknown tiff.ResolutionUnit '\(unitText)'")
                return nil
            }
            unit = parsed
        } else {
            unit = .inch
            warnings.append("tiff.ResolutionUnit absent: taking the TIFF default, inch")
        }
        guard unit != .none else {
            tried.append("tiff.XResolution = \(rawX) with tiff.ResolutionUnit = none (no physical unit)")
            return nil
        }
        guard let ppuX = number(rawX), let mppX = unit.micrometersPerPixel(pixelsPerUnit: ppuX) else {
            tried.append("tiff.XResolution = '\(rawX)' is not a positive number")
            return nil
        }
        let ppuY = properties["tiff.YResolution"].flatMap(number) ?? ppuX
        let mppY = unit.micrometersPerPixel(pixelsPerUnit: ppuY) ?? mppX
        let dpi = 25_400 / mppX
        let described = "tiff.XResolution = \(rawX) px/\(unit.rawValue) (\(format(mppX)) µm/px)"
        if abs(dpi - 72) < 0.05 || abs(dpi - 96) < 0.05 {
            tried.append("\(described) ignored: the \(Int(dpi.rounded())) dpi placeholder image libraries write by default")
            warnings.append("\(described) ignored: a \(Int(dpi.rounded())) dpi placeholder, not a scan resolution")
            return nil
        }
        guard plausible(mppX), plausible(mppY) else {
            tried.append("\(described) ignored: outside \(rangeText)")
            warnings.append("\(described) ignored: outside \(rangeText)")
            return nil
        }
        if properties["tiff.YResolution"] == nil { warnings.append("tiff.YResolution absent: using tiff.XResolution for both axes") }
        return ResolvedMPP(x: mppX, y: mppY, source: .tiffResolution(unit: unit), warnings: warnings)
    }

    private var rangeText: String { "\(format(plausibleRange.lowerBound))–\(format(plausibleRange.upperBound)) µm/px" }

    private func plausible(_ value: Double) -> Bool { value.isFinite && plausibleRange.contains(value) }

    private func number(_ text: String) -> Double? {
        var trimmed = text.trimmingWhitespace()
        while trimmed.hasPrefix("\"") || trimmed.hasPrefix("'") { trimmed.removeFirst() }
        while trimmed.hasSuffix("\"") || trimmed.hasSuffix("'") { trimmed.removeLast() }
        guard let value = Double(trimmed), value.isFinite else { return nil }
        return value
    }

    private func format(_ value: Double) -> String {
        let rounded = (value * 100_000).rounded() / 100_000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
