/// Mean of an 8-bit plane over a square `k × k` window (k odd) with replicated borders, rounded to nearest:
/// the semantics of OpenCV's `cv2.blur(src, (k, k), borderType=BORDER_REPLICATE)`. Used on fluorescence
/// thumbnails, where tissue is a field of small bright nuclei on black and the local mean brightness (a
/// density) marks it, whereas a median would erase isolated nuclei.
///
/// Method: separable running sums (a horizontal pass, then a vertical pass), O(1) per pixel.
public enum BoxFilter {
    /// The box-filtered plane.
    /// - Parameters:
    ///   - plane: `width × height` values, row-major.
    ///   - width: plane width (px).
    ///   - height: plane height (px).
    ///   - kernel: window side (px), odd and ≥ 1; 1 returns the plane unchanged.
    public static func mean(_ plane: [UInt8], width: Int, height: Int, kernel: Int) -> [UInt8] {
        precondition(plane.count == width * height, "plane of \(width)×\(height) needs \(width * height) values")
        precondition(kernel >= 1 && kernel % 2 == 1, "box kernel must be odd and ≥ 1, got \(kernel)")
        guard kernel > 1, width > 0, height > 0 else { return plane }
        let radius = kernel / 2
        // Horizontal sums over columns x−r…x+r (clamped), as Int32 (≤ 255·k).
        var rowSums = [Int32](repeating: 0, count: plane.count)
        for y in 0 ..< height {
            let row = y * width
            var sum: Int32 = 0
            for dx in -radius ... radius { sum += Int32(plane[row + min(max(dx, 0), width - 1)]) }
            rowSums[row] = sum
            if width > 1 {
                for x in 1 ..< width {
                    sum -= Int32(plane[row + min(max(x - 1 - radius, 0), width - 1)])
                    sum += Int32(plane[row + min(x + radius, width - 1)])
                    rowSums[row + x] = sum
                }
            }
        }
        // Vertical sums of the horizontal sums over rows y−r…y+r (clamped), then the rounded mean.
        var output = [UInt8](repeating: 0, count: plane.count)
        let area = Int32(kernel * kernel)
        for x in 0 ..< width {
            var sum: Int32 = 0
            for dy in -radius ... radius { sum += rowSums[min(max(dy, 0), height - 1) * width + x] }
            output[x] = UInt8((sum + area / 2) / area)
            if height > 1 {
                for y in 1 ..< height {
                    sum -= rowSums[min(max(y - 1 - radius, 0), height - 1) * width + x]
                    sum += rowSums[min(y + radius, height - 1) * width + x]
                    output[y * width + x] = UInt8((sum + area / 2) / area)
                }
            }
        }
        return output
    }
}
