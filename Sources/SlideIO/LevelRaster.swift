import ImageOps

/// One pyramid level decoded once into memory as RGB, so that the tissue thumbnail and the tiles cut from the
/// same level do not make OpenSlide decode and composite the same pixels twice.
///
/// Worth it when the thumbnail is read from the level the tiles come from — small slides, single-level
/// scans, or tiling at a coarse mpp — and the level fits a memory budget; a 40× whole-slide image tiled at
/// 0.5 µm/px never qualifies (its thumbnail comes from a coarse level), and is read tile by tile instead.
///
/// Reading: the level in horizontal strips of at most ``Slide/defaultStripPixels`` px (strip `k` starts at
/// level row `r`, level-0 `y = round(r × downsample)`, as ``Slide/thumbnail(maxSide:stripHeight:)`` reads),
/// each composited onto the slide's background colour. Cutting: ``region(levelX:levelY:width:height:)``
/// copies rows; pixels outside the level are the background colour, as OpenSlide gives transparent pixels
/// there and they composite to it.
///
/// Decoding: Aperio and generic TIFF levels whose tiles OpenSlide decodes itself (JPEG, Aperio JPEG 2000) are
/// decoded straight from their tiles by ``TIFFLevelDecoder``, skipping OpenSlide's cairo compositing, with the
/// same bytes; only when every strip OpenSlide would read starts on a whole level pixel (OpenSlide resamples a
/// strip whose level-0 `y / downsample` is fractional). Everything else is read through OpenSlide.
public struct LevelRaster: Sendable {
    /// Which reader decoded a level.
    public enum Decoder: String, Sendable {
        /// ``TIFFLevelDecoder``: tiles decoded with libjpeg-turbo or OpenJPEG, no compositing.
        case tiff
        /// `openslide_read_region` in strips, composited onto the background colour.
        case openSlide
    }

    /// The level index.
    public let level: Int
    /// The level's downsample (level-0 px per level px).
    public let downsample: Double
    /// The level's pixels, `[height, width, 3]`.
    public let image: RGBImage
    /// The colour outside the level.
    public let background: BackgroundColor
    /// The reader that decoded the level.
    public let decoder: Decoder

    /// Bytes of RGB a level of `width × height` px takes in memory.
    public static func bytes(width: Int, height: Int) -> Int { width * height * 3 }

    /// The tile level `tileLevel` decoded once, when the thumbnail of longest side `thumbnailSide` is read from
    /// it (``Slide/thumbnailLevel(maxSide:)``) and its RGB fits `budget` bytes; nil otherwise.
    /// - Throws: read errors as ``init(slide:level:)``.
    public static func sharedByThumbnailAndTiles(slide: Slide, tileLevel: Int, thumbnailSide: Int, budget: Int) throws -> LevelRaster? {
        guard slide.levels.indices.contains(tileLevel), slide.thumbnailLevel(maxSide: thumbnailSide) == tileLevel else { return nil }
        let level = slide.levels[tileLevel]
        guard bytes(width: level.width, height: level.height) <= budget else { return nil }
        return try LevelRaster(slide: slide, level: tileLevel)
    }

