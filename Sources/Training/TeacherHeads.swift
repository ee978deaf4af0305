import Compute
import Models

/// The teacher's DINO and iBOT projection heads, frozen (distillation-spec.md §3.3, H0-mini paper §5: "the final
/// projection head of the teacher model is required to perform the distillation"; no gradient, no EMA). They turn
/// the teacher's `x_norm` CLS and patch tokens into the logits the objective normalises into targets.
///
/// Each head owns one parameter buffer in its `HeadConfig.layout` (DINOv2 names without the module prefix). The
/// heads are only ever run forward, so their `DINOHead.gradients` view the parameters themselves and must never
/// be passed to a backward.
public struct TeacherHeads: Sendable {
    /// `dino_head` (CLS rows → `[rows, K]`) and `ibot_head` (patch rows → `[rows, K]`).
    public let dino: DINOHead, ibot: DINOHead

    /// Heads over the given parameter buffers.
    /// - Precondition: each buffer has its config's layout.
    public init(dino: (config: HeadConfig, parameters: ParameterBuffer), ibot: (config: HeadConfig, parameters: ParameterBuffer),
                backend: any Backend) {
        self.dino = DINOHead(config: dino.config, parameters: dino.parameters, gradients: dino.parameters, backend: backend)
        self.ibot = DINOHead(config: ibot.config, parameters: ibot.parameters, gradients: ibot.parameters, backend: backend)
    }

    /// The heads stored in a teacher checkpoint under `dino_head.…` and `ibot_head.…` (DINOv2 `state_dict`
    /// names: `mlp.{0,2,4}.{weight,bias}`, `last_layer.weight_g [K, 1]`, `last_layer.weight_v [K, b]`), read
    /// strictly: every key of both heads must be there with its shape, and no other key under either prefix.
    /// - Throws: `CheckpointError` listing every missing, unused and mis-shaped head key (keys outside the two
    ///   prefixes are the backbone's loader's business); `SafetensorsError` for an unreadable tensor.
    public static func load(_ file: SafetensorsFile, dino: HeadConfig, ibot: HeadConfig, backend: any Backend) throws -> TeacherHeads {
        var missing: [String] = [], misshaped: [CheckpointError.Misshaped] = []
        var expected: Set<String> = []
        var buffers: [ParameterBuffer] = []
        for (prefix, config) in [("dino_head.", dino), ("ibot_head.", ibot)] {
            let buffer = ParameterBuffer.zeros(layout: config.layout, backend: backend)
            for parameter in config.layout.parameters {
                let key = prefix + parameter.name
                expected.insert(key)
                guard let entry = file.entries[key] else {
                    missing.append(key)
                    continue
                }
                guard entry.shape == parameter.shape else {
                    misshaped.append(.init(key: key, expected: parameter.shape, found: entry.shape))
                    continue
                }
                try file.copyFloats(key, into: buffer.flat.floats + parameter.offset)
            }
            buffers.append(buffer)
        }
        let unused = file.entries.keys.filter { ($0.hasPrefix("dino_head.") || $0.hasPrefix("ibot_head.")) && !expected.contains($0) }
        guard missing.isEmpty, unused.isEmpty, misshaped.isEmpty else {
            throw CheckpointError(path: file.path, model: "teacher heads", layout: .dinov2, missing: missing.sorted(),
                                  unused: unused.sorted(), misshaped: misshaped)
        }
        return TeacherHeads(dino: (dino, buffers[0]), ibot: (ibot, buffers[1]), backend: backend)
    }

    /// Heads with DINOv2's initialisation drawn from `seed` (`StudentInitialization.dinov2Head`): a random
    /// teacher for tests and the CPU quickstart, when no checkpoint is given.
    public static func initialized(dino: HeadConfig, ibot: HeadConfig, backend: any Backend, seed: UInt64) -> TeacherHeads {
        let buffers = [dino, ibot].enumerated().map { index, config in
            let buffer = backend.makeTensor(shape: [config.layout.count])
            StudentInitialization.dinov2Head(config, seed: seed &+ UInt64(index)).withUnsafeBufferPointer { backend.upload($0, to: buffer) }
            return ParameterBuffer(layout: config.layout, flat: buffer)
        }
        return TeacherHeads(dino: (dino, buffers[0]), ibot: (ibot, buffers[1]), backend: backend)
    }

    /// Logits of `rows` token rows through `head`: `tokens` `[rows, D]` → `output` `[rows, K]`.
    /// - Precondition: `activations` was made by `head.makeActivations(rows:)` with `rows` rows.
    public func logits(_ head: DINOHead, tokens: UnsafePointer<Float>, activations: DINOHeadActivations, output: Tensor) {
        activations.input.floats.update(from: tokens, count: activations.rows * head.config.inFeatures)
        head.forward(activations, logits: output)
    }
}
