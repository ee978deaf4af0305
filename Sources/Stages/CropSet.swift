import Dataflow
import ImageOps

/// What `multi-crop` emits for one tile: the DINOv2 crops of the tile, normalised, ready for the teacher and the
/// student, with where they came from. Planar float32 (`ToTensor` + `Normalize` layout), crop-major, flat.
public struct CropSet: ByteSized, Equatable {
    /// The sample's identity, which keyed its randomness (``AugmentationKey/sampleID(slideID:x:y:)``).
    public let sampleID: UInt64
    /// The slide id (`TileSample.slideID`).
    public let slideID: String
    /// Level-0 x of the tile's left edge.
    public let x: Int
    /// Level-0 y of the tile's top edge.
    public let y: Int
    /// The tile's resolution, µm/px.
    public let mpp: Double
    /// The epoch whose randomness made the crops.
    public let epoch: Int
    /// `[2, 3, S, S]` (S = 224), flat.
    public let global: [Float]
    public let globalShape: [Int]
    /// `[N, 3, s, s]` (N = 8, s = 98), flat.
    public let local: [Float]
    public let localShape: [Int]

    public init(sampleID: UInt64, slideID: String, x: Int, y: Int, mpp: Double, epoch: Int, global: [Float], globalShape: [Int],
                local: [Float], localShape: [Int]) {
        precondition(global.count == globalShape.reduce(1, *) && local.count == localShape.reduce(1, *),
                     "crop tensors do not match their shapes \(globalShape), \(localShape)")
        self.sampleID = sampleID
        self.slideID = slideID
        self.x = x
        self.y = y
        self.mpp = mpp
        self.epoch = epoch
        self.global = global
        self.globalShape = globalShape
        self.local = local
        self.localShape = localShape
    }

    /// Bytes of float storage (2·3·224² + 8·3·98² floats = 1,354,752 bytes with DINOv2's sizes).
    public var byteCount: Int { (global.count + local.count) * MemoryLayout<Float>.size }
}
