/// What `distill inspect SLIDE` reports about an open slide: format, geometry, resolution and its source
/// (or why there is none), bounds, background, associated images, and whether pixels decode.
///
/// Encoded as JSON with the keys in snake_case when the encoder uses `.convertToSnakeCase` (the CLI
/// does); absent values are written as `null`.
public struct SlideInspection: Sendable, Encodable {
    /// The resolution and where it came from.
    public struct Resolution: Sendable, Encodable, Equatable {
        /// µm per level-0 px along x.
        public let x: Double
        /// µm per level-0 px along y.
        public let y: Double
        /// The source, e.g. `aperio.MPP`, `openslide.mpp-x/y`.
        public let source: String
        /// The source's kind: `slide-override`, `run-override`, `vendor`, `openslide`, `tiff`.
        public let sourceKind: String
        /// The resolver's warnings.
        public let warnings: [String]
    }

    /// The slide path.
    public let path: String
    /// `openslide.vendor`.
    public let vendor: String?
    /// The OpenSlide version that read it.
    public let openslideVersion: String
    /// Level-0 width in px.
    public let width: Int
    /// Level-0 height in px.
    public let height: Int
    /// The pyramid levels.
    public let levels: [SlideLevel]
    /// The resolution, or nil (then ``mppError`` says why).
    public let mpp: Resolution?
    /// The ``SlideError/noResolution(path:tried:)`` text when there is no resolution.
    public let mppError: String?
    /// `openslide.objective-power`, if any (a magnification, not a resolution).
    public let objectivePower: Double?
    /// The image-data rectangle in level-0 px.
    public let bounds: SlideBounds
    /// The background colour, `#RRGGBB`.
    public let backgroundColor: String
    /// Associated images with sizes in px.
    public let associatedImages: [AssociatedImageInfo]
    /// Whether probe reads at the centre of every level decoded (nil when not probed).
    public let pixelsReadable: Bool?
    /// The probe's error, if it failed (R7, C3: a damaged file is reported as damaged).
    public let readError: String?

    /// Inspects `slide`, resolving its resolution with `resolver` and, when `probe` is true, test-reading
    /// every level with ``Slide/probeReads()`` (which makes the handle unusable if a read fails).
    public init(slide: Slide, resolver: ResolutionResolver = ResolutionResolver(), probe: Bool = true) {
        path = slide.path
        vendor = slide.vendor
        openslideVersion = SlideFormats.openSlideVersion
        width = slide.width
        height = slide.height
        levels = slide.levels
        do {
            let resolved = try resolver.resolve(slide)
            mpp = Resolution(x: resolved.x, y: resolved.y, source: resolved.source.description,
                             sourceKind: resolved.source.kind, warnings: resolved.warnings)
            mppError = nil
        } catch {
            mpp = nil
            mppError = "\(error)"
        }
        objectivePower = slide.objectivePower
        bounds = slide.bounds
        backgroundColor = slide.backgroundColor.description
        associatedImages = slide.associatedImages
        if probe {
            let failure = slide.probeReads()
            pixelsReadable = failure == nil
            readError = failure.map { "\($0)" }
        } else {
            pixelsReadable = nil
            readError = nil
        }
    }

    private enum CodingKeys: String, CodingKey {
        case path, vendor, openslideVersion, width, height, levels, mpp, mppError, objectivePower, bounds
        case backgroundColor, associatedImages, pixelsReadable, readError
    }

    /// Encodes every key, writing `null` for absent values.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(vendor, forKey: .vendor)
        try container.encode(openslideVersion, forKey: .openslideVersion)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(levels, forKey: .levels)
        try container.encode(mpp, forKey: .mpp)
        try container.encode(mppError, forKey: .mppError)
        try container.encode(objectivePower, forKey: .objectivePower)
        try container.encode(bounds, forKey: .bounds)
        try container.encode(backgroundColor, forKey: .backgroundColor)
        try container.encode(associatedImages, forKey: .associatedImages)
        try container.encode(pixelsReadable, forKey: .pixelsReadable)
        try container.encode(readError, forKey: .readError)
    }

    /// The report as text lines for a terminal.
    public var lines: [String] {
        var lines = ["slide: \(path)",
                     "vendor: \(vendor ?? "unknown") (OpenSlide \(openslideVersion))",
                     "level-0 size: \(width) × \(height) px",
                     "levels: \(levels.count)"]
        for level in levels {
            var line = "  level \(level.index): \(level.width) × \(level.height) px, downsample \(Self.number(level.downsample))"
            if let tileWidth = level.tileWidth, let tileHeight = level.tileHeight { line += ", tiles \(tileWidth) × \(tileHeight)" }
            lines.append(line)
        }
        if let mpp {
            lines.append("mpp: \(Self.number(mpp.x)) × \(Self.number(mpp.y)) µm/px (source: \(mpp.source))")
            lines += mpp.warnings.map { "  warning: \($0)" }
        } else {
            lines.append("mpp: none — \(mppError ?? "unknown")")
        }
        if let objectivePower { lines.append("objective power: \(Self.number(objectivePower))×") }
        lines.append("bounds: x \(bounds.x), y \(bounds.y), \(bounds.width) × \(bounds.height) px (level 0)")
        lines.append("background: \(backgroundColor)")
        if associatedImages.isEmpty {
            lines.append("associated images: none")
        } else {
            lines.append("associated images: " + associatedImages.map { "\($0.name) \($0.width) × \($0.height)" }.joined(separator: ", "))
        }
        switch pixelsReadable {
        case true?: lines.append("pixels: a probe read at the centre of every level decodes (other tiles are not checked)")
        case false?: lines.append("pixels: UNREADABLE — \(readError ?? "unknown error")")
        case nil: break
        }
        return lines
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
