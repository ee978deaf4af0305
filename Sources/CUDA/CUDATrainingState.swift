import Compute
import Training

/// The device-resident state of a distillation run (docs/cuda.md "The step on the device"): the student's
/// parameters as one flat f32 master buffer in `StudentLayout` order plus its bf16 mirror (the GEMMs' weights, at
/// the same offsets; written by `adamw_step`), the f32 gradient buffer, AdamW's `m` and `v`, the spare EMA of the
/// backbone, and the DINO and iBOT centres (f32 `[K]`) with their pending column sums (f64 `[K]`, held as raw words
/// in f32 tensors of `2K`) and pending row counts. `upload`/`download` convert from and to the CPU types
/// (`TrainState`: `AdamW`, `SoftmaxCentering`, `StudentEMA`) so a checkpoint can be written and compared.
final class CUDATrainingState: @unchecked Sendable {
    let backend: CUDABackend
    let count: Int
    let backboneCount: Int
    let prototypes: Int
    let momentum: Double
    let master: Tensor
    let mirror: Tensor
    let gradients: Tensor
    let m: Tensor
    let v: Tensor
    let ema: Tensor
    /// Centres `[K]` f32 and pending sums `[K]` f64 (as `[2K]` words); DINO at 0, iBOT at 1.
    let centers: [Tensor]
    let pending: [Tensor]
    var pendingRows = [0, 0]
    /// Copies of the centres and pending sums taken before a step, restored when it fails.
    private let savedCenters: [Tensor]
    private let savedPending: [Tensor]
    private var savedPendingRows = [0, 0]
    /// AdamW steps taken and EMA updates applied.
    var adamSteps = 0
    var emaUpdates = 0

    init(backend: CUDABackend, count: Int, backboneCount: Int, prototypes: Int, momentum: Double) throws(CUDAError) {
        self.backend = backend
        self.count = count
        self.backboneCount = backboneCount
        self.prototypes = prototypes
        self.momentum = momentum
        func make(_ count: Int, _ dtype: DType = .f32) throws(CUDAError) -> Tensor { try backend.makeTensor(shape: [count], dtype: dtype) }
        master = try make(count)
        mirror = try make(count, .bf16)
        gradients = try make(count)
        m = try make(count)
        v = try make(count)
        ema = try make(backboneCount)
        centers = [try make(prototypes), try make(prototypes)]
        pending = [try make(2 * prototypes), try make(2 * prototypes)]
        savedCenters = [try make(prototypes), try make(prototypes)]
        savedPending = [try make(2 * prototypes), try make(2 * prototypes)]
        for tensor in [m, v] + centers + pending { try backend.fillWords(tensor, 0) }
    }

    /// Uploads `state` (the student, the moments and step, the centres; the EMA when given, else the student's
    /// backbone) and writes the bf16 mirror.
    /// - Throws: `CUDAError.unsupported` for a state of another size or without centres; device errors.
    func upload(_ state: TrainState) throws(CUDAError) {
        guard state.student.count == count, state.optimizer.m.count == count else {
            throw .unsupported("train state of \(state.student.count) parameters for a student of \(count)")
        }
        guard let dino = state.dinoCentering, let ibot = state.ibotCentering, dino.prototypes == prototypes,
              ibot.prototypes == prototypes else {
            throw .unsupported("train state without DINO and iBOT centres of K = \(prototypes)")
        }
        try put(state.student, master)
        try put(state.optimizer.m, m)
        try put(state.optimizer.v, v)
        try put(state.ema?.parameters ?? Array(state.student[0..<backboneCount]), ema)
        for (index, centering) in [dino, ibot].enumerated() {
            try put(centering.center, centers[index])
            try centering.pendingSum.withUnsafeBytes { bytes in
                Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: pending[index]) }
            }.get()
            pendingRows[index] = centering.pendingRows
        }
        adamSteps = state.optimizer.step
        emaUpdates = state.ema?.updates ?? state.iteration
        try backend.launch("convert_f32_to_bf16", .elementwise(count: count),
                           [.pointer(master.address), .pointer(mirror.address), .long(count)])
    }

    /// The state as the CPU types (waits for the stream): student, AdamW, both centres, the EMA.
    func download(iteration: Int, samplesConsumed: Int, epoch: Int, seed: UInt64) throws(CUDAError) -> TrainState {
        let student = try backend.downloadFloats(master)
        let optimizer = AdamW(count: count, m: try backend.downloadFloats(m), v: try backend.downloadFloats(v), step: adamSteps)
        var centerings: [SoftmaxCentering] = []
        for index in 0..<2 {
            let sums = try backend.downloadBytes(pending[index]).withUnsafeBytes { raw in
                (0..<prototypes).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) }
            }
            centerings.append(SoftmaxCentering(prototypes: prototypes, momentum: momentum, center: try backend.downloadFloats(centers[index]),
                                               pendingSum: sums, pendingRows: pendingRows[index]))
        }
        return TrainState(iteration: iteration, student: student, ema: StudentEMA(parameters: try backend.downloadFloats(ema), updates: emaUpdates),
                          optimizer: optimizer, dinoCentering: centerings[0], ibotCentering: centerings[1],
                          samplesConsumed: samplesConsumed, epoch: epoch, seed: seed)
    }

    /// Keeps copies of the centres and pending sums (before a step's `center_update`).
    func saveCenters() throws(CUDAError) {
        for index in 0..<2 {
            try backend.copy(from: centers[index], to: savedCenters[index])
            try backend.copy(from: pending[index], to: savedPending[index])
        }
        savedPendingRows = pendingRows
    }

    /// Puts back the copies of `saveCenters` (a step that failed changes nothing).
    func restoreCenters() throws(CUDAError) {
        for index in 0..<2 {
            try backend.copy(from: savedCenters[index], to: centers[index])
            try backend.copy(from: savedPending[index], to: pending[index])
        }
        pendingRows = savedPendingRows
    }

    private func put(_ values: [Float], _ tensor: Tensor) throws(CUDAError) {
        try values.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor) } }.get()
    }
}
