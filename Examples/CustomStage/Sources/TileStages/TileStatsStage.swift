import Distillery

/// `tile-stats`: measures each ``Tile``'s mean intensity and tissue fraction (share of pixels whose
/// HSV saturation is above `saturation_threshold`: stained tissue is saturated, glass background is
/// not). A map stage: the engine runs the receive–process–send loop, replicas and `ordered: true`.
///
/// Stage metrics: `tiles`, and `tissue_tiles` (tissue fraction ≥ `min_tissue`).
public actor TileStatsStage: MapStage {
    public typealias Input = Tile
    public typealias Output = TileStats

    public static let summary = "Mean intensity and tissue fraction (saturation above a threshold) of each tile"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("saturation_threshold", .number, default: .number(0.15), "HSV saturation above which a pixel counts as tissue, 0…1"),
        ParameterSpec("min_tissue", .number, default: .number(0.5), "tissue fraction from which a tile is counted in tissue_tiles"),
    ]

    let threshold: Double
    let minTissue: Double

    public init(parameters: StageParameters) throws {
        threshold = parameters.number("saturation_threshold")
        minTissue = parameters.number("min_tissue")
        guard (0..<1).contains(threshold) else { throw ParameterError(key: "saturation_threshold", "must be in 0..<1") }
    }

    public func process(_ tile: Tile, context: StageContext) async throws -> TileStats? {
        let stats = Self.measure(tile, threshold: threshold)
        context.metrics.add("tiles")
        if stats.tissueFraction >= minTissue { context.metrics.add("tissue_tiles") }
        return stats
    }

    /// The statistics of one tile (pure, for tests).
    public static func measure(_ tile: Tile, threshold: Double) -> TileStats {
        var sum = 0
        var saturated = 0
        let pixels = tile.width * tile.height
        tile.pixels.withUnsafeBufferPointer { rgb in
            for pixel in 0..<pixels {
                let r = Int(rgb[pixel * 3]), g = Int(rgb[pixel * 3 + 1]), b = Int(rgb[pixel * 3 + 2])
                sum += r + g + b
                let high = max(r, g, b), low = min(r, g, b)
                if high > 0 && Double(high - low) > threshold * Double(high) { saturated += 1 }
            }
        }
        return TileStats(
            index: tile.index, slide: tile.slide, x: tile.x, y: tile.y,
            meanIntensity: pixels == 0 ? 0 : Double(sum) / Double(3 * pixels),
            tissueFraction: pixels == 0 ? 0 : Double(saturated) / Double(pixels))
    }
}
