/// Every random choice of one crop of the DINOv2 multi-crop, drawn by ``MultiCrop/parameters(width:height:key:)``
/// and applied by ``MultiCrop/render(_:_:workspace:)`` in this order: crop `box` and bicubic resize to `size`,
/// horizontal flip, vertical flip, rotation, colour jitter, grayscale, Gaussian blur, solarize
/// (distillation-spec.md §6.1).
public struct CropParameters: Sendable, Equatable, Codable {
    /// The region of the tile (`RandomResizedCrop.get_params`).
    public var box: CropBox
    /// Side after the resize, px.
    public var size: Int
    /// `RandomHorizontalFlip` applied.
    public var horizontalFlip: Bool
    /// Pathology option (DINOv2: never).
    public var verticalFlip: Bool
    /// A quarter, half or three-quarter turn (`rotate90`, `rotate180`, `rotate270`), or nil (DINOv2: nil).
    public var rotation: Transpose?
    /// The jitter draw when `RandomApply` applied it, else nil.
    public var colorJitter: ColorJitterParameters?
    /// `RandomGrayscale` applied.
    public var grayscale: Bool
    /// σ of the blur when it applies, else nil.
    public var blurSigma: Float?
    /// `RandomSolarize` applied (second global crop only).
    public var solarize: Bool

    /// A crop of `box` resized to `size`, with the given choices (none by default).
    public init(box: CropBox, size: Int, horizontalFlip: Bool = false, verticalFlip: Bool = false, rotation: Transpose? = nil,
                colorJitter: ColorJitterParameters? = nil, grayscale: Bool = false, blurSigma: Float? = nil,
                solarize: Bool = false) {
        self.box = box
        self.size = size
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.rotation = rotation
        self.colorJitter = colorJitter
        self.grayscale = grayscale
        self.blurSigma = blurSigma
        self.solarize = solarize
    }
}
