import ImageOps

/// Resizes a region read from a slide to the tile size: area averaging when shrinking, bilinear when
/// enlarging (pixel centres aligned). Not PIL-exact (that arrives with the augmentation ops).
public enum TileResampler {
    /// `image` resized to `width × height`; the same image when the size already matches.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "target size must be positive")
        if image.width == width && image.height == height { return image }
        if image.width >= width && image.height >= height {
            return area(image, width: width, height: height)
        }
        return bilinear(image, width: width, height: height)
    }

    /// Each output pixel is the mean of the source pixels it covers, partial pixels weighted by coverage.
    static func area(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let xs = weights(source: image.width, output: width)
        let ys = weights(source: image.height, output: height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let src = image.pixels
        var row = [Double](repeating: 0, count: image.width * 3)
        for oy in 0..<height {
            for i in row.indices { row[i] = 0 }
            var rowWeight = 0.0
            for (sy, wy) in ys[oy] {
                rowWeight += wy
                let base = sy * image.width * 3
                for i in 0..<(image.width * 3) { row[i] += wy * Double(src[base + i]) }
            }
            for ox in 0..<width {
                var acc = (0.0, 0.0, 0.0), total = 0.0
                for (sx, wx) in xs[ox] {
                    acc.0 += wx * row[sx * 3]; acc.1 += wx * row[sx * 3 + 1]; acc.2 += wx * row[sx * 3 + 2]
                    total += wx
                }
                let norm = total * rowWeight
                let o = (oy * width + ox) * 3
                out[o] = clamp(acc.0 / norm); out[o + 1] = clamp(acc.1 / norm); out[o + 2] = clamp(acc.2 / norm)
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// Source indices and weights covered by each output pixel along one axis.
    static func weights(source: Int, output: Int) -> [[(Int, Double)]] {
        let scale = Double(source) / Double(output)
        return (0..<output).map { o in
            let start = Double(o) * scale, end = Double(o + 1) * scale
            var list: [(Int, Double)] = []
            var s = Int(start.rounded(.down))
            while Double(s) < end && s < source {
                let w = min(end, Double(s + 1)) - max(start, Double(s))
                if w > 1e-12 { list.append((s, w)) }
                s += 1
            }
            if list.isEmpty { list.append((min(source - 1, max(0, Int(start))), 1)) }
            return list
        }
    }

    static func bilinear(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        let src = image.pixels
        for oy in 0..<height {
            let fy = max(0, min(Double(image.height - 1), (Double(oy) + 0.5) * sy - 0.5))
            let y0 = Int(fy), y1 = min(image.height - 1, y0 + 1), ty = fy - Double(y0)
            for ox in 0..<width {
                let fx = max(0, min(Double(image.width - 1), (Double(ox) + 0.5) * sx - 0.5))
                let x0 = Int(fx), x1 = min(image.width - 1, x0 + 1), tx = fx - Double(x0)
                for c in 0..<3 {
                    let a = Double(src[(y0 * image.width + x0) * 3 + c]), b = Double(src[(y0 * image.width + x1) * 3 + c])
                    let d = Double(src[(y1 * image.width + x0) * 3 + c]), e = Double(src[(y1 * image.width + x1) * 3 + c])
                    let top = a + (b - a) * tx, bottom = d + (e - d) * tx
                    out[(oy * width + ox) * 3 + c] = clamp(top + (bottom - top) * ty)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    static func clamp(_ value: Double) -> UInt8 { UInt8(max(0, min(255, value.rounded()))) }
}
