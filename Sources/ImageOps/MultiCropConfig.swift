/// Every number of the DINOv2 multi-crop augmentation (`DataAugmentationDINO`, distillation-spec.md §6.1),
/// with DINOv2's values as defaults; `configs/augment/dinov2.yaml` writes them all out and
/// ``MultiCropConfig/load(path:)`` reads such a file.
public struct MultiCropConfig: Sendable, Equatable {
    /// One family of crops: how many, their side after resizing, and the area range of `RandomResizedCrop`.
    public struct Crops: Sendable, Equatable {
        /// Number of crops (global: 2; local: DINOv2 8).
        public var number: Int
        /// Side of each crop after the bicubic resize, px (global 224, local 98 for patch 14).
        public var size: Int
        /// Area fraction range (global 0.32–1.0, local 0.05–0.32).
        public var scale: ClosedRange<Double>

        /// A family of `number` crops of `size` px over `scale` of the tile's area.
        public init(number: Int, size: Int, scale: ClosedRange<Double>) {
            self.number = number
            self.size = size
            self.scale = scale
        }
    }

    /// `RandomApply([ColorJitter(...)], p)`.
    public struct ColorJitter: Sendable, Equatable {
        /// Probability of applying the jitter.
        public var probability: Double
        /// Brightness strength (factor in `[1 − b, 1 + b]`).
        public var brightness: Double
        /// Contrast strength.
        public var contrast: Double
        /// Saturation strength.
        public var saturation: Double
        /// Hue strength (factor in `[−h, h]`), ≤ 0.5.
        public var hue: Double

        /// `ColorJitter(brightness, contrast, saturation, hue)` applied with `probability`.
        public init(probability: Double, brightness: Double, contrast: Double, saturation: Double, hue: Double) {
            self.probability = probability
            self.brightness = brightness
            self.contrast = contrast
            self.saturation = saturation
            self.hue = hue
        }
    }

    /// Which blur probabilities apply (distillation-spec.md §6.2).
    public enum BlurChoice: String, Sendable, Equatable, CaseIterable {
        /// What DINOv2's code does (its wrapper passes 1 − p to `RandomApply`): global 1 never, global 2 0.9,
        /// local 0.5. The paper followed that code; the default.
        case dinov2Code = "dinov2-code"
        /// What the DINOv2 paper and the code's arguments say: global 1 always, global 2 0.1, local 0.5.
        case nominal
    }

    /// Probabilities of blurring the first and second global crops and each local crop.
    public struct BlurProbabilities: Sendable, Equatable {
        /// First global crop.
        public var global1: Double
        /// Second global crop.
        public var global2: Double
        /// Each local crop.
        public var local: Double

        /// The three probabilities.
        public init(global1: Double, global2: Double, local: Double) {
            self.global1 = global1
            self.global2 = global2
            self.local = local
        }
    }

    /// `GaussianBlur(kernel_size, sigma=(low, high))` applied with a probability per crop.
    public struct Blur: Sendable, Equatable {
        /// Odd kernel size, px.
        public var kernelSize: Int
        /// Range of σ, px.
        public var sigma: ClosedRange<Double>
        /// Which probabilities apply.
        public var choice: BlurChoice
        /// The probabilities of each choice; ``probabilities`` picks the chosen one.
        public var table: [BlurChoice: BlurProbabilities]

        /// A blur of `kernelSize` with σ in `sigma`, probabilities from `table[choice]`.
        public init(kernelSize: Int, sigma: ClosedRange<Double>, choice: BlurChoice, table: [BlurChoice: BlurProbabilities]) {
            self.kernelSize = kernelSize
            self.sigma = sigma
            self.choice = choice
            self.table = table
        }

        /// The probabilities in effect.
        public var probabilities: BlurProbabilities {
            table[choice] ?? MultiCropConfig.defaultBlurTable[choice]!
        }
    }

    /// DINOv2's blur probabilities, both readings.
    public static let defaultBlurTable: [BlurChoice: BlurProbabilities] = [
        .dinov2Code: BlurProbabilities(global1: 0.0, global2: 0.9, local: 0.5),
        .nominal: BlurProbabilities(global1: 1.0, global2: 0.1, local: 0.5),
    ]

