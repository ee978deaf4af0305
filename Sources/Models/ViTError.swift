/// An input a ViT cannot run on.
public enum ViTError: Error, Equatable, CustomStringConvertible {
    /// The image is not `[B, 3, H, W]` with H and W multiples of the patch size.
    case badInputShape(model: String, shape: [Int], patchSize: Int)
    /// The activations were made by a model of another architecture.
    case activationsMismatch(model: String, activationsModel: String)
    /// The DINOv2 interpolation cannot reach this grid (`floor(N·(n + 0.1)/N) ≠ n`).
    case unreachableGrid(model: String, stored: Int, target: Int)

    public var description: String {
        switch self {
        case .badInputShape(let model, let shape, let patch):
            "\(model): input of shape \(shape) is not [B, 3, H, W] with H and W multiples of \(patch) px"
        case .activationsMismatch(let model, let other):
            "\(model): activations made for model \(other) (another architecture); make them with this model's makeActivations"
        case .unreachableGrid(let model, let stored, let target):
            "\(model): the DINOv2 pos-embed interpolation cannot resample a \(stored)-wide grid to \(target)"
        }
    }
}
