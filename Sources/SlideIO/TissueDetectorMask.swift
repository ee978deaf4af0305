/// A binary tissue mask at thumbnail resolution: 1 = tissue, 0 = background, row-major `[H, W]`, plus the
/// frame that places it in level 0 (level-0 px per mask px on each axis, and the origin).
///
/// Tile tissue fractions are measured on these pixels (`TissueCoverage`), so white holes that the detector left
/// as background inside tissue never count as tissue (field case B2).
public struct TissueMask: Sendable, Equatable {
    /// Width in mask px.
    public let width: Int
    /// Height in mask px.
    public let height: Int
    /// `width × height` values, 1 for tissue and 0 for background, row after row.
    public private(set) var values: [UInt8]
    /// Where the mask lies in level 0.
    public let frame: ThumbnailFrame

    /// A mask from its values; any non-zero value counts as tissue and is stored as 1.
    /// - Precondition: `values.count == width * height`, sizes ≥ 0.
    public init(width: Int, height: Int, values: [UInt8], frame: ThumbnailFrame) {
        precondition(width >= 0 && height >= 0, "negative mask size \(width)×\(height)")
        precondition(values.count == width * height,
                     "a mask of \(width)×\(height) needs \(width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values.contains(where: { $0 > 1 }) ? values.map { $0 == 0 ? 0 : 1 } : values
        self.frame = frame
    }

    /// A mask filled with tissue (`true`) or background (`false`).
    public init(width: Int, height: Int, filled: Bool, frame: ThumbnailFrame) {
        self.init(width: width, height: height,
                  values: [UInt8](repeating: filled ? 1 : 0, count: max(0, width) * max(0, height)), frame: frame)
    }

    /// Whether mask pixel (x, y) is tissue.
    public subscript(x: Int, y: Int) -> Bool {
        get { values[y * width + x] != 0 }
        set { values[y * width + x] = newValue ? 1 : 0 }
    }

    /// Number of tissue pixels.
    public var tissuePixelCount: Int { values.reduce(0) { $0 + Int($1) } }

    /// Fraction of mask pixels that are tissue, 0…1 (0 for an empty mask).
    public var tissueFraction: Double {
        values.isEmpty ? 0 : Double(tissuePixelCount) / Double(values.count)
    }

    /// Level-0 area (px²) of the tissue.
    public var tissueLevel0Area: Double { Double(tissuePixelCount) * frame.level0AreaPerPixel }
}
