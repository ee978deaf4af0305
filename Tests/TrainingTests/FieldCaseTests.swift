import Compute
import Foundation
import Testing
import Training

/// Field cases of field-bug-cases.md's N series that concern the objective: N2 (batch size 1), N3 (collapse:
/// a uniform teacher and student give exactly ln K), N5 (overflow: float32 softmax/log-softmax with the
/// maximum subtracted stay finite on extreme logits; Sinkhorn beyond exp's range), and NaN/∞ logits reported
/// with the tensor and row named. (N1 and N2's KoLeo parts do not apply: H0-mini has no KoLeo term.)
@Suite struct FieldCaseTests {
    let backend = CPUBackend(threads: 1)

    /// A seeded generator of uniform floats in [−scale, scale).
    struct Noise {
        var state: UInt64
        mutating func next(_ scale: Float) -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        mutating func tensor(_ shape: [Int], _ scale: Float) -> Tensor {
            Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in next(scale) })
        }
    }

    func dinoLoss(batch: Int, teacher: Tensor, global: Tensor, local: Tensor, k: Int) throws -> DINOLoss.Value {
        let loss = try DINOLoss(batch: batch, globalCrops: 2, localCrops: 2, prototypes: k)
        return try loss.lossAndGradients(teacherProbabilities: teacher, studentGlobal: global,
                                         globalGradient: Tensor(shape: global.shape), studentLocal: local,
                                         localGradient: Tensor(shape: local.shape), backend: backend)
    }

    /// N3: constant logits everywhere → uniform teacher and student → every cross-entropy is ln K.
    @Test func uniformTeacherAndStudentGiveLnK() throws {
        let k = 4096, batch = 2
        var centering = SoftmaxCentering(prototypes: k)
        centering.beginStep()
        let probabilities = Tensor(shape: [2 * batch, k])
        try centering.teacherProbabilities(teacherLogits: Tensor(shape: [2 * batch, k], values: .init(repeating: 0.3, count: 2 * batch * k)),
                                           rows: 2 * batch, temperature: 0.04, output: probabilities, backend: backend)
        let constant = { (rows: Int) in Tensor(shape: [rows, k], values: .init(repeating: -1.7, count: rows * k)) }
        let value = try dinoLoss(batch: batch, teacher: probabilities, global: constant(2 * batch), local: constant(2 * batch), k: k)
        #expect(abs(value.total - log(Double(k))) <= 1e-6 * log(Double(k)), "DINO \(value.total) vs ln K \(log(Double(k)))")
        #expect(abs(log(Double(k)) - 8.317_766) < 1e-6)   // the 8.317765 of dinov2#407
        let ibot = try IBOTPatchLoss(rows: 8, prototypes: k)
        let uniform = Tensor(shape: [8, k], values: .init(repeating: 1 / Float(k), count: 8 * k))
        let ibotValue = try ibot.lossAndGradient(studentLogits: constant(8), teacherProbabilities: uniform,
                                                 gradient: Tensor(shape: [8, k]), backend: backend)
        #expect(abs(ibotValue - log(Double(k))) <= 1e-6 * log(Double(k)))
    }

    /// N5: logits of ±1e4 (S/τ = ±1e5, far beyond float32 exp's range) give a finite loss and gradient, equal
    /// to the closed form: a one-hot-like student against a teacher that puts its mass elsewhere.
    @Test func extremeLogitsStayFinite() throws {
        let k = 64, batch = 1
        var noise = Noise(state: 5)
        let student = noise.tensor([2 * batch, k], 1e4)
        let teacherLogits = noise.tensor([2 * batch, k], 1e3)
        var centering = SoftmaxCentering(prototypes: k)
        let probabilities = Tensor(shape: [2 * batch, k])
        try centering.teacherProbabilities(teacherLogits: teacherLogits, rows: 2 * batch, temperature: 0.04,
                                           output: probabilities, backend: backend)
        #expect(probabilities.scalars().allSatisfy { $0.isFinite })
        let loss = try DINOLoss(batch: batch, globalCrops: 2, localCrops: 0, prototypes: k)
        let gradient = Tensor(shape: [2 * batch, k])
        let value = try loss.lossAndGradients(teacherProbabilities: probabilities, studentGlobal: student,
                                              globalGradient: gradient, studentLocal: nil, localGradient: nil, backend: backend)
        #expect(value.total.isFinite && value.total > 0)
        #expect(gradient.scalars().allSatisfy { $0.isFinite })
        // Closed form in Double: CE = Σ P·(lse − z) with lse = max z (the other terms vanish at this scale).
        let s = student.scalars(), p = probabilities.scalars()
        var expected = 0.0
        for crop in 0..<2 {
            let studentRow = s[(crop * k)..<((crop + 1) * k)].map { Double($0) / 0.1 }
            let teacherRow = p[((1 - crop) * k)..<((2 - crop) * k)].map(Double.init)
            let maximum = studentRow.max()!
            let lse = maximum + log(studentRow.map { exp($0 - maximum) }.reduce(0, +))
            expected += zip(teacherRow, studentRow).map { $0 * (lse - $1) }.reduce(0, +)
        }
        expected /= Double(batch * loss.terms)
        #expect(ObjectiveFixtures.relativeError(value.total, expected) <= 1e-5, "\(value.total) vs \(expected)")
    }

    /// N5 for Sinkhorn: T/τ up to 250 overflows PyTorch's float32 exp; the log-domain form stays finite and
    /// every sample row sums to 1.
    @Test func sinkhornBeyondExpRange() throws {
        let rows = 6, k = 32
        var noise = Noise(state: 11)
        let logits = noise.tensor([rows, k], 10)
        let output = Tensor(shape: [rows, k])
        try SinkhornKnopp().probabilities(teacherLogits: logits, rows: rows, prototypes: k, temperature: 0.04, output: output)
        let p = output.scalars()
        #expect(p.allSatisfy { $0.isFinite })
        for row in 0..<rows {
            #expect(abs(p[(row * k)..<((row + 1) * k)].reduce(0, +) - 1) <= 1e-5)
        }
        // Any thread count (rows and prototypes split 3 ways), and in place, gives the same bits.
        let large = noise.tensor([64, 512], 10)
        let single = Tensor(shape: [64, 512]), threaded = Tensor(shape: [64, 512])
        try SinkhornKnopp().probabilities(teacherLogits: large, rows: 64, prototypes: 512, temperature: 0.04, output: single)
        try SinkhornKnopp().probabilities(teacherLogits: large, rows: 64, prototypes: 512, temperature: 0.04,
                                          output: threaded, threads: 3)
        #expect(threaded.scalars() == single.scalars())
        try SinkhornKnopp().probabilities(teacherLogits: large, rows: 64, prototypes: 512, temperature: 0.04, output: large)
        #expect(large.scalars() == single.scalars())
    }

    /// N2: batch size 1 is valid (no batch statistic but the centre) — the B = 2 loss is the mean of the two
    /// single-image losses, gradients included.
    @Test func batchOfOneMatchesTheBatchOfTwo() throws {
        let k = 128
        var noise = Noise(state: 3)
        let teacher = noise.tensor([4, k], 1), global = noise.tensor([4, k], 3), local = noise.tensor([4, k], 3)
        let softmaxTeacher = Tensor(shape: [4, k])
        backend.softmax(input: teacher, output: softmaxTeacher, rows: 4, columns: k, scale: 1)
        let pair = try dinoLoss(batch: 2, teacher: softmaxTeacher, global: global, local: local, k: k)
        var singles = 0.0
        for image in 0..<2 {
            // Rows of image b in crop-major layout: crop c at row c·2 + b.
            let pick = { (tensor: Tensor) in
                Tensor(shape: [2, k], values: (0..<2).flatMap { crop in tensor.scalars()[((crop * 2 + image) * k)..<((crop * 2 + image + 1) * k)] })
            }
            singles += try dinoLoss(batch: 1, teacher: pick(softmaxTeacher), global: pick(global), local: pick(local), k: k).total
        }
        #expect(ObjectiveFixtures.relativeError(pair.total, singles / 2) <= 1e-6)
    }

    /// A NaN or ∞ logit stops the step with the tensor, row and prototype named.
    @Test func nonFiniteLogitsAreReportedWithTheirRow() throws {
        let k = 16
        var noise = Noise(state: 9)
        let local = noise.tensor([4, k], 1)
        local.floats[3 * k + 5] = .nan   // local crop 1 (rows 2–3 with B = 2), image 1
        let teacher = Tensor(shape: [4, k], values: .init(repeating: 1 / Float(k), count: 4 * k))
        do {
            _ = try dinoLoss(batch: 2, teacher: teacher, global: noise.tensor([4, k], 1), local: local, k: k)
            Issue.record("a NaN logit was accepted")
        } catch let TrainingError.nonFiniteLogit(what, row, column, value) {
            #expect(what == "student DINO local crop 1" && row == 1 && column == 5 && value.isNaN)
        }
        let teacherLogits = noise.tensor([10, k], 1)
        teacherLogits.floats[7 * k] = .infinity
        var centering = SoftmaxCentering(prototypes: k)
        let ibot = try IBOTPatchLoss(rows: 10, prototypes: k, chunkRows: 4)
        #expect(throws: TrainingError.nonFiniteLogit(what: "teacher iBOT logits", row: 7, column: 0, value: .infinity)) {
            _ = try ibot.lossAndGradient(studentLogits: noise.tensor([10, k], 1), teacherLogits: teacherLogits,
                                         centering: &centering, teacherTemperature: 0.04,
                                         gradient: Tensor(shape: [10, k]), backend: backend)
        }
        #expect(TrainingError.nonFiniteLogit(what: "teacher iBOT logits", row: 7, column: 0, value: .infinity).description
                == "teacher iBOT logits: non-finite logit inf at row 7, prototype 0")
    }
}

