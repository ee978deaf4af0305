import ImageOps

/// Finds tissue on a slide thumbnail. This protocol is what a tiling stage takes, so detectors are pluggable:
/// `SaturationOtsuDetector` (the default), `WholeImageTissueDetector` (everything is tissue: the fallback of
/// field case T4 for images without background), or a user's own.
///
/// Contract:
/// - The thumbnail is read within a memory budget by the caller (never a whole level, field cases R8, M3);
///   the detector only sees the `RGBImage` and its `ThumbnailFrame`.
/// - The returned mask has the thumbnail's size and frame.
/// - Zero tissue is a valid result (field case T4): an all-background mask with status `.noTissue`, never an
///   error and never a hang.
/// - A detector that cannot judge the image (e.g. a brightfield detector on a fluorescence slide) throws a
///   `TissueDetectionError` saying why rather than guessing.
public protocol TissueDetector: Sendable {
    /// A short name for reports and QC output, e.g. `"saturation-otsu"`.
    var name: String { get }

    /// Detects tissue on `thumbnail`.
    /// - Parameters:
    ///   - thumbnail: the slide (or its bounds) at low resolution, `[H, W, 3]` RGB8.
    ///   - frame: where the thumbnail lies in level 0 (level-0 px per thumbnail px, per axis; origin).
    /// - Returns: the mask (thumbnail resolution) and what the detector decided.
    /// - Throws: `TissueDetectionError`.
    func detect(in thumbnail: RGBImage, frame: ThumbnailFrame) throws -> TissueDetection
}