    /// Decodes `level` of `slide`, with ``TIFFLevelDecoder`` where it applies and `allowTIFFDecoder` is true,
    /// through OpenSlide otherwise.
    /// - Throws: ``SlideError/invalidRequest(path:detail:)`` for a level out of range; read errors as
    ///   ``Slide/readRegion(x:y:level:width:height:)`` or ``TIFFLevelDecoder/decode(slide:level:)`` (a tile that
    ///   does not decode: ``SlideError/readFailed(path:x:y:level:detail:)`` naming the tile).
    public init(slide: Slide, level: Int, allowTIFFDecoder: Bool = true) throws {
        guard slide.levels.indices.contains(level) else {
            throw SlideError.invalidRequest(path: slide.path, detail: "level \(level) is outside 0..<\(slide.levelCount)")
        }
        let source = slide.levels[level]
        let rows = max(1, min(source.height, Slide.defaultStripPixels / max(1, source.width)))
        if allowTIFFDecoder, Self.stripsStartOnLevelPixels(height: source.height, rows: rows, downsample: source.downsample),
           let decoded = try TIFFLevelDecoder.decode(slide: slide, level: level) {
            self.level = level
            downsample = source.downsample
            image = decoded
            background = slide.backgroundColor
            decoder = .tiff
            return
        }
        // Neither buffer needs zeroing: OpenSlide clears each strip, and every byte of `pixels` is composited.
        var argb = [UInt32](unsafeUninitializedCapacity: source.width * rows) { $1 = $0.count }
        let background = slide.backgroundColor
        var pixels = [UInt8](unsafeUninitializedCapacity: Self.bytes(width: source.width, height: source.height)) { $1 = $0.count }
        var row = 0
        while row < source.height {
            let count = min(rows, source.height - row)
            let y0 = Int((Double(row) * source.downsample).rounded())
            try slide.validate(x: 0, y: y0, level: level, width: source.width, height: count)
            try argb.withUnsafeMutableBufferPointer { buffer in
                try slide.readARGB(into: buffer.baseAddress, x: 0, y: y0, level: level, width: source.width, height: count)
            }
            argb.withUnsafeBufferPointer { strip in
                pixels.withUnsafeMutableBufferPointer { rgb in
                    PremultipliedARGB.composite(strip.baseAddress!, count: source.width * count, onto: background,
                                                into: rgb.baseAddress! + row * source.width * 3)
                }
            }
            row += count
        }
        self.level = level
        downsample = source.downsample
        image = RGBImage(width: source.width, height: source.height, pixels: pixels)
        self.background = background
        decoder = .openSlide
    }

    /// Whether every strip read starts at a whole level row in OpenSlide's arithmetic: strip row `r` is read at
    /// level-0 `y = round(r × downsample)`, which OpenSlide maps back to level row `y / downsample`
    /// (`paint_region`, double division) and paints at that sub-pixel offset.
    static func stripsStartOnLevelPixels(height: Int, rows: Int, downsample: Double) -> Bool {
        stride(from: 0, to: height, by: rows).allSatisfy { row in
            (Double(row) * downsample).rounded() / downsample == Double(row)
        }
    }

    /// The `width × height` region whose top-left level pixel is (`levelX`, `levelY`); parts outside the level
    /// are the background colour.
    /// - Precondition: `width`, `height` > 0.
    public func region(levelX: Int, levelY: Int, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "region size must be positive")
        let inside = levelX >= 0 && levelY >= 0 && levelX + width <= image.width && levelY + height <= image.height
        var out = inside ? [UInt8](repeating: 0, count: width * height * 3)
            : RGBImage(width: width, height: height, fill: (background.r, background.g, background.b)).pixels
        let x0 = max(levelX, 0), x1 = min(levelX + width, image.width)
        let y0 = max(levelY, 0), y1 = min(levelY + height, image.height)
        guard x0 < x1, y0 < y1 else { return RGBImage(width: width, height: height, pixels: out) }
        let rowBytes = (x1 - x0) * 3
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in y0 ..< y1 {
                    let from = source.baseAddress! + (y * image.width + x0) * 3
                    let to = target.baseAddress! + ((y - levelY) * width + (x0 - levelX)) * 3
                    to.update(from: from, count: rowBytes)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The level-0 square of a tile read from this level: its `side × side` level px start at the level pixel
    /// nearest to the tile's level-0 corner (OpenSlide would interpolate a sub-pixel offset on a level with a
    /// non-integer downsample; on level 0 the two are identical).
    public func tileRegion(level0X: Int, level0Y: Int, side: Int) -> RGBImage {
        region(levelX: Int((Double(level0X) / downsample).rounded()), levelY: Int((Double(level0Y) / downsample).rounded()),
               width: side, height: side)
    }
}
