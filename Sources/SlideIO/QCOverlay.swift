import ImageOps

/// The QC thumbnail of a slide: the thumbnail with the tissue mask tinted over it and the tile grid outlined
/// (kept and rejected tiles in two colours), written as a PNG next to the slide's output.
///
/// Placement uses level-0 coordinates throughout: a mask pixel or tile is drawn where its level-0 rectangle
/// falls on the thumbnail's `ThumbnailFrame` (per-axis scale and origin, field cases L5 and L7), so a mask
/// made at another resolution, or a grid over a bounds region, still lines up.
public enum QCOverlay {
    /// Draws the mask and the tiles on a copy of the thumbnail.
    /// - Parameters:
    ///   - thumbnail: the slide thumbnail, RGB8.
    ///   - frame: where the thumbnail lies in level 0.
    ///   - mask: the tissue mask (nil: no tint). Each thumbnail pixel takes the mask pixel under its centre.
    ///   - tiles: tiles to outline (level-0 squares); rejected ones are drawn first, kept ones on top.
    ///   - style: colours and options.
    /// - Returns: the annotated image, same size as `thumbnail`.
    public static func render(thumbnail: RGBImage, frame: ThumbnailFrame, mask: TissueMask?,
                              tiles: [TileGrid.Tile], style: Style = Style()) -> RGBImage {
        var image = thumbnail
        if let mask, style.maskOpacity > 0 {
            tint(&image, frame: frame, mask: mask, color: style.maskColor, opacity: style.maskOpacity)
        }
        for tile in tiles where !tile.kept && (style.outlinesEmptyRejectedTiles || tile.tissueFraction > 0) {
            outline(&image, frame: frame, tile: tile, color: style.rejectedColor)
        }
        for tile in tiles where tile.kept {
            outline(&image, frame: frame, tile: tile, color: style.keptColor)
        }
        return image
    }

    /// Draws as `render` does and writes the result as a PNG (atomically, `PNGImage.write`).
    /// - Returns: the annotated image.
    /// - Throws: `PNGError.cannotWrite` naming `path`.
    @discardableResult
    public static func write(thumbnail: RGBImage, frame: ThumbnailFrame, mask: TissueMask?, tiles: [TileGrid.Tile],
                             to path: String, style: Style = Style()) throws -> RGBImage {
        let image = render(thumbnail: thumbnail, frame: frame, mask: mask, tiles: tiles, style: style)
        try PNGImage.write(image, to: path)
        return image
    }

    /// Blends `color` at `opacity` over every thumbnail pixel whose centre falls on a tissue pixel of `mask`.
    private static func tint(_ image: inout RGBImage, frame: ThumbnailFrame, mask: TissueMask, color: Color,
                             opacity: Double) {
        guard mask.width > 0, mask.height > 0 else { return }
        let sameGrid = mask.frame == frame && mask.width == image.width && mask.height == image.height
        // Mask column of each thumbnail column (and row), −1 when outside the mask.
        let maskColumns = (0 ..< image.width).map { x -> Int in
            if sameGrid { return x }
            let u = mask.frame.thumbnailX(level0X: frame.level0X(thumbnailX: Double(x) + 0.5))
            return u >= 0 && u < Double(mask.width) ? Int(u) : -1
        }
        let maskRows = (0 ..< image.height).map { y -> Int in
            if sameGrid { return y }
            let v = mask.frame.thumbnailY(level0Y: frame.level0Y(thumbnailY: Double(y) + 0.5))
            return v >= 0 && v < Double(mask.height) ? Int(v) : -1
        }
        let weight = Int((opacity * 256).rounded())
        let tint = [Int(color.r), Int(color.g), Int(color.b)]
        let width = image.width
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            for y in 0 ..< image.height where maskRows[y] >= 0 {
                let maskRow = maskRows[y] * mask.width
                for x in 0 ..< width where maskColumns[x] >= 0 && mask.values[maskRow + maskColumns[x]] != 0 {
                    let base = (y * width + x) * 3
                    for channel in 0 ..< 3 {
                        let value = Int(pixels[base + channel])
                        pixels[base + channel] = UInt8((value * (256 - weight) + tint[channel] * weight + 128) >> 8)
                    }
                }
            }
        }
    }

    /// A one-pixel outline of the tile's level-0 square on the thumbnail, clipped to the image.
    private static func outline(_ image: inout RGBImage, frame: ThumbnailFrame, tile: TileGrid.Tile, color: Color) {
        let side = Double(tile.readExtent)
        let left = Int(frame.thumbnailX(level0X: Double(tile.x)).rounded(.down))
        let top = Int(frame.thumbnailY(level0Y: Double(tile.y)).rounded(.down))
        // The last thumbnail pixel the square reaches into (its right edge is exclusive).
        let right = max(left, Int((frame.thumbnailX(level0X: Double(tile.x) + side) - 1e-9).rounded(.down)))
        let bottom = max(top, Int((frame.thumbnailY(level0Y: Double(tile.y) + side) - 1e-9).rounded(.down)))
        guard right >= 0, bottom >= 0, left < image.width, top < image.height else { return }
        let width = image.width
        let height = image.height
        image.pixels.withUnsafeMutableBufferPointer { pixels in
            func plot(_ x: Int, _ y: Int) {
                guard x >= 0, y >= 0, x < width, y < height else { return }
                let base = (y * width + x) * 3
                pixels[base] = color.r
                pixels[base + 1] = color.g
                pixels[base + 2] = color.b
            }
            for x in max(left, 0) ... min(right, width - 1) {
                plot(x, top)
                plot(x, bottom)
            }
            for y in max(top, 0) ... min(bottom, height - 1) {
                plot(left, y)
                plot(right, y)
            }
        }
    }
}
