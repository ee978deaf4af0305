/// DINOv2's multi-crop augmentation of one tile (`DataAugmentationDINO`, distillation-spec.md §6.1): two global
/// crops and `local.number` local crops, each a random-resized crop (PIL bicubic) with flip, colour jitter,
/// grayscale and blur, the second global crop also solarized, then `ToTensor` + `Normalize`.
///
/// ```
/// global 1 = normalize(blur(p_g1)(color(geometric_global(tile))))
/// global 2 = normalize(solarize(0.2)(blur(p_g2)(color(geometric_global(tile)))))
/// local l  = normalize(blur(p_l)(color(geometric_local(tile))))
/// ```
/// Randomness comes from ``AugmentationRandom`` keyed by (seed, epoch, sample), one stream per crop (global 1 is
/// stream 0, global 2 stream 1, local l stream 1 + l): the same key always gives the same crops. Drawing
/// (``parameters(width:height:key:)``) and rendering (``render(_:_:workspace:)``) are separate, so each can be
/// checked alone.
public struct MultiCrop: Sendable {
    /// The recipe.
    public let config: MultiCropConfig
    let globalSampler: RandomResizedCropSampler
    let localSampler: RandomResizedCropSampler
    let jitterSampler: ColorJitterSampler
    let normalization: Normalization

    /// - Precondition: `config.problems()` is empty.
    public init(config: MultiCropConfig = MultiCropConfig()) {
        let problems = config.problems()
        precondition(problems.isEmpty, "invalid multi-crop config: \(problems.joined(separator: "; "))")
        self.config = config
        globalSampler = RandomResizedCropSampler(scale: config.global.scale, ratio: config.ratio)
        localSampler = RandomResizedCropSampler(scale: config.local.scale, ratio: config.ratio)
        jitterSampler = ColorJitterSampler(brightness: config.colorJitter.brightness, contrast: config.colorJitter.contrast,
                                           saturation: config.colorJitter.saturation, hue: config.colorJitter.hue)
        normalization = Normalization(mean: config.mean, std: config.std)
    }

    /// Floats of the global crops, `[2, 3, S, S]`.
    public var globalCount: Int { config.global.number * 3 * config.global.size * config.global.size }
    /// Floats of the local crops, `[N, 3, s, s]`.
    public var localCount: Int { config.local.number * 3 * config.local.size * config.local.size }

    /// Draws the parameters of every crop for a `width × height` tile: the two global crops, then the local ones.
    public func parameters(width: Int, height: Int, key: AugmentationKey) -> [CropParameters] {
        let blur = config.blur.probabilities
        var crops: [CropParameters] = []
        crops.reserveCapacity(config.global.number + config.local.number)
        for index in 0..<config.global.number {
            var random = AugmentationRandom(key: key, stream: index)
            crops.append(draw(width: width, height: height, sampler: globalSampler, size: config.global.size,
                              blur: index == 0 ? blur.global1 : blur.global2, solarize: index == 1 ? config.solarizeProbability : 0,
                              random: &random))
        }
        for index in 0..<config.local.number {
            var random = AugmentationRandom(key: key, stream: config.global.number + index)
            crops.append(draw(width: width, height: height, sampler: localSampler, size: config.local.size,
                              blur: blur.local, solarize: 0, random: &random))
        }
        return crops
    }

    /// One crop's draws, in torchvision's order: crop box, flip, (vertical flip, rotation), jitter, grayscale,
    /// blur, solarize.
    func draw(width: Int, height: Int, sampler: RandomResizedCropSampler, size: Int, blur: Double, solarize: Double,
              random: inout AugmentationRandom) -> CropParameters {
        var crop = CropParameters(box: sampler.sample(width: width, height: height, using: &random), size: size)
        crop.horizontalFlip = random.chance(config.horizontalFlip)
        if config.verticalFlip > 0 { crop.verticalFlip = random.chance(config.verticalFlip) }
        if config.rotate90 > 0, random.chance(config.rotate90) {
            crop.rotation = [Transpose.rotate90, .rotate180, .rotate270][random.integer(below: 3)]
        }
        if random.chance(config.colorJitter.probability) { crop.colorJitter = jitterSampler.sample(using: &random) }
        crop.grayscale = random.chance(config.grayscale)
        if random.chance(blur) {
            crop.blurSigma = random.uniform(Float(config.blur.sigma.lowerBound), Float(config.blur.sigma.upperBound))
        }
        if solarize > 0 { crop.solarize = random.chance(solarize) }
        return crop
    }

