/// Per-channel normalisation of RGB pixels into model input: `(v/255 − mean[c]) / std[c]`, in float32 and in
/// that order (torchvision `ToTensor` then `Normalize`).
public struct ImageNormalization: Sendable, Hashable, Codable {
    /// Mean per channel (R, G, B), in units of the [0, 1] pixel range.
    public var mean: [Float]
    /// Standard deviation per channel (R, G, B).
    public var std: [Float]

    /// - Precondition: three positive standard deviations and three means.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == 3 && std.count == 3 && std.allSatisfy { $0 > 0 },
                     "normalisation needs 3 means and 3 positive stds, got \(mean) / \(std)")
        self.mean = mean
        self.std = std
    }

    /// H-optimus-0's statistics, also used for H0-mini (distillation-spec.md §2.9, from the model card's
    /// `config.json`): mean (0.707223, 0.578729, 0.703617), std (0.211883, 0.230117, 0.177517).
    public static let hOptimus = ImageNormalization(mean: [0.707223, 0.578729, 0.703617],
                                                    std: [0.211883, 0.230117, 0.177517])
}
