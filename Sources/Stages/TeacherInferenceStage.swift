import CUDA
import Compute
import Dataflow
import Models

/// `teacher-inference`: the frozen teacher's backbone on the global crops of each ``CropSet``, batched, emitting
/// one ``TeacherOutput`` per crop set (its `x_norm` CLS and patch tokens, the crops passed through for the student).
///
/// The teacher is a ``ViT`` from a config file (`configs/models/*.yaml`) with weights from a safetensors checkpoint
/// in timm or DINOv2 layout, loaded strictly (a missing, unused or mis-shaped key fails the run naming it; a
/// checkpoint that also holds the teacher's `dino_head.*` / `ibot_head.*` tensors loads, those left to the trainer); with
/// no `weights`, random weights seeded by the run seed (for tests and the CPU quickstart; a warning says so).
/// Each replica loads its own copy and runs `batch` crop sets (`batch`·G images) per forward pass on a
/// ``CPUBackend`` of `threads` threads, or with `device: cuda` on the GPU (`CUDAViTForward`, bf16, docs/cuda.md): a
/// batch is queued on the device and the next one is gathered and stacked while it runs; the last batch of the stream
/// is partial. Crop sets keep their order. Publishes `crop_sets` and `images` as stage metrics. On a machine where
/// the CUDA driver or toolkit does not load, `device: cuda` fails with one ``DeviceUnavailableError`` naming the
/// library and why.
///
/// The DINO and iBOT heads are not run here: at K = 131,072 prototypes one sample's teacher logits are
/// 2·257·K floats (270 MB); the trainer applies the teacher heads chunk by chunk inside the loss
/// (docs/compute.md, "The `teacher-inference` stage").
public struct TeacherInferenceStage: Stage {
    public static let summary = "The teacher ViT on the global crops of each crop set, batched: x_norm CLS and patch tokens"
    public static let input = InputPort<CropSet>("in")
    public static let output = OutputPort<TeacherOutput>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    /// `cuda` runs the forward on GPU 0 with the CUDA backend.
    public static var devices: [String] { ["cpu", "cuda"] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("model", .string, default: .string(""), "teacher ViT config (configs/models/*.yaml)"),
        ParameterSpec("weights", .string, default: .string(""),
                      "safetensors checkpoint, timm or DINOv2 layout; empty = random weights from the run seed"),
        ParameterSpec("batch", .integer(1...4096), default: .integer(8), "crop sets per forward pass"),
        ParameterSpec("threads", .integer(0...4096), default: .integer(0), "CPU threads of each replica; 0 = every core"),
    ]

    let modelPath: String
    let weightsPath: String
    let batch: Int
    let threads: Int

    public init(parameters: StageParameters) throws {
        modelPath = parameters.string("model")
        weightsPath = parameters.string("weights")
        batch = parameters.integer("batch")
        threads = parameters.integer("threads")
        guard !modelPath.isEmpty else { throw ParameterError(key: "model", "give the teacher's config file (configs/models/*.yaml)") }
    }

    /// Reads the config and the checkpoint's header, so a wrong path or a file that is not safetensors fails validation.
    public func validate(replicas: Int) throws {
        do { _ = try ViTConfig.load(path: modelPath) } catch { throw ParameterError(key: "model", "\(error)") }
        guard !weightsPath.isEmpty else { return }
        do { _ = try SafetensorsFile(path: weightsPath) } catch { throw ParameterError(key: "weights", "\(error)") }
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        let config = try ViTConfig.load(path: modelPath)
        let backend = CPUBackend(threads: threads == 0 ? CPUBackend.availableCores : threads)
        // The device first: without a driver the stage fails at once, not after seconds of making or reading weights
        // (while a sibling stage's failure waited for it).
        var device: CUDABackend?
        if context.device != "cpu" {
            do { device = try CUDABackend(ordinal: 0) } catch {
                throw DeviceUnavailableError(stage: context.stageName, device: context.device, reason: "\(error)")
            }
        }
        let parameters: ViTParameters
        if weightsPath.isEmpty {
            context.logger.warning("teacher \(config.name): no weights given, using random weights (seed \(context.seed))")
            parameters = ViTParameters.random(config: config, backend: backend, seed: context.seed)
        } else {
            let heads = try SafetensorsFile(path: weightsPath).entries.keys.filter { $0.hasPrefix("dino_head.") || $0.hasPrefix("ibot_head.") }
            if !heads.isEmpty {
                context.logger.info("teacher checkpoint \(weightsPath) also holds \(heads.count) head tensors (dino_head, ibot_head): the trainer applies the heads")
            }
            parameters = try ViTCheckpoint.load(path: weightsPath, config: config, backend: backend,
                                                otherModules: ["dino_head", "ibot_head"])
        }
        let encoder: ViTEncoder
        if let device {
            encoder = ViTEncoder(cuda: try CUDAViTForward(config: config, parameters: parameters, backend: device))
            context.logger.info("teacher \(config.name) on \(encoder.deviceDescription)")
        } else {
            encoder = ViTEncoder(cpu: ViT(config: config, parameters: parameters, backend: backend))
        }

        var pending: [CropSet] = []
        var inFlight: [CropSet] = []
        // Waits for the batch on the device and sends its outputs.
        func collect() async throws {
            guard let first = inFlight.first else { return }
            let globals = first.globalShape[0], size = first.globalShape[2]
            let tokens = try encoder.collectTokens()
            let d = config.embedDim, n = (size / config.patchSize) * (size / config.patchSize)
            for (index, set) in inFlight.enumerated() {
                let cls = Array(tokens.cls[(index * globals * d)..<((index + 1) * globals * d)])
                let patches = Array(tokens.patches[(index * globals * n * d)..<((index + 1) * globals * n * d)])
                try await out.send(TeacherOutput(crops: set, dim: d, patchTokens: n, cls: cls, patches: patches))
            }
            context.metrics.add("crop_sets", Double(inFlight.count))
            context.metrics.add("images", Double(inFlight.count * globals))
            inFlight.removeAll(keepingCapacity: true)
        }
        // Stacks the pending crop sets, collects the batch in flight, queues this one.
        func flush() async throws {
            guard let first = pending.first else { return }
            let globals = first.globalShape[0], size = first.globalShape[2]
            let images = pending.count * globals
            var stacked = [Float]()
            stacked.reserveCapacity(images * 3 * size * size)
            for set in pending { stacked += set.global }
            try await collect()
            try encoder.submit(images: stacked, batch: images, size: size)
            swap(&pending, &inFlight)
            pending.removeAll(keepingCapacity: true)
        }

        while let set = try await inbox.next() {
            let shape = set.globalShape
            guard shape.count == 4, shape[1] == 3, shape[2] == shape[3], shape[2] % config.patchSize == 0 else {
                throw TeacherInferenceError.badCrops(slideID: set.slideID, x: set.x, y: set.y, shape: shape,
                                                     model: config.name, patchSize: config.patchSize)
            }
            if let first = pending.first, first.globalShape != shape { try await flush() }
            pending.append(set)
            if pending.count == batch { try await flush() }
        }
        try await flush()
        try await collect()
    }
}