    /// The two global crops (`number` must be 2: they differ in blur and solarize).
    public var global = Crops(number: 2, size: 224, scale: 0.32...1.0)
    /// The local crops.
    public var local = Crops(number: 8, size: 98, scale: 0.05...0.32)
    /// Aspect-ratio range of `RandomResizedCrop`, w/h.
    public var ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    /// `RandomHorizontalFlip(p)`.
    public var horizontalFlip = 0.5
    /// Vertical flip probability, a pathology option (DINOv2: 0).
    public var verticalFlip = 0.0
    /// Probability of a quarter, half or three-quarter turn (one of the three, equally likely), a pathology
    /// option for square crops (DINOv2: 0).
    public var rotate90 = 0.0
    /// `RandomApply([ColorJitter(0.4, 0.4, 0.2, 0.1)], p = 0.8)`.
    public var colorJitter = ColorJitter(probability: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1)
    /// `RandomGrayscale(p)`.
    public var grayscale = 0.2
    /// `GaussianBlur(9, σ ∈ [0.1, 2.0])` with the `dinov2-code` probabilities.
    public var blur = Blur(kernelSize: 9, sigma: 0.1...2.0, choice: .dinov2Code, table: MultiCropConfig.defaultBlurTable)
    /// `RandomSolarize(threshold, p)` on the second global crop only.
    /// Solarize threshold (`v ≥ t → 255 − v`).
    public var solarizeThreshold = 128
    /// Solarize probability.
    public var solarizeProbability = 0.2
    /// Pass order of the bicubic resize: the Pillow version whose bytes to reproduce (``BicubicResize/PassOrder``).
    public var resizePassOrder = BicubicResize.PassOrder.pillow13
    /// `Normalize(mean, std)` after `ToTensor` (H-optimus-0's statistics): per-channel mean (RGB).
    public var mean = [0.707223, 0.578729, 0.703617]
    /// Per-channel standard deviation (RGB).
    public var std = [0.211883, 0.230117, 0.177517]

    /// DINOv2's recipe as in distillation-spec.md §6 (blur choice `dinov2-code`).
    public init() {}

    /// Why the values cannot be used, one line per problem (empty when valid).
    public func problems() -> [String] {
        var problems: [String] = []
        func probability(_ value: Double, _ key: String) {
            if !(0...1).contains(value) { problems.append("\(key): a probability must be in [0, 1], got \(value)") }
        }
        if global.number != 2 { problems.append("global_crops.number: must be 2 (the two global views differ in blur and solarize), got \(global.number)") }
        if local.number < 0 || local.number > 250 { problems.append("local_crops.number: must be in 0 ... 250, got \(local.number)") }
        for (crops, key) in [(global, "global_crops"), (local, "local_crops")] {
            if crops.size < 1 { problems.append("\(key).size: must be ≥ 1 px, got \(crops.size)") }
            if !(crops.scale.lowerBound > 0 && crops.scale.upperBound <= 1) {
                problems.append("\(key).scale: must be within (0, 1], got [\(crops.scale.lowerBound), \(crops.scale.upperBound)]")
            }
        }
        if !(ratio.lowerBound > 0) { problems.append("ratio: must be positive, got [\(ratio.lowerBound), \(ratio.upperBound)]") }
        probability(horizontalFlip, "horizontal_flip")
        probability(verticalFlip, "vertical_flip")
        probability(rotate90, "rotate_90")
        probability(colorJitter.probability, "color_jitter.probability")
        for (value, key) in [(colorJitter.brightness, "brightness"), (colorJitter.contrast, "contrast"),
                             (colorJitter.saturation, "saturation")] where value < 0 {
            problems.append("color_jitter.\(key): must be ≥ 0, got \(value)")
        }
        if !(0...0.5).contains(colorJitter.hue) { problems.append("color_jitter.hue: must be in [0, 0.5], got \(colorJitter.hue)") }
        probability(grayscale, "grayscale")
        if blur.kernelSize < 1 || blur.kernelSize % 2 == 0 { problems.append("gaussian_blur.kernel_size: must be odd and positive, got \(blur.kernelSize)") }
        if blur.kernelSize / 2 >= local.size || blur.kernelSize / 2 >= global.size {
            problems.append("gaussian_blur.kernel_size: \(blur.kernelSize) needs crops larger than \(blur.kernelSize / 2) px")
        }
        if !(blur.sigma.lowerBound > 0) { problems.append("gaussian_blur.sigma: must be positive, got [\(blur.sigma.lowerBound), \(blur.sigma.upperBound)]") }
        for (choice, p) in blur.table {
            probability(p.global1, "gaussian_blur.probabilities.\(choice.rawValue).global_1")
            probability(p.global2, "gaussian_blur.probabilities.\(choice.rawValue).global_2")
            probability(p.local, "gaussian_blur.probabilities.\(choice.rawValue).local")
        }
        if !(0...256).contains(solarizeThreshold) { problems.append("solarize.threshold: must be in 0 ... 256, got \(solarizeThreshold)") }
        probability(solarizeProbability, "solarize.probability")
        if mean.count != 3 { problems.append("normalize.mean: needs 3 values, got \(mean.count)") }
        if std.count != 3 || !std.allSatisfy({ $0 > 0 }) { problems.append("normalize.std: needs 3 positive values, got \(std)") }
        return problems
    }
}
