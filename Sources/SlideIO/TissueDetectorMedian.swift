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
        var fine = [Int32](repeating: 0, count: 256)
        var coarse = [Int32](repeating: 0, count: 16)
        var rows = [Int](repeating: 0, count: kernel)
        plane.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                fine.withUnsafeMutableBufferPointer { fine in
                    coarse.withUnsafeMutableBufferPointer { coarse in
                        rows.withUnsafeMutableBufferPointer { rows in
                            for y in 0 ..< height {
                                // Row offsets of the window for output row y, clamped (replicated border).
                                for index in 0 ..< kernel {
                                    rows[index] = min(max(y - radius + index, 0), height - 1) * width
                                }
                                for bin in 0 ..< 256 { fine[bin] = 0 }
                                for bin in 0 ..< 16 { coarse[bin] = 0 }
                                // Window for x = 0: columns −radius…radius, clamped.
                                for dx in -radius ... radius {
                                    let column = min(max(dx, 0), width - 1)
                                    for row in rows {
                                        let value = Int(source[row + column])
                                        fine[value] += 1
                                        coarse[value >> 4] += 1
                                    }
                                }
                                var median = 0
                                for x in 0 ..< width {
                                    var changed = x == 0
                                    if x > 0 {
                                        let leaving = min(max(x - 1 - radius, 0), width - 1)
                                        let entering = min(max(x + radius, 0), width - 1)
                                        if leaving != entering {
                                            for row in rows {
                                                let out = Int(source[row + leaving])
                                                let into = Int(source[row + entering])
                                                if out != into {
                                                    fine[out] -= 1
                                                    coarse[out >> 4] -= 1
                                                    fine[into] += 1
                                                    coarse[into >> 4] += 1
                                                    changed = true
                                                }
                                            }
                                        }
                                    }
                                    // Same window contents as the previous pixel (e.g. on glass): same median.
                                    if changed {
                                        // Coarse bin holding rank `rank`, then the fine bin inside it.
                                        var below = Int32(0)
                                        var bucket = 0
                                        while below + coarse[bucket] <= rank {
                                            below += coarse[bucket]
                                            bucket += 1
                                        }
                                        median = bucket << 4
                                        while below + fine[median] <= rank {
                                            below += fine[median]
                                            median += 1
                                        }
                                    }
                                    target[y * width + x] = UInt8(median)
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
