/// Which teacher rows each student crop's cross-entropy uses, and its weight (`DINOLoss`, `IBOTPatchLoss`;
/// docs/objective.md "Batch layout"): crop-major rows `c·B + b`. DINO pairs student global crop `c` with every
/// teacher crop `g ≠ c` and each local crop with every teacher crop; all `terms = Ng·Nl + Ng·(Ng − 1)` pairs are
/// averaged, each a batch mean, so every student row has weight `1/(B·terms)`. iBOT pairs patch rows one to one,
/// weight `1/rows`. `cross_entropy_rows` takes the teacher crops of a student chunk as device pointers
/// `teacherProbabilities + (g·B + b₀)·K`.
public struct CrossEntropyPairing: Sendable, Equatable {
    public let globalCrops: Int
    public let localCrops: Int
    public let batch: Int

    /// - Precondition: `globalCrops ≥ 2` (a global crop needs another teacher crop), `localCrops ≥ 0`, `batch > 0`.
    public init(globalCrops: Int, localCrops: Int, batch: Int) {
        precondition(globalCrops >= 2 && localCrops >= 0 && batch > 0, "crops \(globalCrops) + \(localCrops), batch \(batch)")
        self.globalCrops = globalCrops
        self.localCrops = localCrops
        self.batch = batch
    }

    /// DINO's pair count, `Ng·Nl + Ng·(Ng − 1)` (18 for 2 + 8).
    public var terms: Int { globalCrops * localCrops + globalCrops * (globalCrops - 1) }

    /// The weight of one student row's cross-entropy in the DINO loss, `1/(B·terms)`, as `DINOLoss` forms it.
    public var dinoRowWeight: Float { Float(1 / Double(batch * terms)) }

    /// Teacher crops paired with student global crop `crop` (every other global crop).
    public func teacherCrops(global crop: Int) -> [Int] {
        precondition((0..<globalCrops).contains(crop), "global crop \(crop) of \(globalCrops)")
        return (0..<globalCrops).filter { $0 != crop }
    }

    /// Teacher crops paired with a local crop: all global crops.
    public var teacherCropsOfLocal: [Int] { Array(0..<globalCrops) }

    /// The element offset of the teacher rows for crop `crop`, image `image`, in the `[Ng·B, K]` teacher
    /// probabilities.
    public func teacherOffset(crop: Int, image: Int, prototypes: Int) -> Int {
        (crop * batch + image) * prototypes
    }
}
