import ArgumentParser
import CUDA
import Distillery
import Foundation

/// `distill embed --model CONFIG --weights FILE --input SHARDS_OR_IMAGES --out FILE`: embeddings of tiles with a
/// ViT, written as a feature file (docs/embedding.md).
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed tiles (a tile shard dataset, a folder of PNG/JPEG tiles, or one image) with a ViT.",
        discussion: """
            Tiles are normalised with the model config's mean/std (H-optimus-0's for h-optimus-0 and h0-mini) and pooled \
            as the CLS token (--pool cls) or CLS ⊕ mean of the patch tokens, registers excluded (--pool cls+mean). \
            Tiles of another size than the config's img_size are resized (shorter side, Pillow bicubic) and \
            center-cropped, as torchvision's Resize + CenterCrop; --fit require makes that an error instead. \
            --out FILE.h5 (or .hdf5) writes the TRIDENT/CLAM layout: features [N, D] float32, coords [N, 2] int64 \
            (shard tiles only: level-0 x, y), tile_names [N], attributes encoder, pooling, name, patch_size, mpp. \
            --out FILE.npy writes plismbench's layout [N, 3 + D] (level, x, y, features); it needs coordinates, so \
            shard input. Without --weights the model gets random weights (a warning says so, and the file's encoder \
            attribute too): only for trying the pipeline. Writes are atomic. \
            --device cuda runs the ViT on GPU 0 in bf16 (docs/cuda.md), decoding the next batch while the GPU works; where \
            the CUDA driver or toolkit does not load, it exits 1 naming the library and the files tried.
            Exit codes: 0 done, 1 an input, model or output error (one line naming the file or tile), 64 bad options.
            """)

    @Option(help: "Model config (configs/models/*.yaml).")
    var model: String

    @Option(help: "Weights (safetensors, timm or DINOv2 layout). Without it: random weights, for trying the pipeline.")
    var weights: String?

    @Option(help: "A tile shard dataset (made by `distill tile`), a folder of .png/.jpg/.jpeg tiles, or one image.")
    var input: String

    @Option(help: "Feature file: .h5/.hdf5 (TRIDENT/CLAM layout) or .npy (plismbench layout).")
    var out: String

    @Option(help: "cls or cls+mean.")
    var pool: String = Pooling.cls.rawValue

    @Option(help: "Tiles per forward pass.")
    var batch: Int = 32

    @Option(help: "CPU threads (default: every core the process may use).")
    var threads: Int?

    @Option(help: "cpu or cuda (GPU 0, bf16).")
    var device = "cpu"

    @Option(help: "Tiles not of the model's size: resize-crop (torchvision Resize + CenterCrop) or require (error).")
    var fit: String = TileFit.resizeCrop.rawValue

    @Flag(help: "Also read images in subfolders of an image folder.")
    var recursive = false

    func validate() throws {
        guard Pooling(rawValue: pool) != nil else { throw ValidationError("--pool must be cls or cls+mean, got '\(pool)'") }
        guard TileFit(rawValue: fit) != nil else { throw ValidationError("--fit must be resize-crop or require, got '\(fit)'") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard device == "cpu" || device == "cuda" else { throw ValidationError("--device must be cpu or cuda, got '\(device)'") }
        guard FeatureFileFormat(path: out) != nil else {
            throw ValidationError("--out must end in .h5, .hdf5 or .npy, got '\(out)'")
        }
        let folder = (out as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isDirectory),
              isDirectory.boolValue else {
            throw ValidationError("the folder of --out does not exist: \(folder)")
        }
    }

    func run() throws {
        let pooling = Pooling(rawValue: pool)!
        let tiles: TileInput
        do {
            tiles = try TileInput.open(input, recursive: recursive)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        if FeatureFileFormat(path: out) == .npy, case .images = tiles.source {
            Console.error("error: \(out): the plismbench .npy layout needs tile coordinates, and image files have none "
                + "(embed a tile shard dataset, or write .h5)")
            throw ExitCode(1)
        }
        let backend = CPUBackend(threads: threads ?? CPUBackend.availableCores)
        let vit: ViT
        do {
            let config = try ViTConfig.load(path: model)
            if let weights {
                vit = try ViT(config: config, checkpoint: weights, backend: backend)
            } else {
                Console.error("warning: no --weights: \(config.name) gets RANDOM weights (seed 0); the embeddings only exercise "
                    + "the pipeline and mean nothing")
                vit = ViT(config: config, parameters: .random(config: config, backend: backend), backend: backend)
            }
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        var cuda: CUDAViTForward?
        if device == "cuda" {
            do {
                cuda = try CUDAViTForward(config: vit.config, parameters: vit.parameters, backend: CUDABackend(ordinal: 0))
            } catch {
                Console.error("error: device cuda: \(error)")
                throw ExitCode(1)
            }
        }
        let embedder = TileEmbedder(model: vit, cuda: cuda, pooling: pooling, batchSize: batch, fit: TileFit(rawValue: fit)!)
        let engine = cuda.map { "\($0.backend.device) (\($0.backend.properties.name))" } ?? "\(backend.threads) threads"
        Console.error("embedding \(tiles.count) tiles of \(input) with \(vit.config.name) (\(embedder.inputSize) px, "
            + "\(pooling.rawValue), dim \(embedder.width)), batch \(batch), \(engine)")
        var reporter = ProgressReporter()
        var last = EmbeddingProgress(done: 0, total: tiles.count, seconds: 0)
        var features: FeatureSet
        do {
            features = try embedder.embed(tiles) { progress in
                last = progress
                reporter.report(progress)
            }
        } catch {
            reporter.finish()
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        reporter.finish()
        if weights == nil { features.metadata.model = "\(vit.config.name) (random weights, seed 0)" }
        do {
            try features.write(to: out)
        } catch {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
        let resized = last.resized > 0 ? ", \(last.resized) resized to \(embedder.inputSize) px" : ""
        Console.out("\(features.count) tiles → \(out): dim \(features.features.columns) (\(pooling.rawValue)), "
            + String(format: "%.1f s, %.1f tiles/s", last.seconds, last.tilesPerSecond) + resized)
    }
}

/// The progress bar on standard error: redrawn in place on a terminal, else one line at most every 10 s.
private struct ProgressReporter {
    private let terminal = Console.stderrIsTerminal
    private var lastLine = ContinuousClock.now
    private var drawn = false

    mutating func report(_ progress: EmbeddingProgress) {
        if terminal {
            Console.errorInPlace(progress.line())
            drawn = true
        } else if ContinuousClock.now - lastLine >= .seconds(10) || progress.done == progress.total {
            Console.error(progress.line())
            lastLine = ContinuousClock.now
        }
    }

    /// Ends the redrawn line.
    mutating func finish() {
        if drawn { Console.error("") }
        drawn = false
    }
}
