/// PIL's `Image.transpose` methods: mirror images and quarter turns (torchvision `F.hflip` / `F.vflip` are the
/// first two). Rotations are counter-clockwise, as in PIL.
public enum Transpose: String, Sendable, CaseIterable, Codable {
    /// `FLIP_LEFT_RIGHT`: column x ← column W−1−x (torchvision `RandomHorizontalFlip`).
    case flipLeftRight = "flip-left-right"
    /// `FLIP_TOP_BOTTOM`: row y ← row H−1−y.
    case flipTopBottom = "flip-top-bottom"
    /// `ROTATE_90`: a quarter turn counter-clockwise; the output is H wide and W high.
    case rotate90 = "rotate-90"
    /// `ROTATE_180`: a half turn.
    case rotate180 = "rotate-180"
    /// `ROTATE_270`: a quarter turn clockwise; the output is H wide and W high.
    case rotate270 = "rotate-270"
}

extension RGBImage {
    /// The image mirrored or turned (PIL `Image.transpose(method)`), pixel values unchanged.
    /// - Returns: `[H, W, 3]`, or `[W, H, 3]` for quarter turns.
    public func transposed(_ method: Transpose) -> RGBImage {
        let turns = method == .rotate90 || method == .rotate270
        let outWidth = turns ? height : width, outHeight = turns ? width : height
        var output = [UInt8](repeating: 0, count: pixels.count)
        let (width, height) = (self.width, self.height)
        pixels.withUnsafeBufferPointer { sourceBuffer in
            output.withUnsafeMutableBufferPointer { targetBuffer in
                let source = sourceBuffer.baseAddress!, target = targetBuffer.baseAddress!
                for y in 0..<outHeight {
                    let out = target + y * outWidth * 3
                    for x in 0..<outWidth {
                        // The source pixel that lands on output (x, y).
                        let (sx, sy): (Int, Int)
                        switch method {
                        case .flipLeftRight: (sx, sy) = (width - 1 - x, y)
                        case .flipTopBottom: (sx, sy) = (x, height - 1 - y)
                        case .rotate90: (sx, sy) = (width - 1 - y, x)
                        case .rotate180: (sx, sy) = (width - 1 - x, height - 1 - y)
                        case .rotate270: (sx, sy) = (y, height - 1 - x)
                        }
                        let from = source + (sy * width + sx) * 3
                        out[x * 3] = from[0]
                        out[x * 3 + 1] = from[1]
                        out[x * 3 + 2] = from[2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }
}

extension RGBImage {
    /// ``Transpose/flipLeftRight`` in place.
    public mutating func flipLeftRight() {
        let (width, height) = (self.width, self.height)
        pixels.withUnsafeMutableBufferPointer { buffer in
            for y in 0..<height {
                let row = buffer.baseAddress! + y * width * 3
                var left = 0, right = width - 1
                while left < right {
                    for channel in 0..<3 { swap(&row[left * 3 + channel], &row[right * 3 + channel]) }
                    left += 1
                    right -= 1
                }
            }
        }
    }
}
