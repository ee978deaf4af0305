/// What `tile-stats` measures on one ``Tile``.
public struct TileStats: Sendable, Equatable {
    /// ``Tile/index`` of the measured tile.
    public let index: Int
    public let slide: String
    /// Level-0 coordinates of the tile, pixels.
    public let x: Int
    public let y: Int
    /// Mean of (R + G + B) / 3 over the tile, 0…255 (white background ≈ 240).
    public let meanIntensity: Double
    /// Fraction of pixels whose HSV saturation, (max − min) / max, is above the threshold, 0…1.
    public let tissueFraction: Double

    public init(index: Int, slide: String, x: Int, y: Int, meanIntensity: Double, tissueFraction: Double) {
        self.index = index
        self.slide = slide
        self.x = x
        self.y = y
        self.meanIntensity = meanIntensity
        self.tissueFraction = tissueFraction
    }
}
