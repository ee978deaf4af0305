import ImageOps

/// A whole-slide thumbnail read in bounded memory, with its exact scale (field cases M3, R8, L7).
public struct SlideThumbnail: Sendable {
    /// The thumbnail; its longest side is at most the requested `maxSide`.
    public let image: RGBImage
    /// The pyramid level it was read from: the smallest level still at least the thumbnail's size.
    public let level: Int
    /// Level-0 px per thumbnail px along x: `level-0 width / thumbnail width` (use it, not a nominal
    /// downsample, to map thumbnail pixels back to the slide: L7).
    public let level0PerPixelX: Double
    /// Level-0 px per thumbnail px along y: `level-0 height / thumbnail height`.
    public let level0PerPixelY: Double
    /// Level rows read per OpenSlide call (the level's height when made from a ``LevelRaster``).
    public let stripHeight: Int
    /// The number of strips read (`ceil(level height / stripHeight)`; 0 when made from a ``LevelRaster``).
    public let stripsRead: Int
    /// The largest ARGB buffer allocated for one strip, in px (`level width × stripHeight`): with the
    /// thumbnail itself, a bound on the memory the read used, whatever the level's size (0 when made from a
    /// ``LevelRaster``).
    public let stripBufferPixels: Int
    /// Parts of the level that did not decode, read as background (only with `tolerateDamage`; else empty).
    public var damaged: [DamagedRegion] = []
}

/// A block of a level that did not decode (a damaged or truncated TIFF tile: field cases C1, C2), in level-0
/// coordinates, with the read's error.
public struct DamagedRegion: Sendable, Equatable {
    /// The level read.
    public let level: Int
    /// Level-0 x, y of the block's top-left corner, px.
    public let x: Int, y: Int
    /// Its size in level-0 px.
    public let width: Int, height: Int
    /// The read error (``SlideError/readFailed(path:x:y:level:detail:)``).
    public let error: SlideError

    /// Whether the level-0 square `[x, x + side) × [y, y + side)` overlaps the block.
    public func overlaps(x squareX: Int, y squareY: Int, side: Int) -> Bool {
        squareX < x + width && x < squareX + side && squareY < y + height && y < squareY + side
    }
}

extension Slide {
    /// The largest thumbnail side allowed, in px: far below image codecs' 65 500 px limit (M3).
    public static let maxThumbnailSide = 16_384

    /// The default strip size, in px (level width × strip height): 2²² px, 16 MiB of ARGB.
    public static let defaultStripPixels = 1 << 22

