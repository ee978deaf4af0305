/// Pillow's bicubic resize, to the byte: `Image.resize((w, h), Image.BICUBIC)` of an RGB image, which is what
/// torchvision's `Resize` / `RandomResizedCrop` do to PIL images (distillation-spec.md §6.3–6.4; Pillow
/// `src/libImaging/Resample.c` `ImagingResampleInner`).
///
/// Two separable passes with an 8-bit intermediate. Each pass sums `pixel × weight` in 32-bit integers from
/// `2²¹` (one half) with the 22-bit weights of ``BicubicCoefficients`` and keeps `clip8(sum >> 22)`. A pass is
/// skipped when its axis keeps its size; an image that keeps both sizes is copied. The order of the passes
/// changes the bytes (the intermediate is rounded), and Pillow changed it in 13.0 (``PassOrder``): by default
/// the horizontal pass runs first, over only the rows the vertical pass reads, except when the height shrinks by
/// more than twice as many pixels as the width, where the vertical pass runs first over the full width.
///
/// Resizing a ``CropBox`` of an image is PIL's `img.crop(box).resize(size)`: the filter taps are clamped to the
/// crop, not to the whole image (unlike `resize(size, box=…)`).
public enum BicubicResize {
    /// Which pass runs first when both axes change size.
    public enum PassOrder: String, Sendable, CaseIterable {
        /// Pillow ≥ 13.0 (`ImagingResampleInner`, python-pillow/Pillow#9549): vertical first when
        /// `in_h − out_h > 0` and `in_h − out_h > 2·(in_w − out_w)`, else horizontal first.
        case pillow13 = "pillow-13"
        /// Pillow ≤ 12 (what DINOv2's pinned environment ran): always horizontal first.
        case horizontalFirst = "horizontal-first"
    }

    /// Resizes `image` (or the `box` of it) to `width × height`.
    /// - Parameters:
    ///   - image: `[H, W, 3]` RGB8.
    ///   - box: the region to resize, inside the image; the whole image by default.
    ///   - width: output width in pixels, ≥ 1.
    ///   - height: output height in pixels, ≥ 1.
    /// - Returns: `[height, width, 3]` RGB8.
    /// - Precondition: the box lies inside the image and the output size is positive.
    ///   - order: the pass order of the Pillow version to match.
    public static func resize(_ image: RGBImage, box: CropBox? = nil, width: Int, height: Int,
                              order: PassOrder = .pillow13) -> RGBImage {
        var output = RGBImage(width: width, height: height)
        var scratch = ResizeScratch()
        resize(image, box: box ?? CropBox(width: image.width, height: image.height), into: &output, order: order,
               scratch: &scratch)
        return output
    }

