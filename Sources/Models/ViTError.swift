/// An input a ViT cannot run on.
public enum ViTError: Error, Equatable, CustomStringConvertible {
    /// The image is not `[B, 3, H, W]` with H and W multiples of the patch size.
    case badInputShape(model: String, shape: [Int], patchSize: Int)
    /// The DINOv2 interpolation cannot reach this grid (`floor(N·(n + 0.1)/N) ≠ n`).
    case unreachableGrid(model: String, stored: Int, target: Int)

    public var description: String {
        switch self {
        case .badInputShape(let model, let shape, let patch):
            "\(model): input of shape \(shape) is not [B, 3, H, W] with H and W multiples of \(patch) px"
        case .unreachableGrid(let model, let stored, let target):
            "\(model): the DINOv2 pos-embed interpolation cannot resample a \(stored)-wide grid to \(target)"
        }
    }
}