    /// A thumbnail of the whole slide whose longest side is ≤ `maxSide` px (the slide's own size if it is
    /// smaller), read from the smallest level that is still at least the thumbnail's size, in horizontal
    /// strips of `stripHeight` level rows, and shrunk with area averaging (each thumbnail pixel is the
    /// mean of the level pixels it covers, partial pixels weighted by the covered fraction).
    ///
    /// Memory is bounded by construction: one ARGB strip of `level width × stripHeight` px, one composited
    /// row, two rows of accumulators and the thumbnail; a whole level is never held (R8, M3). Strip `k`
    /// starts at level row `r = k × stripHeight`, read at level-0 `y = round(r × downsample)`; on a level
    /// with a non-integer downsample OpenSlide resamples by the sub-pixel remainder.
    ///
    /// With `tolerateDamage`, a strip that does not decode (``SlideError/readFailed(path:x:y:level:detail:)``) is
    /// read again block by block (the level's TIFF tile size, else 256 px) through a fresh handle (OpenSlide's is
    /// unusable after an error), and the blocks that still fail are read as background and listed in
    /// ``SlideThumbnail/damaged`` — one damaged tile then costs its own area, not the slide (field cases C1, C2).
    ///
    /// - Parameters:
    ///   - maxSide: the thumbnail's longest side in px, 1…``maxThumbnailSide``.
    ///   - stripHeight: level rows per read; default: as many as fit in ``defaultStripPixels`` (at least 1).
    ///   - tolerateDamage: read damaged blocks as background instead of failing.
    /// - Throws: ``SlideError/invalidRequest(path:detail:)`` for a bad `maxSide` or `stripHeight`; read errors as
    ///   ``readRegion(x:y:level:width:height:)`` (with `tolerateDamage`, only errors other than `readFailed`, and
    ///   errors reopening the slide).
    public func thumbnail(maxSide: Int, stripHeight: Int? = nil, tolerateDamage: Bool = false) throws -> SlideThumbnail {
        guard (1...Self.maxThumbnailSide).contains(maxSide) else {
            throw SlideError.invalidRequest(path: path, detail: "thumbnail side \(maxSide) px is outside 1…\(Self.maxThumbnailSide)")
        }
        if let stripHeight, stripHeight < 1 {
            throw SlideError.invalidRequest(path: path, detail: "strip height \(stripHeight) must be at least 1 row")
        }
        let (thumbWidth, thumbHeight) = Self.thumbnailSize(width: width, height: height, maxSide: maxSide)
        let source = levels[thumbnailLevel(maxSide: maxSide)]
        let rows = max(1, min(source.height, stripHeight ?? max(1, Self.defaultStripPixels / max(1, source.width))))
        let reducer = AreaReducer(sourceWidth: source.width, sourceHeight: source.height,
                                  outputWidth: thumbWidth, outputHeight: thumbHeight)
        var output = [UInt8](repeating: 0, count: thumbWidth * thumbHeight * 3)
        var strips = 0
        var argb = [UInt32](repeating: 0, count: source.width * rows)
        var rgbRow = [UInt8](repeating: 0, count: source.width * 3)
        var reduction = reducer.makeState()
        var reader = self
        var damaged: [DamagedRegion] = []
        var row = 0
        while row < source.height {
            let count = min(rows, source.height - row)
            let y0 = Int((Double(row) * source.downsample).rounded())
            try validate(x: 0, y: y0, level: source.index, width: source.width, height: count)
            do {
                try argb.withUnsafeMutableBufferPointer { buffer in
                    try reader.readARGB(into: buffer.baseAddress, x: 0, y: y0, level: source.index, width: source.width, height: count)
                }
            } catch SlideError.readFailed where tolerateDamage {
                reader = try Slide(path: path, maxReadPixels: maxReadPixels)
                damaged += try readBlocks(into: &argb, level: source, firstRow: row, rows: count, reader: &reader)
            }
            strips += 1
            for stripRow in 0..<count {
                rgbRow.withUnsafeMutableBufferPointer { rgb in
                    argb.withUnsafeBufferPointer { strip in
                        PremultipliedARGB.composite(strip.baseAddress! + stripRow * source.width, count: source.width,
                                                    onto: backgroundColor, into: rgb.baseAddress!)
                    }
                    reducer.add(row: UnsafePointer(rgb.baseAddress!), at: row + stripRow, state: &reduction, output: &output)
                }
            }
            row += count
        }
        reducer.finish(state: &reduction, output: &output)
        var thumbnail = SlideThumbnail(
            image: RGBImage(width: thumbWidth, height: thumbHeight, pixels: output), level: source.index,
            level0PerPixelX: Double(width) / Double(thumbWidth), level0PerPixelY: Double(height) / Double(thumbHeight),
            stripHeight: rows, stripsRead: strips, stripBufferPixels: source.width * rows)
        thumbnail.damaged = damaged
        return thumbnail
    }

