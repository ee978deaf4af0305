/// Where a thumbnail (and the tissue mask made from it) lies in a slide's level-0 frame: its top-left corner
/// and the level-0 extent of one of its pixels on each axis.
///
/// Scales are per axis, `level0 size / thumbnail size` (field case L7: a thumbnail whose sides were rounded
/// differently has different x and y scales; using one nominal downsample shifts masks by pixels).
/// Thumbnail pixel `(i, j)` covers level-0 `[originX + i·level0PerPixelX, originX + (i+1)·level0PerPixelX) ×
/// [originY + j·level0PerPixelY, …)`.
public struct ThumbnailFrame: Sendable, Equatable, Hashable, Codable {
    /// Level-0 x (px) of the thumbnail's left edge; non-zero when the thumbnail covers only the slide's bounds
    /// (field case L5).
    public let originX: Double
    /// Level-0 y (px) of the thumbnail's top edge.
    public let originY: Double
    /// Level-0 px per thumbnail px along x (> 0).
    public let level0PerPixelX: Double
    /// Level-0 px per thumbnail px along y (> 0).
    public let level0PerPixelY: Double

    /// A frame from its scales (level-0 px per thumbnail px) and origin (level-0 px).
    /// - Precondition: scales finite and > 0, origin finite.
    public init(level0PerPixelX: Double, level0PerPixelY: Double, originX: Double = 0, originY: Double = 0) {
        precondition(level0PerPixelX.isFinite && level0PerPixelX > 0 && level0PerPixelY.isFinite && level0PerPixelY > 0,
                     "thumbnail scale must be finite and > 0, got \(level0PerPixelX) × \(level0PerPixelY)")
        precondition(originX.isFinite && originY.isFinite, "thumbnail origin must be finite")
        self.level0PerPixelX = level0PerPixelX
        self.level0PerPixelY = level0PerPixelY
        self.originX = originX
        self.originY = originY
    }

    /// A frame with the same scale on both axes (level-0 px per thumbnail px), e.g. what a thumbnail reader
    /// reports as one downsample.
    public init(level0PerPixel: Double, originX: Double = 0, originY: Double = 0) {
        self.init(level0PerPixelX: level0PerPixel, level0PerPixelY: level0PerPixel, originX: originX, originY: originY)
    }

    /// The frame of a thumbnail of `thumbnailWidth × thumbnailHeight` px showing the level-0 rectangle at
    /// (`regionX`, `regionY`) of `regionWidth × regionHeight` level-0 px, with per-axis scales
    /// `regionWidth / thumbnailWidth` and `regionHeight / thumbnailHeight` (field case L7).
    /// - Precondition: all sizes > 0.
    public init(regionX: Int = 0, regionY: Int = 0, regionWidth: Int, regionHeight: Int,
                thumbnailWidth: Int, thumbnailHeight: Int) {
        precondition(regionWidth > 0 && regionHeight > 0 && thumbnailWidth > 0 && thumbnailHeight > 0,
                     "region \(regionWidth)×\(regionHeight) and thumbnail \(thumbnailWidth)×\(thumbnailHeight) must be non-empty")
        self.init(level0PerPixelX: Double(regionWidth) / Double(thumbnailWidth),
                  level0PerPixelY: Double(regionHeight) / Double(thumbnailHeight),
                  originX: Double(regionX), originY: Double(regionY))
    }

    /// Thumbnail x (px, fractional) of level-0 x.
    @inline(__always)
    public func thumbnailX(level0X: Double) -> Double { (level0X - originX) / level0PerPixelX }

    /// Thumbnail y (px, fractional) of level-0 y.
    @inline(__always)
    public func thumbnailY(level0Y: Double) -> Double { (level0Y - originY) / level0PerPixelY }

    /// Level-0 x (px) of thumbnail x.
    @inline(__always)
    public func level0X(thumbnailX: Double) -> Double { originX + thumbnailX * level0PerPixelX }

    /// Level-0 y (px) of thumbnail y.
    @inline(__always)
    public func level0Y(thumbnailY: Double) -> Double { originY + thumbnailY * level0PerPixelY }

    /// Level-0 area (px²) of one thumbnail pixel.
    public var level0AreaPerPixel: Double { level0PerPixelX * level0PerPixelY }
}
