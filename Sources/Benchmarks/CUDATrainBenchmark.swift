import CUDA
import Compute
import Foundation
import Models
import Training

/// `distill bench train --device cuda`: the paper's distillation step on a GPU — the ViT-g/14 teacher
/// (`h-optimus-0`) forward on the global crops with `CUDAViTForward`, its frozen heads, then the ViT-B/14 student
/// (`h0-mini`) step of `CUDATrainingStep` (2 × 224 + 8 × 98 px crops, K = 131,072, B = 32), random weights and
/// inputs resident on the device — beside `pytorch_baseline.py`'s training figures from the same GPU job
/// (`--anchor-json`: `distill_imgs_s`, `peak_mem_GiB`, `distill_batch_per_gpu`). Issue #10 targets: ≥ 190 img/s,
/// ≤ 28 GiB (anchors 124.7 img/s, 56.3 GiB).
///
/// The teacher runs on its own backend and stream (as the `teacher-inference` stage does in a graph), beside the step
/// in a `CUDADistillationPipeline`. Two loops, each `warmup` untimed steps and then `steps`
/// timed ones, each step ending with its own waits (the loss flags, the gradient norms): **serial** (the teacher's
/// forward of batch n, then the step on it, as PyTorch's loop) and **overlapped** (the forward of batch n + 1 queued
/// before the step on batch n, so the two streams share the GPU: the pipeline, and the reported figure).
/// images/s = B ÷ the median step time. Memory: the two pools' peaks (everything this process asked
/// for) and `cuMemGetInfo` at the end (total − free: every context, the pool's cache, cuBLASLt's workspace). Model
/// FLOPs utilisation = `TrainingStepFLOPs.step` ÷ median step time ÷ the device's dense bf16 peak.
public enum CUDATrainBenchmark {
    public struct Options: Sendable {
        public var student: ViTConfig
        public var teacher: ViTConfig
        public var batch = 32
        public var localCrops = 8
        public var globalSize = 224
        public var localSize = 98
        public var prototypes = 131_072
        public var headHidden = 2048
        public var warmup = 2
        public var steps = 8
        /// After the timed steps, one more step with a `CUDAProfiler` attached: device time per operation.
        public var profile = false
        public var ordinal = 0
        public var nvrtcPath: String?
        /// Dense bf16 peak in TFLOP/s for the MFU; nil: from the device name (H100/H200: 989.4), else none.
        public var peakTFLOPs: Double?
        public var anchor: Anchor?
        public var anchorUnavailable: String?
        public init(student: ViTConfig, teacher: ViTConfig) {
            self.student = student
            self.teacher = teacher
        }
    }

    /// The training figures of `pytorch_baseline.py --out FILE`.
    public struct Anchor: Sendable, Codable {
        public var device: String?
        public var torch: String?
        public var imagesPerSecond: Double?
        public var peakMemoryGiB: Double?
        public var batch: Int?
        enum CodingKeys: String, CodingKey {
            case device, torch, imagesPerSecond = "distill_imgs_s", peakMemoryGiB = "peak_mem_GiB", batch = "distill_batch_per_gpu"
        }

        /// - Throws: `BenchmarkError` naming the file when it cannot be read or decoded.
        public static func load(path: String) throws -> Anchor {
            guard let data = FileManager.default.contents(atPath: path) else { throw BenchmarkError(message: "cannot read anchor file \(path)") }
            do { return try JSONDecoder().decode(Anchor.self, from: data) } catch {
                throw BenchmarkError(message: "anchor file \(path) is not pytorch_baseline.py's JSON: \(error)")
            }
        }
    }

