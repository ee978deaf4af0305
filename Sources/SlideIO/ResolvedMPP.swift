/// Where a slide's resolution came from, in the order ``ResolutionResolver`` tries them.
public enum MPPSource: Sendable, Hashable, CustomStringConvertible {
    /// A per-slide override: line `line` of the `slide,mpp` CSV `file`.
    case slideOverride(file: String, line: Int)
    /// The per-run override (one value for every slide of the run).
    case runOverride
    /// A vendor property, e.g. `aperio.MPP`, `mirax.LAYER_0_LEVEL_0_SECTION.MICROMETER_PER_PIXEL_X`.
    case vendorProperty(key: String)
    /// `openslide.mpp-x` / `openslide.mpp-y` (OpenSlide's own reading of the format).
    case openSlideProperties
    /// TIFF tags `tiff.XResolution` / `tiff.YResolution` in pixels per `unit`.
    case tiffResolution(unit: ResolutionUnit)

    /// A short machine-friendly name: `slide-override`, `run-override`, `vendor`, `openslide`, `tiff`.
    public var kind: String {
        switch self {
        case .slideOverride: return "slide-override"
        case .runOverride: return "run-override"
        case .vendorProperty: return "vendor"
        case .openSlideProperties: return "openslide"
        case .tiffResolution: return "tiff"
        }
    }

    /// E.g. `aperio.MPP`, `openslide.mpp-x/y`, `tiff.XResolution/YResolution (px per centimeter)`,
    /// `override file overrides.csv line 3`, `run override`.
    public var description: String {
        switch self {
        case .slideOverride(let file, let line): return "per-slide override (\(file) line \(line))"
        case .runOverride: return "per-run override"
        case .vendorProperty(let key): return key
        case .openSlideProperties: return "openslide.mpp-x/y"
        case .tiffResolution(let unit): return "tiff.XResolution/YResolution (px per \(unit.rawValue))"
        }
    }
}

/// A slide's level-0 resolution in µm/px per axis, with its provenance.
public struct ResolvedMPP: Sendable, Hashable {
    /// µm per level-0 px along x.
    public let x: Double
    /// µm per level-0 px along y.
    public let y: Double
    /// Where the values came from.
    public let source: MPPSource
    /// What the resolver noticed on the way: sources skipped as implausible (e.g. 72-dpi placeholders),
    /// an override that disagrees with the slide's metadata, a missing y value taken from x.
    public let warnings: [String]

    /// A resolution with its source.
    public init(x: Double, y: Double, source: MPPSource, warnings: [String] = []) {
        self.x = x
        self.y = y
        self.source = source
        self.warnings = warnings
    }
}
