#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// torchvision's `GaussianBlur` on a PIL image (distillation-spec.md §6.8; torchvision
/// `transforms/_functional_tensor.py` `gaussian_blur`, `_get_gaussian_kernel1d`).
///
/// The image becomes float32; the 1-D kernel is `x = linspace(−(k−1)/2, (k−1)/2, k)`,
/// `pdf = exp(−0.5·(x/σ)²)`, `kernel = pdf / Σpdf`, the same σ on both axes; the image is padded by `k/2` with
/// `reflect` (mirror without repeating the edge pixel), convolved, rounded half to even and cast back to bytes.
/// torchvision convolves with the 9×9 outer product in one `conv2d`; this applies the separable kernel in two
/// float32 passes (horizontal, then vertical), so a value that lands within float rounding of a half can round
/// the other way: results match within one grey level.
public struct GaussianBlur: Sendable {
    /// The 1-D kernel, `size` float32 weights summing to 1.
    public let kernel: [Float]

    /// - Parameters:
    ///   - size: odd kernel size (DINOv2: 9).
    ///   - sigma: standard deviation in pixels, > 0 (DINOv2 draws it from U(0.1, 2.0)).
    public init(size: Int, sigma: Float) {
        precondition(size > 0 && size % 2 == 1, "the kernel size must be odd and positive, got \(size)")
        precondition(sigma > 0, "sigma must be positive, got \(sigma)")
        let half = Float(size - 1) * 0.5
        let step = size > 1 ? (2 * half) / Float(size - 1) : 0
        var pdf = (0..<size).map { index -> Float in
            let x = -half + Float(index) * step
            let scaled = x / sigma
            return expf(-0.5 * (scaled * scaled))
        }
        let sum = pdf.reduce(0, +)
        for index in pdf.indices { pdf[index] /= sum }
        kernel = pdf
    }

    /// Blurs `image` in place.
    /// - Parameter scratch: reused float buffers (grown as needed).
    /// - Precondition: both sides are larger than half the kernel (reflect padding needs `side > size/2`).
    public func apply(to image: inout RGBImage, scratch: inout [Float]) {
        let width = image.width, height = image.height, radius = kernel.count / 2
        precondition(width > radius && height > radius, "reflect padding by \(radius) needs an image larger than \(radius) px, got \(width)×\(height)")
        let rowFloats = width * 3
        let paddedFloats = (width + 2 * radius) * 3
        let needed = rowFloats * height + rowFloats + paddedFloats
        if scratch.count < needed { scratch = [Float](repeating: 0, count: needed) }
        let taps = kernel.count
        kernel.withUnsafeBufferPointer { kernelBuffer in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                image.pixels.withUnsafeMutableBufferPointer { pixelBuffer in
                    let k = kernelBuffer.baseAddress!, pixels = pixelBuffer.baseAddress!
                    let horizontal = scratchBuffer.baseAddress!                // [H, W, 3] after the horizontal pass
                    let row = horizontal + rowFloats * height                   // one row of sums
                    let padded = row + rowFloats                                // one input row, reflect-padded, as floats
                    // Horizontal pass: pad the row by reflection, then accumulate tap by tap over whole rows.
                    for y in 0..<height {
                        let line = pixels + y * rowFloats
                        for x in -radius..<(width + radius) {
                            let source = Self.reflect(x, width) * 3, target = (x + radius) * 3
                            padded[target] = Float(line[source])
                            padded[target + 1] = Float(line[source + 1])
                            padded[target + 2] = Float(line[source + 2])
                        }
                        let out = horizontal + y * rowFloats
                        for index in 0..<rowFloats { out[index] = 0 }
                        for tap in 0..<taps {
                            let w = k[tap]
                            let shifted = padded + tap * 3
                            for index in 0..<rowFloats { out[index] += w * shifted[index] }
                        }
                    }
                    // Vertical pass over whole rows, then round half to even and store.
                    for y in 0..<height {
                        for index in 0..<rowFloats { row[index] = 0 }
                        for tap in 0..<taps {
                            let w = k[tap]
                            let line = horizontal + Self.reflect(y + tap - radius, height) * rowFloats
                            for index in 0..<rowFloats { row[index] += w * line[index] }
                        }
                        let out = pixels + y * rowFloats
                        // torch.round (half to even) then uint8: adding 2²³ to a float in [0, 255] rounds it to the
                        // nearest integer, ties to even, in its low mantissa bits.
                        for index in 0..<rowFloats {
                            out[index] = UInt8(truncatingIfNeeded: (min(max(row[index], 0), 255) + 0x1p23).bitPattern)
                        }
                    }
                }
            }
        }
    }

    /// Blurs a copy of `image`.
    public func applied(to image: RGBImage) -> RGBImage {
        var copy = image
        var scratch: [Float] = []
        apply(to: &copy, scratch: &scratch)
        return copy
    }

    /// `reflect` padding's index: −1 → 1, n → n − 2 (one reflection; the radius is below the size).
    @inline(__always)
    static func reflect(_ index: Int, _ count: Int) -> Int {
        index < 0 ? -index : (index >= count ? 2 * (count - 1) - index : index)
    }
}