    public struct Report: Sendable, Codable {
        public var benchmark = "train-cuda"
        public var device: CUDAContext.Properties
        public var student: String
        public var teacher: String
        public var batch: Int
        public var crops: String
        public var prototypes: Int
        public var steps: Int
        /// The overlapped loop: median and mean step time, images/s.
        public var medianSeconds: Double
        public var meanSeconds: Double
        public var imagesPerSecond: Double
        /// The serial loop's median step time and images/s.
        public var serialMedianSeconds: Double
        public var serialImagesPerSecond: Double
        /// The pool's peak and `cuMemGetInfo`'s total − free at the end, GiB.
        public var poolPeakGiB: Double
        public var deviceUsedGiB: Double
        public var teraFLOPsPerStep: Double
        public var peakTFLOPs: Double?
        public var modelFLOPsUtilization: Double?
        /// The last timed step's total loss (finite: the step ran).
        public var lastLoss: Double
        /// The step's attention path ("fused" or "unfused", `CUDATrainingStep.attention`) and whether its forward and
        /// backward ran as CUDA graphs (false with `DISTILL_CUDA_GRAPHS=0` or a failed capture).
        public var attention: String
        public var cudaGraphs: Bool
        public var anchor: Anchor?
        public var anchorUnavailable: String?
        public var ratioOverPyTorch: Double?
        public var targetImagesPerSecond = 190.0
        public var targetPeakGiB = 28.0
        /// With `Options.profile` (after the serial loop): one serial step's device time per operation (teacher forward call by call; its rows
        /// prefixed `teacher:`), longest first.
        public var profile: [CUDAProfiler.Row]?
        enum CodingKeys: String, CodingKey {
            case benchmark, device, student, teacher, batch, crops, prototypes, steps, medianSeconds = "median_s", meanSeconds = "mean_s",
                 imagesPerSecond = "images_per_s", serialMedianSeconds = "serial_median_s", serialImagesPerSecond = "serial_images_per_s",
                 poolPeakGiB = "pool_peak_GiB", deviceUsedGiB = "device_used_GiB",
                 teraFLOPsPerStep = "tflop_per_step", peakTFLOPs = "peak_tflops", modelFLOPsUtilization = "mfu", lastLoss = "last_loss",
                 attention, cudaGraphs = "cuda_graphs",
                 anchor, anchorUnavailable = "anchor_unavailable", ratioOverPyTorch = "ratio_over_pytorch",
                 targetImagesPerSecond = "target_images_per_s", targetPeakGiB = "target_peak_GiB", profile
        }
    }

    /// Dense bf16 tensor-core peak by device name (NVIDIA's data sheets, without sparsity), TFLOP/s.
    static func peakTFLOPs(deviceName: String) -> Double? {
        if deviceName.contains("H200") || deviceName.contains("H100") { return 989.4 }
        if deviceName.contains("A100") { return 312 }
        return nil
    }