    /// Reads level rows `firstRow ..< firstRow + rows` of `level` into `argb` (`level.width` px a row) block by
    /// block — the level's TIFF tile size, else 256 × 256 px — with `reader`, replacing it by a fresh handle after
    /// each failure. A block whose read fails is read again without its last column and row, from the first
    /// level-0 pixel at or after its origin: on a level with a non-integer downsample OpenSlide's read of a block
    /// reaches one pixel into the next TIFF tiles, so a damaged tile would also fail its left and upper
    /// neighbours. A block that fails both ways is left transparent (composited as background) and returned.
    /// - Throws: errors other than `readFailed`, and errors reopening the slide.
    func readBlocks(into argb: inout [UInt32], level: SlideLevel, firstRow: Int, rows: Int, reader: inout Slide) throws -> [DamagedRegion] {
        let blockWidth = max(16, level.tileWidth ?? 256), blockHeight = max(16, level.tileHeight ?? 256)
        var block = [UInt32](repeating: 0, count: blockWidth * blockHeight)
        var damaged: [DamagedRegion] = []
        /// Reads `width × height` level px at level-0 (x, y) into `block`, then copies them to (column, blockRow).
        func read(x: Int, y: Int, width: Int, height: Int, column: Int, blockRow: Int) throws {
            try block.withUnsafeMutableBufferPointer { buffer in
                try reader.readARGB(into: buffer.baseAddress, x: x, y: y, level: level.index, width: width, height: height)
            }
            for r in 0..<height {
                let start = (blockRow + r) * level.width + column
                argb.replaceSubrange(start ..< start + width, with: block[r * width ..< (r + 1) * width])
            }
        }
        for blockRow in stride(from: 0, to: rows, by: blockHeight) {
            for column in stride(from: 0, to: level.width, by: blockWidth) {
                let width = min(blockWidth, level.width - column), height = min(blockHeight, rows - blockRow)
                let x0 = Int((Double(column) * level.downsample).rounded())
                let y0 = Int((Double(firstRow + blockRow) * level.downsample).rounded())
                do {
                    try read(x: x0, y: y0, width: width, height: height, column: column, blockRow: blockRow)
                } catch SlideError.readFailed {
                    reader = try Slide(path: path, maxReadPixels: maxReadPixels)
                    for r in 0..<height {  // what the reads below leave unwritten stays transparent
                        let start = (blockRow + r) * level.width + column
                        argb.replaceSubrange(start ..< start + width, with: repeatElement(0, count: width))
                    }
                    do {
                        try read(x: Int((Double(column) * level.downsample).rounded(.up)),
                                 y: Int((Double(firstRow + blockRow) * level.downsample).rounded(.up)),
                                 width: max(1, width - 1), height: max(1, height - 1), column: column, blockRow: blockRow)
                    } catch let error as SlideError {
                        guard case .readFailed = error else { throw error }
                        damaged.append(DamagedRegion(level: level.index, x: x0, y: y0,
                                                     width: Int((Double(width) * level.downsample).rounded(.up)),
                                                     height: Int((Double(height) * level.downsample).rounded(.up)), error: error))
                        reader = try Slide(path: path, maxReadPixels: maxReadPixels)
                    }
                }
            }
        }
        return damaged
    }

    /// The level ``thumbnail(maxSide:stripHeight:)`` reads: the smallest level still at least the thumbnail's
    /// size (level 0 when none is).
    public func thumbnailLevel(maxSide: Int) -> Int {
        let (thumbWidth, thumbHeight) = Self.thumbnailSize(width: width, height: height, maxSide: max(1, maxSide))
        return levels.lastIndex { $0.width >= thumbWidth && $0.height >= thumbHeight } ?? 0
    }

