import Dataflow
import Models

/// A ViT's weights at one training step, as the student trainer and the EMA keeper emit them and the evaluator
/// consumes them. The parameters are immutable (`ViTParameters` is a value whose storage the sender no longer
/// writes), so a snapshot can cross an edge without a copy.
public struct ModelSnapshot: ByteSized {
    /// Which weights: `ema` (the spare EMA of the student), `student`, or a name the sender chooses.
    public let role: String
    /// Optimiser steps taken when the weights were captured (0 = before the first step).
    public let step: Int
    /// The architecture.
    public let config: ViTConfig
    /// The backbone's weights, in `config`'s layout.
    public let parameters: ViTParameters

    /// - Precondition: `parameters.layout == ParameterLayout(config: config)`, `step ≥ 0`.
    public init(role: String, step: Int, config: ViTConfig, parameters: ViTParameters) {
        precondition(parameters.layout == ParameterLayout(config: config), "snapshot parameters do not have \(config.name)'s layout")
        precondition(step >= 0, "snapshot step \(step) < 0")
        self.role = role
        self.step = step
        self.config = config
        self.parameters = parameters
    }

    /// Bytes of parameters (float32).
    public var byteCount: Int { parameters.layout.count * MemoryLayout<Float>.size }
}