    /// Runs the benchmark.
    /// - Throws: `CUDAError` (no driver: which library did not load; out of memory), `TrainingError`, `BenchmarkError`.
    public static func run(_ options: Options) throws -> Report {
        // The step's stream at the device's highest priority, the teacher's at the default: the teacher's forward of
        // the next batch fills the step's gaps (its memory-bound loss rows, the host's one wait) instead of delaying it.
        let backend = try CUDABackend(ordinal: options.ordinal, nvrtcPath: options.nvrtcPath, priority: .high)
        let teacherBackend = try CUDABackend(ordinal: options.ordinal, nvrtcPath: options.nvrtcPath)
        let host = CPUBackend(threads: CPUBackend.availableCores)
        let k = options.prototypes
        let dino = HeadConfig(inFeatures: options.student.embedDim, hiddenFeatures: options.headHidden, bottleneckFeatures: 384, prototypes: k)
        let ibot = HeadConfig(inFeatures: options.student.embedDim, hiddenFeatures: options.headHidden, bottleneckFeatures: 256, prototypes: k)
        let layout = StudentLayout(backbone: options.student, heads: [.init(name: "dino_head", config: dino), .init(name: "ibot_head", config: ibot)])
        let teacherWidth = options.teacher.embedDim
        let teacherHeads = TeacherHeads.initialized(
            dino: HeadConfig(inFeatures: teacherWidth, hiddenFeatures: options.headHidden, bottleneckFeatures: 384, prototypes: k),
            ibot: HeadConfig(inFeatures: teacherWidth, hiddenFeatures: options.headHidden, bottleneckFeatures: 256, prototypes: k),
            backend: host, seed: 3)
        var schedules = TrainingSchedules.Settings(epochs: 1, batchSize: options.batch)
        schedules.officialEpochLength = 2 * (options.warmup + max(options.steps, 1)) + 3
        schedules.warmupEpochs = 0
        schedules.warmupTeacherTemperatureEpochs = 1
        var settings = DistillationTrainer.Settings(batch: options.batch, schedules: schedules)
        settings.localCrops = options.localCrops
        settings.globalSize = options.globalSize
        settings.localSize = options.localSize
        let step = try CUDATrainingStep(settings: settings, layout: layout, parameters: StudentInitialization.dinov2(layout, seed: 1),
                                        teacherHeads: teacherHeads, backend: backend)
        let teacher = try CUDAViTForward(config: options.teacher, parameters: ViTParameters.random(config: options.teacher, backend: host, seed: 2),
                                         backend: teacherBackend)
        let pipeline = try CUDADistillationPipeline(step: step, teacher: teacher)
        // Inputs in [-2, 2) from a 32-bit LCG, resident on the device (as PyTorch's torch.randn on the GPU); the
        // teacher reads the same global crops every step.
        var state: UInt32 = 12345
        func fill(_ tensor: Tensor) throws(CUDAError) {
            let values = (0..<tensor.count).map { _ -> Float in
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(state >> 8) / Float(1 << 24) * 4 - 2
            }
            try values.withUnsafeBytes { bytes in Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: tensor) } }.get()
        }
        try fill(step.globalImages)
        if let local = step.localImages { try fill(local) }
        try backend.synchronize()
        let samples = (0..<options.batch).map { SampleTag(sampleID: UInt64($0), slideID: "bench", x: 0, y: 0) }
        func serial() throws -> TrainingStepReport {
            try pipeline.queueTeacher(crops: step.globalImages)
            return try pipeline.step(samples: samples, next: nil)
        }
        func overlapped() throws -> TrainingStepReport {
            try pipeline.step(samples: samples, next: step.globalImages)
        }
        func timed(_ once: () throws -> TrainingStepReport) throws -> (seconds: [Double], loss: Double) {
            for _ in 0..<options.warmup { _ = try once() }
            try backend.synchronize()
            var seconds: [Double] = [], last = 0.0
            for _ in 0..<max(options.steps, 1) {
                let start = ContinuousClock.now
                last = try once().totalLoss
                try backend.synchronize()
                seconds.append((ContinuousClock.now - start) / .seconds(1))
            }
            return (seconds, last)
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let serialSeconds = try timed(serial).seconds
        let profile = options.profile ? try profiledStep(backend: backend, teacherBackend: teacherBackend, serial) : nil
        try pipeline.queueTeacher(crops: step.globalImages)   // the overlapped loop's first batch
        let (seconds, last) = try timed(overlapped)
        _ = try pipeline.step(samples: samples, next: nil)   // takes the last queued forward's tokens (untimed)
        try pipeline.synchronize()
        let medianSeconds = median(seconds), serialMedianSeconds = median(serialSeconds)
        let imagesPerSecond = Double(options.batch) / medianSeconds
        let memory = try backend.deviceMemory()
        let flops = TrainingStepFLOPs.step(teacher: options.teacher, teacherDINO: teacherHeads.dino.config, teacherIBOT: teacherHeads.ibot.config,
                                           student: layout, settings: settings)
        let peak = options.peakTFLOPs ?? peakTFLOPs(deviceName: backend.properties.name)
        let gib = Double(1 << 30)
        return Report(device: backend.properties, student: options.student.name, teacher: options.teacher.name, batch: options.batch,
                      crops: "\(settings.globalCrops)×\(options.globalSize) + \(options.localCrops)×\(options.localSize)", prototypes: k,
                      steps: seconds.count, medianSeconds: medianSeconds, meanSeconds: seconds.reduce(0, +) / Double(seconds.count),
                      imagesPerSecond: imagesPerSecond, serialMedianSeconds: serialMedianSeconds,
                      serialImagesPerSecond: Double(options.batch) / serialMedianSeconds,
                      poolPeakGiB: Double(backend.memoryUsage.peak + teacherBackend.memoryUsage.peak) / gib,
                      deviceUsedGiB: Double(memory.total - memory.free) / gib, teraFLOPsPerStep: flops / 1e12, peakTFLOPs: peak,
                      modelFLOPsUtilization: peak.map { flops / medianSeconds / ($0 * 1e12) }, lastLoss: last, attention: step.attention,
                      cudaGraphs: step.usesGraphs && CUDAGraph.enabled && step.graphFailure == nil, anchor: options.anchor,
                      anchorUnavailable: options.anchorUnavailable,
                      ratioOverPyTorch: options.anchor?.imagesPerSecond.map { imagesPerSecond / $0 }, profile: profile)
    }

    /// One serial step with a profiler on each stream: the teacher's rows prefixed `teacher:`, merged, longest first.
    static func profiledStep(backend: CUDABackend, teacherBackend: CUDABackend,
                             _ once: () throws -> TrainingStepReport) throws -> [CUDAProfiler.Row] {
        var teacherRows: [CUDAProfiler.Row] = []
        let studentRows = try backend.profile {
            teacherRows = try teacherBackend.profile { _ = try once() }
        }
        let prefixed = teacherRows.map { row in
            var row = row
            row.name = "teacher: " + row.name
            return row
        }
        return (studentRows + prefixed).sorted { $0.milliseconds > $1.milliseconds }
    }
}