    /// The thumbnail ``thumbnail(maxSide:stripHeight:)`` would read, computed from its level already decoded
    /// into `raster` (no OpenSlide read): the same area averaging over the same level rows.
    /// - Throws: ``SlideError/invalidRequest(path:detail:)`` for a bad `maxSide`, or when `raster` is not
    ///   ``thumbnailLevel(maxSide:)``.
    public func thumbnail(maxSide: Int, from raster: LevelRaster) throws -> SlideThumbnail {
        guard (1...Self.maxThumbnailSide).contains(maxSide) else {
            throw SlideError.invalidRequest(path: path, detail: "thumbnail side \(maxSide) px is outside 1…\(Self.maxThumbnailSide)")
        }
        let level = thumbnailLevel(maxSide: maxSide)
        guard raster.level == level else {
            throw SlideError.invalidRequest(path: path, detail: "a thumbnail of side \(maxSide) px is read from level \(level), not \(raster.level)")
        }
        let (thumbWidth, thumbHeight) = Self.thumbnailSize(width: width, height: height, maxSide: maxSide)
        let source = raster.image
        let reducer = AreaReducer(sourceWidth: source.width, sourceHeight: source.height,
                                  outputWidth: thumbWidth, outputHeight: thumbHeight)
        var output = [UInt8](repeating: 0, count: thumbWidth * thumbHeight * 3)
        var reduction = reducer.makeState()
        source.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<source.height {
                reducer.add(row: pixels.baseAddress! + row * source.width * 3, at: row, state: &reduction, output: &output)
            }
        }
        reducer.finish(state: &reduction, output: &output)
        return SlideThumbnail(
            image: RGBImage(width: thumbWidth, height: thumbHeight, pixels: output), level: level,
            level0PerPixelX: Double(width) / Double(thumbWidth), level0PerPixelY: Double(height) / Double(thumbHeight),
            stripHeight: source.height, stripsRead: 0, stripBufferPixels: 0)
    }

    /// The thumbnail size for a `width × height` slide: scaled so the longest side is `maxSide` (rounded,
    /// at least 1 px), or the slide's own size when it already fits.
    static func thumbnailSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(longest)
        return (max(1, min(maxSide, Int((Double(width) * scale).rounded()))),
                max(1, min(maxSide, Int((Double(height) * scale).rounded()))))
    }
}

/// Area-averaging reduction of an RGB image streamed one row at a time: output pixel (i, j) covers source
/// x in [i·sx, (i+1)·sx) and y in [j·sy, (j+1)·sy) with `sx = sourceWidth / outputWidth ≥ 1` (likewise y);
/// each source pixel contributes its covered area. Holds two output rows of accumulators. Sums are `Float`
/// (24-bit mantissa: results within one code value of a `Double` computation), one `SIMD4` (R, G, B, unused)
/// per output pixel.
struct AreaReducer {
    let sourceWidth: Int
    let sourceHeight: Int
    let outputWidth: Int
    let outputHeight: Int
    private let scaleY: Double
    /// For output column i, entries `columnStart[i] ..< columnStart[i + 1]` of `columnOffset`/`columnWeight`.
    private let columnStart: [Int]
    /// Byte offset (`3 ×` source x) of each entry.
    private let columnOffset: [Int]
    private let columnWeight: [Float]
    /// `1 / Σ weights` per output column.
    private let columnInverseTotal: [Float]

    /// Accumulators for the two output rows a source row can touch (`sums`: 2 × outputWidth, row `j` in half
    /// `j & 1`), and the current source row reduced horizontally.
    struct State {
        var sums: [SIMD4<Float>]
        var weights: [Float]
        var horizontal: [SIMD4<Float>]
        var nextRow = 0
    }

    init(sourceWidth: Int, sourceHeight: Int, outputWidth: Int, outputHeight: Int) {
        precondition(outputWidth >= 1 && outputHeight >= 1 && sourceWidth >= outputWidth && sourceHeight >= outputHeight)
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
        scaleY = Double(sourceHeight) / Double(outputHeight)
        let scaleX = Double(sourceWidth) / Double(outputWidth)
        var start: [Int] = [0], offset: [Int] = [], weight: [Float] = [], inverse: [Float] = []
        for column in 0..<outputWidth {
            let from = Double(column) * scaleX
            let to = column == outputWidth - 1 ? Double(sourceWidth) : Double(column + 1) * scaleX
            var sum = 0.0
            var k = Int(from)
            while k < sourceWidth && Double(k) < to {
                let w = min(Double(k + 1), to) - max(Double(k), from)
                if w > 1e-12 {
                    offset.append(3 * k)
                    weight.append(Float(w))
                    sum += w
                }
                k += 1
            }
            start.append(offset.count)
            inverse.append(sum > 0 ? Float(1 / sum) : 0)
        }
        columnStart = start
        columnOffset = offset
        columnWeight = weight
        columnInverseTotal = inverse
    }

    func makeState() -> State {
        State(sums: [SIMD4<Float>](repeating: .zero, count: 2 * outputWidth), weights: [0, 0],
              horizontal: [SIMD4<Float>](repeating: .zero, count: outputWidth))
    }