    /// Resizes the `box` of `image` into `output` (its size is the target size), reusing `scratch`'s buffers.
    /// - Precondition: the box lies inside the image; `output` is at least 1×1.
    public static func resize(_ image: RGBImage, box: CropBox, into output: inout RGBImage, order: PassOrder = .pillow13,
                              scratch: inout ResizeScratch) {
        precondition(box.fits(width: image.width, height: image.height), "crop box \(box) is outside the \(image.width)×\(image.height) image")
        precondition(output.width > 0 && output.height > 0, "resize to an empty \(output.width)×\(output.height) image")
        let outWidth = output.width, outHeight = output.height
        let needHorizontal = outWidth != box.width
        let needVertical = outHeight != box.height
        let vertical = scratch.coefficients(inSize: box.height, outSize: outHeight)
        let sourceRowBytes = image.width * 3
        image.pixels.withUnsafeBufferPointer { sourcePixels in
            let origin = sourcePixels.baseAddress! + box.top * sourceRowBytes + box.left * 3
            output.pixels.withUnsafeMutableBufferPointer { outPixels in
                let out = outPixels.baseAddress!
                if !needHorizontal && !needVertical {
                    for row in 0..<outHeight {
                        (out + row * outWidth * 3).update(from: origin + row * sourceRowBytes, count: outWidth * 3)
                    }
                    return
                }
                guard needHorizontal else {
                    verticalPass(from: origin, rowBytes: sourceRowBytes, firstRow: 0, coefficients: vertical,
                                 into: out, width: outWidth, accumulator: &scratch.accumulator)
                    return
                }
                let horizontal = scratch.coefficients(inSize: box.width, outSize: outWidth)
                let shrink = box.height - outHeight
                if needVertical && order == .pillow13 && shrink > 0 && shrink > (box.width - outWidth) * 2 {
                    // Vertical pass over the full width, then the horizontal pass.
                    scratch.reserveIntermediate(outHeight * box.width * 3)
                    scratch.intermediate.withUnsafeMutableBufferPointer { temporary in
                        verticalPass(from: origin, rowBytes: sourceRowBytes, firstRow: 0, coefficients: vertical,
                                     into: temporary.baseAddress!, width: box.width, accumulator: &scratch.accumulator)
                        horizontalPass(from: UnsafePointer(temporary.baseAddress!), rowBytes: box.width * 3, rows: outHeight,
                                       coefficients: horizontal, into: out)
                    }
                    return
                }
                // Rows of the box the vertical pass reads (all of them when the height is kept).
                let firstRow = needVertical ? Int(vertical.first[0]) : 0
                let endRow = needVertical ? Int(vertical.first[outHeight - 1] + vertical.count[outHeight - 1]) : box.height
                let rows = endRow - firstRow
                if !needVertical {
                    horizontalPass(from: origin + firstRow * sourceRowBytes, rowBytes: sourceRowBytes, rows: rows,
                                   coefficients: horizontal, into: out)
                    return
                }
                scratch.reserveIntermediate(rows * outWidth * 3)
                scratch.intermediate.withUnsafeMutableBufferPointer { temporary in
                    horizontalPass(from: origin + firstRow * sourceRowBytes, rowBytes: sourceRowBytes, rows: rows,
                                   coefficients: horizontal, into: temporary.baseAddress!)
                    verticalPass(from: UnsafePointer(temporary.baseAddress!), rowBytes: outWidth * 3, firstRow: firstRow,
                                 coefficients: vertical, into: out, width: outWidth, accumulator: &scratch.accumulator)
                }
            }
        }
    }

    /// Horizontal pass: `rows` rows of `coefficients.inSize` pixels (stride `rowBytes`) → rows of
    /// `coefficients.outSize` pixels, packed. Runs a fixed number of taps per output over the coefficients'
    /// window (five, unrolled, when enlarging), or each output's own taps for inputs narrower than the kernel.
    static func horizontalPass(from source: UnsafePointer<UInt8>, rowBytes: Int, rows: Int,
                               coefficients: BicubicCoefficients, into target: UnsafeMutablePointer<UInt8>) {
        let outWidth = coefficients.outSize
        let taps = coefficients.taps
        let half: Int32 = 1 << (BicubicCoefficients.precisionBits - 1)
        guard let windowFirst = coefficients.windowFirst, let windowWeights = coefficients.windowWeights else {
            coefficients.weights.withUnsafeBufferPointer { weightBuffer in
                for row in 0..<rows {
                    let line = source + row * rowBytes
                    let out = target + row * outWidth * 3
                    for x in 0..<outWidth {
                        let k = weightBuffer.baseAddress! + x * taps
                        var pixel = line + Int(coefficients.first[x]) * 3
                        var r = half, g = half, b = half
                        for tap in 0..<Int(coefficients.count[x]) {
                            let w = k[tap]
                            r &+= Int32(pixel[0]) &* w
                            g &+= Int32(pixel[1]) &* w
                            b &+= Int32(pixel[2]) &* w
                            pixel += 3
                        }
                        out[x * 3] = BicubicCoefficients.clip8(r)
                        out[x * 3 + 1] = BicubicCoefficients.clip8(g)
                        out[x * 3 + 2] = BicubicCoefficients.clip8(b)
                    }
                }
            }
            return
        }
        windowWeights.withUnsafeBufferPointer { weightBuffer in
            windowFirst.withUnsafeBufferPointer { firstBuffer in
                let weights = weightBuffer.baseAddress!, firsts = firstBuffer.baseAddress!
                for row in 0..<rows {
                    let line = source + row * rowBytes
                    let out = target + row * outWidth * 3
                    if taps == 5 {
                        for x in 0..<outWidth {
                            let k = weights + x * 5
                            let p = line + Int(firsts[x]) * 3
                            let (k0, k1, k2, k3, k4) = (k[0], k[1], k[2], k[3], k[4])
                            for channel in 0..<3 {
                                var sum = half &+ Int32(p[channel]) &* k0 &+ Int32(p[3 + channel]) &* k1
                                sum &+= Int32(p[6 + channel]) &* k2 &+ Int32(p[9 + channel]) &* k3 &+ Int32(p[12 + channel]) &* k4
                                out[x * 3 + channel] = BicubicCoefficients.clip8(sum)
                            }
                        }
                    } else {
                        for x in 0..<outWidth {
                            let k = weights + x * taps
                            var pixel = line + Int(firsts[x]) * 3
                            var r = half, g = half, b = half
                            for tap in 0..<taps {
                                let w = k[tap]
                                r &+= Int32(pixel[0]) &* w
                                g &+= Int32(pixel[1]) &* w
                                b &+= Int32(pixel[2]) &* w
                                pixel += 3
                            }
                            out[x * 3] = BicubicCoefficients.clip8(r)
                            out[x * 3 + 1] = BicubicCoefficients.clip8(g)
                            out[x * 3 + 2] = BicubicCoefficients.clip8(b)
                        }
                    }
                }
            }
        }
    }

