/// The median filter of `MedianFilter` (square `k × k` window, replicated borders), for a detector that only
/// needs the result up to a small clip: it returns `min(median, 31)` per pixel, exactly.
///
/// Why exact: clamping is monotone, so `median(min(x, 31)) = min(median(x), 31)`; values are clamped on
/// entry and the window histogram needs only 32 bins. `SaturationOtsuDetector` clips saturation at 30 before
/// Otsu and compares the blurred value with a threshold ≤ 30, so 31 stands for every larger value.
///
/// Algorithm: per-column histograms updated once per row and a window histogram slid along the row by adding
/// one column and removing another (S. Perreault, P. Hébert, "Median filtering in constant time", IEEE Trans.
/// Image Processing 16(9), 2007). The 32 bins are bytes packed in four `UInt64` words (SWAR: counts ≤ k² ≤ 225
/// fit a byte, so words add and subtract without carries between bins), and the median is read with a byte-wise
/// prefix sum and a comparison of every bin against the rank at once — no branch and no loop per pixel.
public enum ClippedMedianFilter {
    /// The largest value the filter returns; larger inputs count as this.
    public static let clip: UInt8 = 31
    /// The largest window side (k² must fit a byte).
    public static let maximumKernel = 15

    /// `min(median, 31)` of the `kernel × kernel` window around each pixel.
    /// - Parameters:
    ///   - plane: `width × height` values, row-major.
    ///   - width: plane width (px).
    ///   - height: plane height (px).
    ///   - kernel: window side (px), odd, 1…``maximumKernel``.
    public static func apply(_ plane: [UInt8], width: Int, height: Int, kernel: Int) -> [UInt8] {
        precondition(plane.count == width * height, "plane of \(width)×\(height) needs \(width * height) values")
        precondition(kernel >= 1 && kernel % 2 == 1 && kernel <= maximumKernel, "kernel must be odd, 1…\(maximumKernel), got \(kernel)")
        guard width > 0, height > 0 else { return plane }
        if kernel == 1 { return plane.map { min($0, clip) } }
        let radius = kernel / 2
        let rank = UInt64(kernel * kernel / 2)
        var output = [UInt8](repeating: 0, count: plane.count)
        // Column histograms: 4 words per column.
        var columns = [UInt64](repeating: 0, count: width * 4)
        plane.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                columns.withUnsafeMutableBufferPointer { columns in
                    let base = source.baseAddress!, column = columns.baseAddress!
                    @inline(__always) func add(_ value: UInt8, to x: Int, _ sign: Bool) {
                        let v = Int(min(value, clip))
                        let word = column + (x &* 4 &+ (v &>> 3))
                        let one = UInt64(1) &<< UInt64((v & 7) &* 8)
                        word.pointee = sign ? word.pointee &+ one : word.pointee &- one
                    }
                    // Rows clamp(−r … r) for output row 0.
                    for dy in -radius ... radius {
                        let row = base + min(max(dy, 0), height - 1) * width
                        for x in 0 ..< width { add(row[x], to: x, true) }
                    }
                    for y in 0 ..< height {
                        if y > 0 {
                            let leaving = base + min(max(y - 1 - radius, 0), height - 1) * width
                            let entering = base + min(max(y + radius, 0), height - 1) * width
                            if leaving != entering {
                                for x in 0 ..< width {
                                    add(leaving[x], to: x, false)
                                    add(entering[x], to: x, true)
                                }
                            }
                        }
                        // Window histogram for x = 0: columns clamp(−r … r).
                        var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0
                        for dx in -radius ... radius {
                            let c = column + min(max(dx, 0), width - 1) &* 4
                            h0 &+= c[0]; h1 &+= c[1]; h2 &+= c[2]; h3 &+= c[3]
                        }
                        let out = target.baseAddress! + y * width
                        for x in 0 ..< width {
                            if x > 0 {
                                let a = column + min(x + radius, width - 1) &* 4
                                let b = column + max(x - 1 - radius, 0) &* 4
                                h0 = h0 &+ a[0] &- b[0]; h1 = h1 &+ a[1] &- b[1]
                                h2 = h2 &+ a[2] &- b[2]; h3 = h3 &+ a[3] &- b[3]
                            }
                            out[x] = median(h0, h1, h2, h3, rank: rank)
                        }
                    }
                }
            }
        }
        return output
    }

    /// The smallest bin `t` whose cumulative count exceeds `rank`, from 32 byte counts in four words (bin `t` is
    /// byte `t % 8` of word `t / 8`): the number of bins whose cumulative count is ≤ `rank`.
    @inline(__always)
    static func median(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64, rank: UInt64) -> UInt8 {
        let byteOnes: UInt64 = 0x0101_0101_0101_0101
        // Prefix sums within each word (bytes stay ≤ 225: no carries).
        @inline(__always) func prefix(_ w: UInt64) -> UInt64 {
            var p = w &+ (w &<< 8)
            p = p &+ (p &<< 16)
            return p &+ (p &<< 32)
        }
        let p0 = prefix(w0)
        let p1 = prefix(w1) &+ (p0 &>> 56) &* byteOnes
        let p2 = prefix(w2) &+ (p1 &>> 56) &* byteOnes
        let p3 = prefix(w3) &+ (p2 &>> 56) &* byteOnes
        // Bytes > rank, counted on 16-bit lanes (even and odd bytes apart): b + 256 − (rank + 1) ≥ 256 ⟺ b > rank,
        // and b + bias ≤ 225 + 255 < 512, so bit 8 of each lane is the answer and no lane carries into the next.
        @inline(__always) func countAbove(_ p: UInt64) -> Int {
            let mask: UInt64 = 0x00FF_00FF_00FF_00FF
            let bias = (0x0100 &- (rank &+ 1)) &* 0x0001_0001_0001_0001   // b + bias ≥ 0x100 ⟺ b > rank
            let even = (p & mask) &+ bias
            let odd = ((p &>> 8) & mask) &+ bias
            let high: UInt64 = 0x0100_0100_0100_0100
            return (even & high).nonzeroBitCount + (odd & high).nonzeroBitCount
        }
        let above = countAbove(p0) + countAbove(p1) + countAbove(p2) + countAbove(p3)
        return UInt8(truncatingIfNeeded: 32 - above)
    }
}