    /// Adds source row `y` (`sourceWidth × 3` bytes) and writes every output row it completes.
    func add(row: [UInt8], at y: Int, state: inout State, output: inout [UInt8]) {
        row.withUnsafeBufferPointer { add(row: $0.baseAddress!, at: y, state: &state, output: &output) }
    }

    /// Adds source row `y` (`sourceWidth × 3` bytes at `row`) and writes every output row it completes.
    func add(row: UnsafePointer<UInt8>, at y: Int, state: inout State, output: inout [UInt8]) {
        let width = outputWidth
        // A pixel is read as 4 bytes (its RGB and the next pixel's R, which lands in the unused lane), except the
        // row's last pixel.
        let lastOffset = 3 * (sourceWidth - 1)
        state.horizontal.withUnsafeMutableBufferPointer { horizontal in
            columnStart.withUnsafeBufferPointer { starts in
                columnOffset.withUnsafeBufferPointer { offsets in
                    columnWeight.withUnsafeBufferPointer { weights in
                        var entry = 0
                        for column in 0..<width {
                            var sum = SIMD4<Float>.zero
                            let end = starts[column &+ 1]
                            while entry < end {
                                let offset = offsets[entry]
                                let bytes: SIMD4<UInt8> = offset < lastOffset
                                    ? UnsafeRawPointer(row + offset).loadUnaligned(as: SIMD4<UInt8>.self)
                                    : SIMD4(row[offset], row[offset &+ 1], row[offset &+ 2], 0)
                                sum += weights[entry] * SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: bytes))
                                entry &+= 1
                            }
                            horizontal[column] = sum
                        }
                    }
                }
            }
        }
        let top = Double(y), bottom = Double(y + 1)
        var j = Int(top / scaleY)
        while j < outputHeight && Double(j) * scaleY < bottom {
            let end = j == outputHeight - 1 ? Double(sourceHeight) : Double(j + 1) * scaleY
            let w = min(bottom, end) - max(top, Double(j) * scaleY)
            if w > 1e-12 {
                let half = (j & 1) * width
                let weight = Float(w)
                state.weights[j & 1] += weight
                state.horizontal.withUnsafeBufferPointer { horizontal in
                    state.sums.withUnsafeMutableBufferPointer { sums in
                        let target = sums.baseAddress! + half
                        for index in 0..<width { target[index] += weight * horizontal[index] }
                    }
                }
            }
            j += 1
        }
        while state.nextRow < outputHeight {
            let end = state.nextRow == outputHeight - 1 ? Double(sourceHeight) : Double(state.nextRow + 1) * scaleY
            guard end <= bottom + 1e-9 else { break }
            emit(state: &state, output: &output)
        }
    }

    /// Writes any output rows not yet written (only floating-point leftovers).
    func finish(state: inout State, output: inout [UInt8]) {
        while state.nextRow < outputHeight { emit(state: &state, output: &output) }
    }

    private func emit(state: inout State, output: inout [UInt8]) {
        let j = state.nextRow, half = (j & 1) * outputWidth
        let vertical = state.weights[j & 1]
        let inverseVertical: Float = vertical > 0 ? 1 / vertical : 0
        let base = j * outputWidth * 3
        state.sums.withUnsafeMutableBufferPointer { sums in
            output.withUnsafeMutableBufferPointer { out in
                columnInverseTotal.withUnsafeBufferPointer { inverse in
                    for column in 0..<outputWidth {
                        // Values are ≥ 0: adding 0.5 and truncating rounds half up without a libm call.
                        let value = (sums[half + column] * (inverseVertical * inverse[column]) + 0.5)
                            .clamped(lowerBound: SIMD4(repeating: 0), upperBound: SIMD4(repeating: 255))
                        let index = base + column * 3
                        out[index] = UInt8(value[0])
                        out[index + 1] = UInt8(value[1])
                        out[index + 2] = UInt8(value[2])
                        sums[half + column] = .zero
                    }
                }
            }
        }
        state.weights[j & 1] = 0
        state.nextRow += 1
    }
}
