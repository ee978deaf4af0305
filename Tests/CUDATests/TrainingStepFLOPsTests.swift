import Models
import TestSupport
import Testing
import Training
@testable import CUDA

/// The FLOP count behind the training benchmark's MFU, against sums written out by hand for the paper's models.
@Suite struct TrainingStepFLOPsTests {
    static let root = PackageRoot.url

    @Test func vitForwardOfH0MiniAt224() throws {
        let config = try ViTConfig.load(path: Self.root.appendingPathComponent("configs/models/h0-mini.yaml").path)
        // ViT-B/14, 256 patches + 5 prefix tokens, packed SwiGLU 768 → 2·2048 → 2048 → 768.
        let l = 261.0, d = 768.0
        let linear: Double = 2 * l * (3 * d * d + d * d + d * 4096 + 2048 * d)
        let attention: Double = 4 * l * l * d
        let patch: Double = 2 * 256 * 588 * d
        let perImage = patch + 12 * (linear + attention)
        #expect(TrainingStepFLOPs.vitForward(config, images: 1, size: 224) == perImage)
        #expect(TrainingStepFLOPs.vitForward(config, images: 64, size: 224) == 64 * perImage)
    }

    @Test func headForwardCountsTheMLPAndTheLogits() {
        let head = HeadConfig.ibot(inFeatures: 768, prototypes: 131_072)
        let mlp: Double = 768 * 2048 + 2048 * 2048 + 2048 * 256
        let logits: Double = 256 * 131_072
        let perRow = 2 * (mlp + logits)
        #expect(TrainingStepFLOPs.headForward(head, rows: 10) == 10 * perRow)
    }

    @Test func stepIsTeacherForwardPlusThreeStudentPasses() throws {
        let student = try ViTConfig.load(path: Self.root.appendingPathComponent("configs/models/h0-mini.yaml").path)
        let teacher = try ViTConfig.load(path: Self.root.appendingPathComponent("configs/models/h-optimus-0.yaml").path)
        let layout = StudentLayout.dinov2(backbone: student)
        var settings = DistillationTrainer.Settings(batch: 32, schedules: .init(epochs: 1, batchSize: 32))
        settings.localCrops = 8
        let tDINO = HeadConfig.dino(inFeatures: 1536), tIBOT = HeadConfig.ibot(inFeatures: 1536)
        let teacherSide: Double = TrainingStepFLOPs.vitForward(teacher, images: 64, size: 224) + TrainingStepFLOPs.headForward(tDINO, rows: 64)
            + TrainingStepFLOPs.headForward(tIBOT, rows: 64 * 256)
        let studentViT: Double = TrainingStepFLOPs.vitForward(student, images: 64, size: 224)
            + TrainingStepFLOPs.vitForward(student, images: 256, size: 98)
        let studentHeads: Double = TrainingStepFLOPs.headForward(.dino(inFeatures: 768), rows: 320)
            + TrainingStepFLOPs.headForward(.ibot(inFeatures: 768), rows: 64 * 256)
        let expected = teacherSide + 3 * (studentViT + studentHeads)
        let flops = TrainingStepFLOPs.step(teacher: teacher, teacherDINO: tDINO, teacherIBOT: tIBOT, student: layout, settings: settings)
        #expect(flops == expected)
        // The paper's step is 60.5 TFLOP: the ViT-g/14 teacher's forward 37.8, its heads 2.5, the student 3 × 6.7.
        #expect(abs(flops - 60.525_661_913_088e12) < 1e6, "\(flops / 1e12) TFLOP")
    }
}
