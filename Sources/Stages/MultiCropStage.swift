import Dataflow
import ImageOps

/// `multi-crop`: DINOv2's multi-crop augmentation of each tile (``MultiCrop``): 2 global and N local crops with
/// PIL-exact resize and colour ops, normalised, as one ``CropSet`` per tile (distillation-spec.md §6).
///
/// Randomness is keyed by (run seed, `epoch`, the tile's ``AugmentationKey/sampleID(slideID:x:y:)``): a tile gets
/// the same crops whichever replica handles it and after a resume. Replicas (`replicas: N`) each keep their own
/// buffers. The recipe comes from `config` (a file like `configs/augment/dinov2.yaml`; empty: DINOv2's values);
/// `blur` overrides the file's blur choice.
public struct MultiCropStage: Stage {
    public static let summary = "DINOv2 multi-crop of each tile (2 global + N local crops, PIL-exact ops), normalised"
    public static let input = InputPort<TileSample>("in")
    public static let output = OutputPort<CropSet>("out")
    public static var inputs: [PortSpec] { [input.spec] }
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("config", .string, default: .string(""), "augmentation config file (configs/augment/dinov2.yaml); empty = DINOv2's values"),
        ParameterSpec("blur", .choice(["config", "dinov2-code", "nominal"]), default: .string("config"),
                      "blur probabilities: the config file's choice, dinov2-code (0/0.9/0.5) or nominal (1/0.1/0.5)"),
        ParameterSpec("epoch", .integer(0...(1 << 24) - 1), default: .integer(0), "epoch number (changes the crops)"),
    ]

    let configPath: String
    let blur: MultiCropConfig.BlurChoice?
    let epoch: Int

    public init(parameters: StageParameters) throws {
        configPath = parameters.string("config")
        blur = MultiCropConfig.BlurChoice(rawValue: parameters.string("blur"))
        epoch = parameters.integer("epoch")
    }

    /// The recipe: the config file (or DINOv2's defaults) with the `blur` override.
    /// - Throws: ``MultiCropConfigError`` naming the file, line and key.
    public func loadConfig() throws -> MultiCropConfig {
        var config = configPath.isEmpty ? MultiCropConfig() : try MultiCropConfig.load(path: configPath)
        if let blur { config.blur.choice = blur }
        return config
    }

    public func run(_ context: StageContext) async throws {
        let inbox = try context.inbox(Self.input)
        let out = try context.outbox(Self.output)
        let multiCrop = MultiCrop(config: try loadConfig())
        var workspace = MultiCropWorkspace()
        while let tile = try await inbox.next() {
            let sampleID = AugmentationKey.sampleID(slideID: tile.slideID, x: tile.x, y: tile.y)
            let key = AugmentationKey(seed: context.seed, epoch: epoch, sample: sampleID)
            let image = RGBImage(width: tile.size, height: tile.size, pixels: tile.pixels)
            let crops = multiCrop.apply(to: image, key: key, workspace: &workspace)
            context.metrics.add("crop_sets")
            try await out.send(CropSet(sampleID: sampleID, slideID: tile.slideID, x: tile.x, y: tile.y, mpp: tile.mpp, epoch: epoch,
                                       global: crops.global, globalShape: crops.globalShape,
                                       local: crops.local, localShape: crops.localShape))
        }
    }
}
