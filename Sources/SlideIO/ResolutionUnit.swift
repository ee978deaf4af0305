/// The unit of TIFF-style resolution values (`tiff.ResolutionUnit`; pixels per unit), with the spellings
/// different backends use normalised (field case R4: OpenSlide says `centimeter`, others `cm`, `3`, …).
public enum ResolutionUnit: String, Sendable, Hashable, Codable, CaseIterable {
    /// No absolute unit (TIFF `ResolutionUnit = 1`): the values only give an aspect ratio.
    case none
    /// Pixels per inch (TIFF `ResolutionUnit = 2`, the TIFF default).
    case inch
    /// Pixels per centimetre (TIFF `ResolutionUnit = 3`).
    case centimeter
    /// Pixels per millimetre (libvips' `xres`, some backends).
    case millimeter
    /// Pixels per micrometre.
    case micrometer

    /// Parses a unit spelling, case-insensitively: `none`/`1`; `inch`/`inches`/`in`/`2`;
    /// `centimeter`/`centimetre`/`cm`/`3`; `millimeter`/`millimetre`/`mm`; `micrometer`/`micrometre`/
    /// `micron`/`µm`/`μm`/`um`. nil for anything else.
    public init?(spelling: String) {
        let text = spelling.trimmingWhitespace().lowercased()
        switch text {
        case "none", "1", "resunit_none": self = .none
        case "inch", "inches", "in", "2", "resunit_inch": self = .inch
        case "centimeter", "centimeters", "centimetre", "centimetres", "cm", "3", "resunit_centimeter": self = .centimeter
        case "millimeter", "millimeters", "millimetre", "millimetres", "mm": self = .millimeter
        case "micrometer", "micrometers", "micrometre", "micrometres", "micron", "microns", "um",
             "\u{00B5}m", "\u{03BC}m":
            self = .micrometer
        default: return nil
        }
    }

    /// Micrometres in one unit (inch 25 400, cm 10 000, mm 1 000, µm 1); nil for ``none``.
    public var micrometersPerUnit: Double? {
        switch self {
        case .none: return nil
        case .inch: return 25_400
        case .centimeter: return 10_000
        case .millimeter: return 1_000
        case .micrometer: return 1
        }
    }

    /// µm/px from a resolution in pixels per this unit: `micrometersPerUnit / pixelsPerUnit`
    /// (e.g. 40 000 px/cm → 0.25 µm/px; 101 600 px/inch → 0.25 µm/px). nil for ``none`` or a non-positive value.
    public func micrometersPerPixel(pixelsPerUnit: Double) -> Double? {
        guard let perUnit = micrometersPerUnit, pixelsPerUnit > 0, pixelsPerUnit.isFinite else { return nil }
        return perUnit / pixelsPerUnit
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
