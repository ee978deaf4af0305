import CUDA
import Compute
import Foundation
import Models

/// `distill bench vit --device cuda`: ViT inference images/s on a GPU at 224 px with random weights — by default the
/// teacher ViT-g/14 (`h-optimus-0`) at batch 256 and the student ViT-B/14 (`h0-mini`) at batch 512 — beside the
/// PyTorch anchors that `../shared/reference/pytorch_baseline.py` measured in the same GPU job (bf16 autocast,
/// SDPA, `forward_features` on a resident CUDA tensor; its JSON is given with `--anchor-json`).
///
/// Per model: `warmup` untimed passes (plans, first allocations), then `passes` timed passes of `CUDAViTForward.forward`
/// on normalised input already on the device (as PyTorch times `model.forward_features(x)` on a CUDA tensor), each
/// followed by a stream synchronisation; images/s = batch ÷ the median pass time, and the mean too. DESIGN.md §5
/// targets: ≥ 950 img/s (teacher), ≥ 8,000 img/s (student).
public enum CUDAViTBenchmark {
    /// One model to time.
    public struct Model: Sendable {
        public var config: ViTConfig
        public var batch: Int
        public init(config: ViTConfig, batch: Int) {
            self.config = config
            self.batch = batch
        }
    }

    public struct Options: Sendable {
        public var models: [Model]
        public var passes = 8
        public var warmup = 2
        /// After the timed passes, one more pass with a `CUDAProfiler` attached: device time per operation.
        public var profile = false
        public var ordinal = 0
        public var nvrtcPath: String?
        /// `pytorch_baseline.py`'s JSON, or nil.
        public var anchor: Anchor?
        /// Why there is no anchor, when there is none.
        public var anchorUnavailable: String?
        public init(models: [Model]) {
            self.models = models
        }
    }

    /// The figures of `pytorch_baseline.py --out FILE` this benchmark uses.
    public struct Anchor: Sendable, Codable {
        public var device: String?
        public var torch: String?
        public var timm: String?
        public var teacherImagesPerSecond: Double?
        public var studentImagesPerSecond: Double?
        enum CodingKeys: String, CodingKey {
            case device, torch, timm, teacherImagesPerSecond = "teacher_infer_imgs_s", studentImagesPerSecond = "student_infer_imgs_s"
        }

        /// Reads the JSON file.
        /// - Throws: `BenchmarkError` naming the file when it cannot be read or decoded.
        public static func load(path: String) throws -> Anchor {
            guard let data = FileManager.default.contents(atPath: path) else { throw BenchmarkError(message: "cannot read anchor file \(path)") }
            do { return try JSONDecoder().decode(Anchor.self, from: data) } catch {
                throw BenchmarkError(message: "anchor file \(path) is not pytorch_baseline.py's JSON: \(error)")
            }
        }
    }

    public struct ModelResult: Sendable, Codable {
        public var name: String
        public var parameters: Int
        public var batch: Int
        public var passes: Int
        /// Median and mean seconds per pass.
        public var medianSeconds: Double
        public var meanSeconds: Double
        /// batch ÷ median pass time.
        public var imagesPerSecond: Double
        /// PyTorch's figure for this role (teacher / student), when the anchor has it.
        public var anchorImagesPerSecond: Double?
        public var ratioOverPyTorch: Double?
        /// DESIGN.md §5 target for this role.
        public var targetImagesPerSecond: Double?
        /// Device memory held by the pool at the end of the model's run (parameters, activations, workspace).
        public var peakDeviceBytes: Int
        /// With `Options.profile`: one pass's device time per operation (call by call, no graph), longest first.
        public var profile: [CUDAProfiler.Row]?

        enum CodingKeys: String, CodingKey {
            case name, parameters, batch, passes, medianSeconds = "median_s", meanSeconds = "mean_s", imagesPerSecond = "images_per_s",
                 anchorImagesPerSecond = "pytorch_images_per_s", ratioOverPyTorch = "ratio_over_pytorch",
                 targetImagesPerSecond = "target_images_per_s", peakDeviceBytes = "peak_device_bytes", profile
        }
    }

    public struct Report: Sendable, Codable {
        public var benchmark = "vit-cuda"
        public var device: CUDAContext.Properties
        public var libraries: [String: String]
        public var imageSize = 224
        public var models: [ModelResult]
        public var anchor: Anchor?
        public var anchorUnavailable: String?
        enum CodingKeys: String, CodingKey {
            case benchmark, device, libraries, imageSize = "image_size", models, anchor, anchorUnavailable = "anchor_unavailable"
        }
    }

    /// The role of a model in the anchors: the teacher (ViT-g/14) or the student (ViT-B/14), by config name.
    static func role(_ name: String) -> (anchor: KeyPath<Anchor, Double?>, target: Double)? {
        switch name {
        case "h-optimus-0": (\Anchor.teacherImagesPerSecond, 950)
        case "h0-mini": (\Anchor.studentImagesPerSecond, 8000)
        default: nil
        }
    }

    /// Times every model.
    /// - Throws: `CUDAError` (no driver: the error says which library did not load), `BenchmarkError`.
    public static func run(_ options: Options) throws -> Report {
        guard !options.models.isEmpty else { throw BenchmarkError(message: "no models to benchmark") }
        let backend = try CUDABackend(ordinal: options.ordinal, nvrtcPath: options.nvrtcPath)
        var results: [ModelResult] = []
        for model in options.models {
            results.append(try measure(model, backend: backend, options: options))
        }
        return Report(device: backend.properties, libraries: backend.libraries, models: results, anchor: options.anchor,
                      anchorUnavailable: options.anchorUnavailable)
    }

    static func measure(_ model: Model, backend: CUDABackend, options: Options) throws -> ModelResult {
        let config = model.config
        let host = CPUBackend(threads: CPUBackend.availableCores)
        let parameters = ViTParameters.random(config: config, backend: host, seed: 1)
        let forward = try CUDAViTForward(config: config, parameters: parameters, backend: backend)
        let activations = try forward.makeActivations(batch: model.batch, height: config.imgSize, width: config.imgSize)
        // Inputs in [-2, 2) from a 32-bit LCG: any values do for timing, but never zeros (METHOD.md).
        var state: UInt32 = 12345
        let values = (0..<activations.images.count).map { _ -> Float in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) * 4 - 2
        }
        try values.withUnsafeBytes { bytes in
            Swift.Result { () throws(CUDAError) in try backend.upload(bytes, to: activations.images) }
        }.get()
        for _ in 0..<options.warmup { try forward.forward(activations) }
        try backend.synchronize()
        var seconds: [Double] = []
        for _ in 0..<max(options.passes, 1) {
            let start = ContinuousClock.now
            try forward.forward(activations)
            try backend.synchronize()
            seconds.append((ContinuousClock.now - start) / .seconds(1))
        }
        let profile = options.profile ? try backend.profile { try forward.forward(activations) } : nil
        let sorted = seconds.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let imagesPerSecond = Double(model.batch) / median
        let role = role(config.name)
        let anchor = role.flatMap { options.anchor?[keyPath: $0.anchor] }
        return ModelResult(name: config.name, parameters: parameters.layout.count, batch: model.batch, passes: seconds.count,
                           medianSeconds: median, meanSeconds: seconds.reduce(0, +) / Double(seconds.count),
                           imagesPerSecond: imagesPerSecond, anchorImagesPerSecond: anchor,
                           ratioOverPyTorch: anchor.map { imagesPerSecond / $0 }, targetImagesPerSecond: role?.target,
                           peakDeviceBytes: backend.memoryUsage.peak, profile: profile)
    }
}
