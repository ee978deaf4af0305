/// Exact area-weighted tissue fractions of level-0 rectangles, from a `TissueMask`.
///
/// Each mask pixel is a rectangle of `level0PerPixelX × level0PerPixelY` level-0 px that is wholly tissue or
/// wholly background; the fraction of a rectangle is the tissue area inside it divided by its area, with
/// partial mask pixels weighted by their overlap (no sampling). Parts of the rectangle outside the mask
/// count as background. Holes the detector left as background never count as tissue (field case B2: fractions
/// come from mask pixels, not from contours). Per-axis scales (field case L7) come from the mask's frame.
///
/// Method: a summed-area table `S(i, j) = Σ_{x<i, y<j} m(x, y)` (`(W+1) × (H+1)` counts). The integral of the
/// mask over `[0, u) × [0, v)` for fractional `u, v` is the bilinear interpolation of `S` at `(u, v)` — exact,
/// because the mask is constant on each pixel — so each rectangle costs four look-ups.
public struct TissueCoverage: Sendable {
    /// The mask's frame.
    public let frame: ThumbnailFrame
    private let width: Int
    private let height: Int
    private let table: [UInt32]

    /// Builds the summed-area table of `mask` (4·(W+1)·(H+1) bytes).
    public init(mask: TissueMask) {
        let width = mask.width
        let height = mask.height
        frame = mask.frame
        self.width = width
        self.height = height
        let stride = width + 1
        var table = [UInt32](repeating: 0, count: stride * (height + 1))
        mask.values.withUnsafeBufferPointer { values in
            table.withUnsafeMutableBufferPointer { sums in
                for y in 0 ..< height {
                    var rowSum: UInt32 = 0
                    for x in 0 ..< width {
                        rowSum += UInt32(values[y * width + x])
                        sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + rowSum
                    }
                }
            }
        }
        self.table = table
    }

    /// Tissue fraction 0…1 of the level-0 rectangle at (`x`, `y`) of `width × height` level-0 px; 0 for an
    /// empty rectangle.
    public func fraction(x: Double, y: Double, width rectangleWidth: Double, height rectangleHeight: Double) -> Double {
        guard rectangleWidth > 0, rectangleHeight > 0, width > 0, height > 0 else { return 0 }
        let u0 = frame.thumbnailX(level0X: x)
        let u1 = frame.thumbnailX(level0X: x + rectangleWidth)
        let v0 = frame.thumbnailY(level0Y: y)
        let v1 = frame.thumbnailY(level0Y: y + rectangleHeight)
        let area = (u1 - u0) * (v1 - v0)
        guard area > 0 else { return 0 }
        let tissue = integral(u1, v1) - integral(u0, v1) - integral(u1, v0) + integral(u0, v0)
        return min(max(tissue / area, 0), 1)
    }

    /// ∫₀ᵘ∫₀ᵛ mask, with u, v in mask px, clamped to the mask.
    private func integral(_ u: Double, _ v: Double) -> Double {
        let u = min(max(u, 0), Double(width))
        let v = min(max(v, 0), Double(height))
        let i = min(Int(u), width - 1)
        let j = min(Int(v), height - 1)
        let fu = u - Double(i)
        let fv = v - Double(j)
        let stride = width + 1
        let s00 = Double(table[j * stride + i])
        let s10 = Double(table[j * stride + i + 1])
        let s01 = Double(table[(j + 1) * stride + i])
        let s11 = Double(table[(j + 1) * stride + i + 1])
        return s00 + fu * (s10 - s00) + fv * (s01 - s00) + fu * fv * (s11 - s10 - s01 + s00)
    }
}
