/// Where one training sample came from, carried beside its tensors so that an error in a step (a NaN loss, a
/// non-finite logit) can name the samples, slides and coordinates of the batch.
public struct SampleTag: Sendable, Hashable, Codable {
    /// The sample's identity (`AugmentationKey.sampleID`, which keyed its crops' randomness).
    public var sampleID: UInt64
    /// The slide id.
    public var slideID: String
    /// Level-0 x, y of the tile's top-left corner, px.
    public var x: Int, y: Int

    public init(sampleID: UInt64, slideID: String, x: Int, y: Int) {
        self.sampleID = sampleID
        self.slideID = slideID
        self.x = x
        self.y = y
    }

    /// `slide (x, y) #id`, as error messages print it.
    public var label: String { "\(slideID) (\(x), \(y)) #\(sampleID)" }
}
