import Compute

/// The DINO (CLS-token) loss of the distillation step, over every (teacher global crop, student crop) pair with
/// different crops (distillation-spec.md §4.3; DINOv2 `DINOLoss.forward` as combined in
/// `SSLMetaArch.forward_backward`):
///
///     L_local  = Σ_{l<Nl} Σ_{g<Ng} CE(P_g, S_local_l) / terms
///     L_global = Σ_{c<Ng} Σ_{g≠c} CE(P_g, S_global_c) / terms          terms = Ng·Nl + Ng·(Ng − 1)  (18 for 2 + 8)
///     CE(P, S) = −(1/B) Σ_b Σ_k P[b,k] · log_softmax(S[b]/τ_s)[k]
///
/// Tensors are crop-major (row `c·B + b` is crop c of image b, DINOv2's collate order). The teacher
/// probabilities are given in their own crop order — not swapped: DINOv2 swaps the teacher's two global CLS
/// tokens before its head so that a plain row-by-row pairing meets different crops; pairing crop c with every
/// g ≠ c here is the same sum for Ng = 2 and needs no swap. Gradients follow §4.10: for a student row paired
/// with teachers G, `∂L/∂S[b] = Σ_{g∈G} (softmax(S[b]/τ_s) − P_g[b]) / (τ_s·B·terms)`.
///
/// Rows are processed in chunks of `chunkRows` (any chunk size gives the same values to float rounding).
public struct DINOLoss: Sendable, Equatable {
    /// Images per step B.
    public let batch: Int
    /// Global crops Ng (2) and local crops Nl (8).
    public let globalCrops: Int, localCrops: Int
    /// Prototypes K.
    public let prototypes: Int
    /// Student temperature τ_s (0.1).
    public let studentTemperature: Float
    /// Rows per chunk.
    public let chunkRows: Int

    /// The two parts of the loss (DINOv2 logs them as `dino_local_crops_loss` and `dino_global_crops_loss`).
    public struct Value: Sendable, Equatable {
        /// `L_local`: local crops against the teacher's global crops.
        public var local: Double
        /// `L_global`: global crops against the other global crops.
        public var global: Double
        /// `L_local + L_global`.
        public var total: Double { local + global }
    }

    /// - Throws: `TrainingError.invalidConfiguration` for empty sizes, no pair, or τ_s ≤ 0.
    public init(batch: Int, globalCrops: Int = 2, localCrops: Int = 8, prototypes: Int,
                studentTemperature: Float = 0.1, chunkRows: Int = 256) throws(TrainingError) {
        guard batch > 0, globalCrops > 0, localCrops >= 0, prototypes > 0, chunkRows > 0 else {
            throw .invalidConfiguration("DINO loss needs positive batch, crops, prototypes and chunk rows")
        }
        guard globalCrops * localCrops + globalCrops * (globalCrops - 1) > 0 else {
            throw .invalidConfiguration("DINO loss with \(globalCrops) global and \(localCrops) local crops has no (teacher, student) pair of different crops")
        }
        guard studentTemperature > 0 else { throw .invalidConfiguration("student temperature \(studentTemperature) ≤ 0") }
        self.batch = batch
        self.globalCrops = globalCrops
        self.localCrops = localCrops
        self.prototypes = prototypes
        self.studentTemperature = studentTemperature
        self.chunkRows = chunkRows
    }

    /// Number of (teacher, student) crop pairs: `Ng·Nl + Ng·(Ng − 1)`.
    public var terms: Int { globalCrops * localCrops + globalCrops * (globalCrops - 1) }

    /// The loss and its gradients with respect to the student logits.
    /// - Parameters:
    ///   - teacherProbabilities: `[Ng·B, K]`, teacher crop g at rows `g·B ..< (g+1)·B` (from `SoftmaxCentering`
    ///     or `SinkhornKnopp`).
    ///   - studentGlobal: `[Ng·B, K]` student DINO-head logits of the global crops; `globalGradient` the same shape.
    ///   - studentLocal: `[Nl·B, K]` logits of the local crops; `localGradient` the same shape (both unused when Nl = 0).
    /// - Throws: `TrainingError.shapeMismatch` for wrong element counts; `.nonFiniteLogit` naming crop and row.
    public func lossAndGradients(teacherProbabilities: Tensor, studentGlobal: Tensor, globalGradient: Tensor,
                                 studentLocal: Tensor?, localGradient: Tensor?,
                                 backend: any Backend) throws(TrainingError) -> Value {
        let globalShape = [globalCrops * batch, prototypes], localShape = [localCrops * batch, prototypes]
        try InputChecks.shape("teacher DINO probabilities", teacherProbabilities, globalShape)
        try InputChecks.shape("student DINO global logits", studentGlobal, globalShape)
        try InputChecks.shape("student DINO global gradient", globalGradient, globalShape)
        let weight = Float(1 / Double(batch * terms))
        var local = 0.0
        if localCrops > 0 {
            guard let studentLocal, let localGradient else {
                throw .shapeMismatch(what: "student DINO local logits", expected: localShape, actual: [])
            }
            try InputChecks.shape("student DINO local logits", studentLocal, localShape)
            try InputChecks.shape("student DINO local gradient", localGradient, localShape)
            for crop in 0..<localCrops {
                local += try pairs(student: studentLocal, crop: crop, teacherCrops: Array(0..<globalCrops),
                                   teachers: teacherProbabilities, gradient: localGradient, weight: weight,
                                   backend: backend, name: "student DINO local crop \(crop)")
            }
        }
        var global = 0.0
        for crop in 0..<globalCrops {
            global += try pairs(student: studentGlobal, crop: crop,
                                teacherCrops: (0..<globalCrops).filter { $0 != crop },
                                teachers: teacherProbabilities, gradient: globalGradient, weight: weight,
                                backend: backend, name: "student DINO global crop \(crop)")
        }
        return Value(local: local * Double(weight), global: global * Double(weight))
    }

    /// Σ over the crop's rows of its cross-entropies with the teacher crops, in chunks.
    private func pairs(student: Tensor, crop: Int, teacherCrops: [Int], teachers: Tensor, gradient: Tensor,
                       weight: Float, backend: any Backend, name: String) throws(TrainingError) -> Double {
        var sum = 0.0
        var start = 0
        while start < batch {
            let n = min(chunkRows, batch - start)
            let offset = (crop * batch + start) * prototypes
            let chunkTeachers = teacherCrops.map {
                teachers.view(offset: ($0 * batch + start) * prototypes, shape: [n, prototypes])
            }
            sum += try SoftmaxCrossEntropy.accumulate(
                student: student.view(offset: offset, shape: [n, prototypes]), teachers: chunkTeachers,
                gradient: gradient.view(offset: offset, shape: [n, prototypes]), rows: n, prototypes: prototypes,
                temperature: studentTemperature, weight: weight, backend: backend, name: name, firstRow: start)
            start += n
        }
        return sum
    }
}
