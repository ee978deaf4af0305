import Models
import Training

/// The model FLOPs of one distillation step (docs/cuda.md "Benchmark"), for the model FLOPs utilisation of
/// `distill bench train --device cuda`: matmul FLOPs only (a multiply-add is 2 FLOPs), the backward counted as
/// twice the forward (the usual MFU convention; the patch embedding's skipped input gradient is not subtracted),
/// element-wise work not counted.
///
///     ViT forward, n images of L = 1 + R + N tokens:  2·n·N·3p²·D + depth·(2·n·L·(3D² + D² + D·F + F′·D) + 4·n·L²·D)
///     head forward, r rows:                           2·r·(Σ_layers in·out + bottleneck·K)
///     step = teacher ViT(Ng·B global) + teacher heads (Ng·B CLS, Ng·B·Np patch rows)
///          + 3·(student ViT(Ng·B global) + student ViT(Nl·B local) + dino_head((Ng + Nl)·B) + ibot_head(Ng·B·Np))
///
/// (F = `mlp.fc1` outputs, F′ = `mlp.fc2` inputs: 2 × 2048 and 2048 for H0-mini's packed SwiGLU.)
public enum TrainingStepFLOPs {
    /// Matmul FLOPs of one ViT forward on `images` crops of `size` px.
    public static func vitForward(_ config: ViTConfig, images: Int, size: Int) -> Double {
        let n = Double(images), d = Double(config.embedDim), patches = Double((size / config.patchSize) * (size / config.patchSize))
        let length = patches + Double(config.prefixTokens)
        let patch = 2 * n * patches * Double(3 * config.patchSize * config.patchSize) * d
        let linear = 2 * n * length * (3 * d * d + d * d + d * Double(config.mlpHiddenFeatures) + Double(config.mlpOutputInFeatures) * d)
        let attention = 4 * n * length * length * d
        return patch + Double(config.depth) * (linear + attention)
    }

    /// Matmul FLOPs of a head's forward on `rows` rows (MLP and logits).
    public static func headForward(_ config: HeadConfig, rows: Int) -> Double {
        let mlp = (0..<config.layers).reduce(0.0) { sum, i in
            let (input, output) = config.mlpLayer(i)
            return sum + Double(input * output)
        }
        return 2 * Double(rows) * (mlp + Double(config.bottleneckFeatures * config.prototypes))
    }

    /// One step: the teacher's forward and heads, the student's forward and backward with its heads.
    public static func step(teacher: ViTConfig, teacherDINO: HeadConfig, teacherIBOT: HeadConfig, student: StudentLayout,
                            settings: DistillationTrainer.Settings) -> Double {
        let b = settings.batch, globals = settings.globalCrops * b, locals = settings.localCrops * b
        let patches = (settings.globalSize / student.backbone.patchSize) * (settings.globalSize / student.backbone.patchSize)
        let teacherSide = vitForward(teacher, images: globals, size: settings.globalSize) + headForward(teacherDINO, rows: globals)
            + headForward(teacherIBOT, rows: globals * patches)
        var studentSide = vitForward(student.backbone, images: globals, size: settings.globalSize)
            + (locals > 0 ? vitForward(student.backbone, images: locals, size: settings.localSize) : 0)
        for head in student.heads {
            studentSide += headForward(head.config, rows: head.name == "ibot_head" ? globals * patches : globals + locals)
        }
        return teacherSide + 3 * studentSide
    }
}