    /// Applies one crop's parameters to `tile`: the 8-bit crop, before `ToTensor` + `Normalize`.
    /// - Returns: `[size, size, 3]` RGB8 (the workspace's buffer for that size; copy it to keep it).
    /// - Precondition: the box lies inside the tile.
    public func render(_ tile: RGBImage, _ crop: CropParameters, workspace: inout MultiCropWorkspace) -> RGBImage {
        var image = workspace.takeImage(size: crop.size)
        BicubicResize.resize(tile, box: crop.box, into: &image, order: config.resizePassOrder, scratch: &workspace.resize)
        if crop.horizontalFlip { image.flipLeftRight() }
        if crop.verticalFlip { image = image.transposed(.flipTopBottom) }
        if let rotation = crop.rotation { image = image.transposed(rotation) }
        if let jitter = crop.colorJitter { image.applyColorJitter(jitter) }
        if crop.grayscale { image.convertToGrayscale() }
        if let sigma = crop.blurSigma {
            GaussianBlur(size: config.blur.kernelSize, sigma: sigma).apply(to: &image, scratch: &workspace.blur)
        }
        if crop.solarize { image.solarize(threshold: config.solarizeThreshold) }
        workspace.returnImage(image)
        return image
    }

    /// The whole multi-crop of one tile: parameters, 8-bit crops, normalised planar floats.
    /// - Returns: ``MultiCropTensors`` with global `[2, 3, S, S]` and local `[N, 3, s, s]` floats.
    public func apply(to tile: RGBImage, key: AugmentationKey, workspace: inout MultiCropWorkspace) -> MultiCropTensors {
        let crops = parameters(width: tile.width, height: tile.height, key: key)
        let globalPlane = 3 * config.global.size * config.global.size
        let localPlane = 3 * config.local.size * config.local.size
        let globalNumber = config.global.number
        // Every float is written below (each crop fills its plane), so the storage starts uninitialised.
        let global = [Float](unsafeUninitializedCapacity: globalCount) { buffer, count in
            for index in 0..<globalNumber {
                normalization.write(render(tile, crops[index], workspace: &workspace), to: buffer.baseAddress! + index * globalPlane)
            }
            count = globalCount
        }
        let local = [Float](unsafeUninitializedCapacity: localCount) { buffer, count in
            for index in 0..<config.local.number {
                normalization.write(render(tile, crops[globalNumber + index], workspace: &workspace),
                                    to: buffer.baseAddress! + index * localPlane)
            }
            count = localCount
        }
        return MultiCropTensors(global: global, globalShape: [config.global.number, 3, config.global.size, config.global.size],
                                local: local, localShape: [config.local.number, 3, config.local.size, config.local.size],
                                parameters: crops)
    }
}

/// The normalised crops of one tile, planar float32 (`ToTensor` + `Normalize` layout), crop-major.
public struct MultiCropTensors: Sendable, Equatable {
    /// `[2, 3, S, S]` (S = 224 for DINOv2), flat.
    public var global: [Float]
    /// `[2, 3, S, S]`.
    public var globalShape: [Int]
    /// `[N, 3, s, s]` (N = 8, s = 98), flat.
    public var local: [Float]
    /// `[N, 3, s, s]`.
    public var localShape: [Int]
    /// The parameters each crop was made with: the global crops, then the local ones.
    public var parameters: [CropParameters]

    /// Tensors with their shapes and the crops' parameters.
    public init(global: [Float], globalShape: [Int], local: [Float], localShape: [Int], parameters: [CropParameters]) {
        self.global = global
        self.globalShape = globalShape
        self.local = local
        self.localShape = localShape
        self.parameters = parameters
    }
}

/// Buffers ``MultiCrop`` reuses across crops and tiles; one per thread (it is a value: copy it per worker).
public struct MultiCropWorkspace: Sendable {
    var resize = ResizeScratch()
    var blur: [Float] = []
    var images: [Int: RGBImage] = [:]

    /// Empty buffers, grown on first use.
    public init() {}

    mutating func takeImage(size: Int) -> RGBImage {
        images.removeValue(forKey: size) ?? RGBImage(width: size, height: size)
    }

    mutating func returnImage(_ image: RGBImage) {
        if image.width == image.height { images[image.width] = image }
    }
}
