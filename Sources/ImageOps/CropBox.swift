/// A rectangle of an image in pixels, in torchvision's `(i, j, h, w)` terms: `top` row, `left` column,
/// `height` and `width` (`RandomResizedCrop.get_params` returns these; PIL's box is
/// `(left, top, left + width, top + height)`).
public struct CropBox: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// First row (torchvision `i`).
    public var top: Int
    /// First column (torchvision `j`).
    public var left: Int
    /// Rows (torchvision `h`).
    public var height: Int
    /// Columns (torchvision `w`).
    public var width: Int

    /// A box from its torchvision `(i, j, h, w)`.
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }

    /// The whole of a `width × height` image.
    public init(width: Int, height: Int) {
        self.init(top: 0, left: 0, height: height, width: width)
    }

    /// Whether the box is non-empty and lies inside a `width × height` image.
    public func fits(width imageWidth: Int, height imageHeight: Int) -> Bool {
        top >= 0 && left >= 0 && height > 0 && width > 0 && top + height <= imageHeight && left + width <= imageWidth
    }

    /// `(top, left, height, width)`.
    public var description: String { "(top \(top), left \(left), \(width)×\(height))" }
}

extension RGBImage {
    /// The pixels of `box`: PIL `Image.crop((left, top, left + width, top + height))` for a box inside the image
    /// (torchvision `F.crop(img, top, left, height, width)`).
    /// - Returns: `[box.height, box.width, 3]` RGB8.
    /// - Precondition: the box lies inside the image.
    public func cropped(to box: CropBox) -> RGBImage {
        precondition(box.fits(width: width, height: height), "crop box \(box) is outside the \(width)×\(height) image")
        var output = [UInt8](repeating: 0, count: box.width * box.height * 3)
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for row in 0..<box.height {
                    let from = source.baseAddress! + ((box.top + row) * width + box.left) * 3
                    (target.baseAddress! + row * box.width * 3).update(from: from, count: box.width * 3)
                }
            }
        }
        return RGBImage(width: box.width, height: box.height, pixels: output)
    }
}