    /// Vertical pass: rows of `width` pixels (stride `rowBytes`; row `firstRow` of the box is the first one
    /// given) → `coefficients.outSize` packed rows. Accumulates whole rows, so the inner loop vectorises.
    static func verticalPass(from source: UnsafePointer<UInt8>, rowBytes: Int, firstRow: Int,
                             coefficients: BicubicCoefficients, into target: UnsafeMutablePointer<UInt8>, width: Int,
                             accumulator: inout [Int32]) {
        let bytes = width * 3
        if accumulator.count < bytes { accumulator = [Int32](repeating: 0, count: bytes) }
        let taps = coefficients.taps
        let half: Int32 = 1 << (BicubicCoefficients.precisionBits - 1)
        accumulator.withUnsafeMutableBufferPointer { accumulatorBuffer in
            let sum = accumulatorBuffer.baseAddress!
            coefficients.weights.withUnsafeBufferPointer { weights in
                for y in 0..<coefficients.outSize {
                    let first = Int(coefficients.first[y]) - firstRow
                    let k = weights.baseAddress! + y * taps
                    for index in 0..<bytes { sum[index] = half }
                    for tap in 0..<Int(coefficients.count[y]) {
                        let w = k[tap]
                        let line = source + (first + tap) * rowBytes
                        for index in 0..<bytes { sum[index] &+= Int32(line[index]) &* w }
                    }
                    let out = target + y * bytes
                    for index in 0..<bytes { out[index] = BicubicCoefficients.clip8(sum[index]) }
                }
            }
        }
    }
}

/// Buffers and weight tables that ``BicubicResize`` reuses from one call to the next (one per thread):
/// the 8-bit intermediate of the horizontal pass, the vertical pass's row of sums, and the coefficients of
/// the last few `(input, output)` sizes.
public struct ResizeScratch: Sendable {
    var intermediate: [UInt8] = []
    var accumulator: [Int32] = []
    private var cache: [BicubicCoefficients] = []

    /// Empty buffers, grown on first use.
    public init() {}

    mutating func reserveIntermediate(_ bytes: Int) {
        if intermediate.count < bytes { intermediate = [UInt8](repeating: 0, count: bytes) }
    }

    /// The coefficients for `inSize → outSize`, from a small most-recently-used cache.
    mutating func coefficients(inSize: Int, outSize: Int) -> BicubicCoefficients {
        if let index = cache.firstIndex(where: { $0.inSize == inSize && $0.outSize == outSize }) {
            return cache[index]
        }
        let made = BicubicCoefficients(inSize: inSize, outSize: outSize)
        if cache.count >= 16 { cache.removeFirst() }
        cache.append(made)
        return made
    }
}
