/// Why a tissue detector refused a thumbnail. Zero tissue is never an error (field case T4).
public enum TissueDetectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The thumbnail has no pixels.
    case emptyThumbnail(width: Int, height: Int)
    /// The background is dark (median brightness `medianValue` of 0…255 ≤ `limit`): most likely a fluorescence
    /// slide, on which brightfield saturation thresholding would call nothing or everything tissue. Thrown by
    /// `SaturationOtsuDetector` under `DarkBackgroundPolicy.reject` (its default).
    case darkBackground(medianValue: Int, limit: Int)

    /// One line saying what happened and what to do.
    public var description: String {
        switch self {
        case .emptyThumbnail(let width, let height):
            "the thumbnail is empty (\(width)×\(height) px): nothing to detect tissue on"
        case .darkBackground(let median, let limit):
            "dark background (median brightness \(median)/255 ≤ \(limit)): this looks like a fluorescence slide; "
                + "brightfield tissue detection does not apply. Skip it, or choose the dark-background policy "
                + "'brightObjects' to take bright regions as tissue"
        }
    }
}
