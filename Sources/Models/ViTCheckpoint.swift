import Compute

/// Reading and writing ViT weights as safetensors.
///
/// Loading is strict (DESIGN.md §4): the file's key layout is detected (`CheckpointLayout.detect`), every
/// parameter the config needs must be present with its exact shape, and every tensor in the file must be
/// used (DINOv2's `mask_token` is dropped by the conversion, as timm does). All violations are reported
/// together in one `CheckpointError`. DINOv2-layout files are converted while loading: `cls_token +=
/// pos_embed[:, 0]`, `pos_embed = pos_embed[:, 1:]`, `register_tokens → reg_token`, `mlp.w12/w3 → mlp.fc1/fc2`,
/// chunked block keys unchunked (timm `_convert_dinov2`; distillation-spec.md §2.5). F16 and BF16 tensors
/// are converted to F32.
public enum ViTCheckpoint {
    /// Loads `path` into parameters for `config` on `backend`.
    /// - Parameter otherModules: top-level modules the file may also hold that are not the backbone's (e.g.
    ///   `dino_head`, `ibot_head` of a teacher checkpoint): keys `MODULE.…` are left to their own loader instead of
    ///   being reported as unused. Strictness is unchanged for every other key.
    /// - Throws: `SafetensorsError` (unreadable or malformed file, a tensor of a non-float dtype);
    ///   `CheckpointError` listing every missing, unused and mis-shaped key.
    public static func load(path: String, config: ViTConfig, backend: any Backend,
                            otherModules: Set<String> = []) throws -> ViTParameters {
        try load(SafetensorsFile(path: path), config: config, backend: backend, otherModules: otherModules)
    }

    /// Loads an opened file; see `load(path:config:backend:otherModules:)`.
    public static func load(_ file: SafetensorsFile, config: ViTConfig, backend: any Backend,
                            otherModules: Set<String> = []) throws -> ViTParameters {
        let layout = ParameterLayout(config: config)
        let fileLayout = CheckpointLayout.detect(names: file.entries.keys)
        // The file's keys as the model sees them (unchunked), mapped back to the file's own names.
        var original: [String: String] = [:]
        for name in file.entries.keys where !otherModules.contains(String(name.prefix { $0 != "." })) {
            original[fileLayout == .dinov2 ? DINOv2Keys.unchunked(name) : name] = name
        }
        var expected: [String: [Int]] = [:]
        for parameter in layout.parameters {
            switch fileLayout {
            case .timm:
                expected[parameter.name] = parameter.shape
            case .dinov2 where parameter.name == "pos_embed":
                expected["pos_embed"] = [1, config.gridSize * config.gridSize + 1, config.embedDim]
            case .dinov2:
                expected[DINOv2Keys.dinov2Name(timm: parameter.name)] = parameter.shape
            }
        }
        let dropped: Set<String> = fileLayout == .dinov2 ? ["mask_token"] : []
        let missing = expected.keys.filter { original[$0] == nil }.sorted()
        let unused = original.keys.filter { expected[$0] == nil && !dropped.contains($0) }.map { original[$0]! }.sorted()
        let misshaped = expected.keys.sorted().compactMap { key -> CheckpointError.Misshaped? in
            guard let name = original[key], let entry = file.entries[name], entry.shape != expected[key] else { return nil }
            return CheckpointError.Misshaped(key: name, expected: expected[key]!, found: entry.shape)
        }
        guard missing.isEmpty, unused.isEmpty, misshaped.isEmpty else {
            throw CheckpointError(path: file.path, model: config.name, layout: fileLayout, missing: missing, unused: unused,
                                  misshaped: misshaped)
        }

        let host = Tensor(shape: [layout.count])
        let values = host.floats
        for parameter in layout.parameters {
            let destination = values + parameter.offset
            switch (fileLayout, parameter.name) {
            case (.dinov2, "pos_embed"):
                let positions = try file.tensor(original["pos_embed"]!)
                destination.update(from: positions.floats + config.embedDim, count: parameter.count)
            case (.dinov2, "cls_token"):
                try file.copyFloats(original["cls_token"]!, into: destination)
                let positions = try file.tensor(original["pos_embed"]!)
                for d in 0..<config.embedDim { destination[d] += positions.floats[d] }
            case (.dinov2, _):
                try file.copyFloats(original[DINOv2Keys.dinov2Name(timm: parameter.name)]!, into: destination)
            case (.timm, _):
                try file.copyFloats(original[parameter.name]!, into: destination)
            }
        }
        if backend.device == .cpu { return ViTParameters(layout: layout, flat: host) }
        let flat = backend.makeTensor(shape: [layout.count])
        backend.upload(UnsafeBufferPointer(start: values, count: layout.count), to: flat)
        return ViTParameters(layout: layout, flat: flat)
    }

    /// Writes `parameters` under timm names and shapes, F32, in timm's order, atomically — a file
    /// `timm.create_model(…, pretrained_cfg_overlay=dict(file=path))` loads unchanged.
    /// - Throws: `SafetensorsError` from the writer.
    public static func write(_ parameters: ViTParameters, backend: any Backend, to path: String,
                             metadata: [String: String] = [:]) throws(SafetensorsError) {
        let host: Tensor
        if parameters.flat.device == .cpu {
            host = parameters.flat
        } else {
            host = Tensor(shape: [parameters.layout.count], values: backend.download(parameters.flat))
        }
        let named = parameters.layout.parameters.map { (name: $0.name, tensor: host.view(offset: $0.offset, shape: $0.shape)) }
        try SafetensorsWriter.write(named, metadata: metadata, to: path)
    }
}