/// N3's monitor side: `CollapseDetector` on teacher probabilities.
@Suite struct CollapseDetectorTests {
    let backend = CPUBackend(threads: 1)

    @Test func constantTeacherLogitsAreAUniformCollapse() throws {
        let k = 4096, rows = 8
        var centering = SoftmaxCentering(prototypes: k)
        let probabilities = Tensor(shape: [rows, k])
        try centering.teacherProbabilities(teacherLogits: Tensor(shape: [rows, k], values: .init(repeating: 2.5, count: rows * k)),
                                           rows: rows, temperature: 0.04, output: probabilities, backend: backend)
        guard case .uniform(let entropy)? = CollapseDetector().check(probabilities: probabilities, rows: rows, prototypes: k) else {
            Issue.record("constant logits not reported as a uniform collapse")
            return
        }
        #expect(abs(entropy - log(Double(k))) <= 1e-5)
    }

    @Test func identicalOneHotOutputsAreADominantCollapse() {
        let k = 64, rows = 10
        var values = [Float](repeating: 0, count: rows * k)
        for row in 0..<rows { values[row * k + 17] = 1 }
        let collapse = CollapseDetector().check(probabilities: Tensor(shape: [rows, k], values: values), rows: rows, prototypes: k)
        #expect(collapse == .dominant(prototype: 17, share: 1, meanEntropy: 0))
    }

    @Test func healthyRandomLogitsRaiseNoAlert() {
        let k = 1024, rows = 32
        var noise = FieldCaseTests.Noise(state: 21)
        let logits = noise.tensor([rows, k], 4)
        let probabilities = Tensor(shape: [rows, k])
        backend.softmax(input: logits, output: probabilities, rows: rows, columns: k, scale: 1 / 0.1)
        #expect(CollapseDetector().check(probabilities: probabilities, rows: rows, prototypes: k) == nil)
    }
}
