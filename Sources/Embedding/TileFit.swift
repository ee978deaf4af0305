import ImageOps

/// What happens to a tile that is not of the model's input size S×S (S = `ViTConfig.imgSize`).
///
/// Tiles of size S×S pass unchanged under either policy.
public enum TileFit: String, Sendable, Hashable, CaseIterable, Codable {
    /// Any other size is an error naming the tile (`EmbeddingError.wrongTileSize`).
    case require
    /// torchvision's evaluation transform `Resize(S, BICUBIC)` then `CenterCrop(S)` on the PIL image: the shorter
    /// side becomes S and the longer `int(S · long / short)` (torchvision `_compute_resized_output_size`), with
    /// Pillow's bicubic filter to the byte (`BicubicResize`, Pillow ≥ 13 pass order); then the centre S×S, its
    /// offsets `round((side − S) / 2)` with Python's round-half-to-even (torchvision `center_crop`).
    case resizeCrop = "resize-crop"

    /// The S×S tile the model sees.
    /// - Parameters:
    ///   - image: the tile `[H, W, 3]`.
    ///   - size: S, px.
    ///   - name: the tile's name, for the error.
    /// - Returns: `image` itself when it is S×S, else as the policy says; `[S, S, 3]`.
    /// - Throws: `EmbeddingError.wrongTileSize` under `.require`.
    public func fitted(_ image: RGBImage, size: Int, name: String) throws(EmbeddingError) -> RGBImage {
        if image.width == size && image.height == size { return image }
        switch self {
        case .require:
            throw .wrongTileSize(tile: name, width: image.width, height: image.height, expected: size)
        case .resizeCrop:
            let (width, height) = Self.resizedSize(width: image.width, height: image.height, shorterSide: size)
            let resized = BicubicResize.resize(image, width: width, height: height)
            let top = Self.centerOffset(height, size), left = Self.centerOffset(width, size)
            return resized.cropped(to: CropBox(top: top, left: left, height: size, width: size))
        }
    }

    /// The factor by which `fitted` changes the pixel size (µm/px scale by it): `short / S` when resized, 1 when
    /// the tile is already S×S.
    public func mppScale(width: Int, height: Int, size: Int) -> Double {
        width == size && height == size ? 1 : Double(min(width, height)) / Double(size)
    }

    /// torchvision `Resize(S)` output size: the shorter side S, the longer `int(S · long / short)`.
    static func resizedSize(width: Int, height: Int, shorterSide: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(shorterSide) * Double(long) / Double(short))
        return width <= height ? (shorterSide, newLong) : (newLong, shorterSide)
    }

    /// torchvision `center_crop` offset: `int(round((side − S) / 2.0))`, Python rounding (half to even).
    static func centerOffset(_ side: Int, _ size: Int) -> Int {
        Int((Double(side - size) / 2).rounded(.toNearestOrEven))
    }
}
