/// Median filter of an 8-bit plane with a square `k × k` window (k odd) and replicated borders: the
/// semantics of OpenCV's `cv2.medianBlur(src, k)` (`BORDER_REPLICATE`), which CLAM applies to the saturation
/// channel (`mthresh = 7`) before thresholding.
///
/// Algorithm: a window histogram slid along each row (T. Huang, G. Yang, G. Tang, "A fast two-dimensional
/// median filtering algorithm", IEEE Trans. ASSP 27(1), 1979), kept at two levels — 16 coarse bins of 16 fine
/// bins — so the median is found with at most 16 + 16 bin visits (S. Perreault, P. Hébert, "Median filtering
/// in constant time", IEEE Trans. Image Processing 16(9), 2007): O(k) histogram updates per pixel and a
/// search of at most 16 + 16 steps.
public enum MedianFilter {
    /// The median-filtered plane.
    /// - Parameters:
    ///   - plane: `width × height` values, row-major.
    ///   - width: plane width (px).
    ///   - height: plane height (px).
    ///   - kernel: window side (px), odd and ≥ 1; 1 returns the plane unchanged.
    public static func apply(_ plane: [UInt8], width: Int, height: Int, kernel: Int) -> [UInt8] {
        precondition(plane.count == width * height, "plane of \(width)×\(height) needs \(width * height) values")
        precondition(kernel >= 1 && kernel % 2 == 1, "median kernel must be odd and ≥ 1, got \(kernel)")
        guard kernel > 1, width > 0, height > 0 else { return plane }
        let radius = kernel / 2
        let rank = Int32(kernel * kernel / 2)  // the median is the element of rank `rank` (0-based) of k² values
        var output = [UInt8](repeating: 0, count: plane.count)
        // fine: 256 bins, then coarse: 16 bins, in one buffer.
        let histogram = UnsafeMutablePointer<Int32>.allocate(capacity: 256 + 16)
        let rows = UnsafeMutablePointer<UnsafePointer<UInt8>>.allocate(capacity: kernel)
        defer {
            histogram.deallocate()
            rows.deallocate()
        }
        let fine = histogram, coarse = histogram + 256
        plane.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                let base = source.baseAddress!
                for y in 0 ..< height {
                    // The window's rows for output row y, clamped (replicated border).
                    for index in 0 ..< kernel {
                        rows[index] = base + min(max(y - radius + index, 0), height - 1) * width
                    }
                    histogram.update(repeating: 0, count: 256 + 16)
                    // Window for x = 0: columns −radius…radius, clamped.
                    for dx in -radius ... radius {
                        let column = min(max(dx, 0), width - 1)
                        for index in 0 ..< kernel {
                            let value = Int(rows[index][column])
                            fine[value] &+= 1
                            coarse[value &>> 4] &+= 1
                        }
                    }
                    var median = 0
                    let out = target.baseAddress! + y * width
                    for x in 0 ..< width {
                        var changed = x == 0
                        if x > 0 {
                            let leaving = min(max(x - 1 - radius, 0), width - 1)
                            let entering = min(max(x + radius, 0), width - 1)
                            if leaving != entering {
                                for index in 0 ..< kernel {
                                    let row = rows[index]
                                    let old = Int(row[leaving]), new = Int(row[entering])
                                    // Branch-free: equal values cancel out.
                                    fine[old] &-= 1
                                    coarse[old &>> 4] &-= 1
                                    fine[new] &+= 1
                                    coarse[new &>> 4] &+= 1
                                    changed = changed || old != new
                                }
                            }
                        }
                        // Same window contents as the previous pixel (e.g. on glass): same median.
                        if changed {
                            // Coarse bin holding rank `rank`, then the fine bin inside it.
                            var below = Int32(0)
                            var bucket = 0
                            while below &+ coarse[bucket] <= rank {
                                below &+= coarse[bucket]
                                bucket &+= 1
                            }
                            median = bucket &<< 4
                            while below &+ fine[median] <= rank {
                                below &+= fine[median]
                                median &+= 1
                            }
                        }
                        out[x] = UInt8(truncatingIfNeeded: median)
                    }
                }
            }
        }
        return output
    }
}
