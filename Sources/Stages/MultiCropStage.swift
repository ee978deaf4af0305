import Dataflow
import ImageOps

/// `multi-crop`: DINOv2's multi-crop augmentation of each tile (``MultiCrop``): 2 global and N local crops with
/// PIL-exact resize and colour ops, normalised, as one ``CropSet`` per tile (distillation-spec.md §6).
///
/// Randomness is keyed by (run seed, `epoch` + the tile's epoch, the tile's ``AugmentationKey/sampleID(slideID:x:y:)``):
/// a tile gets the same crops whichever replica handles it and after a resume. A map stage: `replicas: N` with
/// `ordered: true` keeps the tiles' order (what a deterministic, resumable training run needs). The recipe comes
/// from `config` (a file like `configs/augment/dinov2.yaml`; empty: DINOv2's values); `blur` overrides the file's
/// blur choice.
public struct MultiCropStage: MapStage {
    public static let summary = "DINOv2 multi-crop of each tile (2 global + N local crops, PIL-exact ops), normalised"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("config", .string, default: .string(""), "augmentation config file (configs/augment/dinov2.yaml); empty = DINOv2's values"),
        ParameterSpec("blur", .choice(["config", "dinov2-code", "nominal"]), default: .string("config"),
                      "blur probabilities: the config file's choice, dinov2-code (0/0.9/0.5) or nominal (1/0.1/0.5)"),
        ParameterSpec("epoch", .integer(0...(1 << 24) - 1), default: .integer(0), "epoch number (changes the crops)"),
    ]

    /// The recipe: the config file (or DINOv2's defaults) with the `blur` override.
    public let config: MultiCropConfig
    let epoch: Int
    let multiCrop: MultiCrop

    /// - Throws: ``MultiCropConfigError`` naming the config file, line and key.
    public init(parameters: StageParameters) throws {
        let path = parameters.string("config")
        var config = path.isEmpty ? MultiCropConfig() : try MultiCropConfig.load(path: path)
        if let blur = MultiCropConfig.BlurChoice(rawValue: parameters.string("blur")) { config.blur.choice = blur }
        self.config = config
        epoch = parameters.integer("epoch")
        multiCrop = MultiCrop(config: config)
    }

    public func process(_ tile: TileSample, context: StageContext) async throws -> CropSet? {
        let sampleID = AugmentationKey.sampleID(slideID: tile.slideID, x: tile.x, y: tile.y)
        let epoch = epoch + tile.epoch
        let key = AugmentationKey(seed: context.seed, epoch: epoch, sample: sampleID)
        let image = RGBImage(width: tile.size, height: tile.size, pixels: tile.pixels)
        var workspace = MultiCropWorkspace()
        let crops = multiCrop.apply(to: image, key: key, workspace: &workspace)
        context.metrics.add("crop_sets")
        return CropSet(sampleID: sampleID, slideID: tile.slideID, x: tile.x, y: tile.y, mpp: tile.mpp, epoch: epoch,
                       global: crops.global, globalShape: crops.globalShape, local: crops.local, localShape: crops.localShape)
    }
}
