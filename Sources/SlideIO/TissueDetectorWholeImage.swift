import ImageOps

/// A detector that calls every pixel tissue: the explicit "whole image is tissue" fallback of field case T4,
/// for images without glass (microscopy fields, TMA cores cut to the core, pre-cropped regions) where
/// background cannot be estimated. Tile tissue fractions are then 1 inside the thumbnail.
public struct WholeImageTissueDetector: TissueDetector {
    public let name = "whole-image"

    /// The fallback detector.
    public init() {}

    public func detect(in thumbnail: RGBImage, frame: ThumbnailFrame) throws -> TissueDetection {
        guard thumbnail.width > 0, thumbnail.height > 0 else {
            throw TissueDetectionError.emptyThumbnail(width: thumbnail.width, height: thumbnail.height)
        }
        let mask = TissueMask(width: thumbnail.width, height: thumbnail.height, filled: true, frame: frame)
        return TissueDetection(mask: mask, background: .bright, method: name)
    }
}
