import CUDA
import Compute
import Evaluation
import ImageOps
import Models

/// Embeds tiles with a ViT: fits each tile to the model's input size (`TileFit`), normalises it with the model
/// config's mean/std (H-optimus-0's for H-optimus-0 and H0-mini), runs the forward pass in batches of
/// `batchSize` (the last one partial) and pools the final-norm tokens (`Pooling`: CLS, or CLS ⊕ mean of the
/// patch tokens with the registers excluded; distillation-spec.md §2.4).
///
/// ```swift
/// let embedder = TileEmbedder(model: vit, pooling: .clsMean, batchSize: 32)
/// let features = try embedder.embed(try TileInput.open("tiles/"), progress: { print($0.line()) })
/// try features.write(to: "tiles.h5")
/// ```
///
/// With `cuda` (a `CUDAViTForward` of the same model), the passes run on the GPU in bf16 and the next batch is read,
/// decoded and fitted on the host while the previous one runs (`ViTEncoder`'s submit/collect).
///
/// Immutable and Sendable; each call allocates its own activations, so calls may run concurrently on the CPU (they
/// share the backend's threads). Calls with `cuda` must not overlap (one stream, one caller at a time).
public struct TileEmbedder: Sendable {
    /// The model; its `config.imgSize` is the input size S and `config.normalization` the pixel statistics.
    public let model: ViT
    /// The GPU forward of `model`, or nil for the CPU.
    public let cuda: CUDAViTForward?
    /// How tokens become one embedding per tile.
    public let pooling: Pooling
    /// Tiles per forward pass.
    public let batchSize: Int
    /// What happens to tiles that are not S×S.
    public let fit: TileFit

    /// - Precondition: `batchSize ≥ 1`.
    public init(model: ViT, cuda: CUDAViTForward? = nil, pooling: Pooling = .cls, batchSize: Int = 32, fit: TileFit = .resizeCrop) {
        precondition(batchSize >= 1, "TileEmbedder: batch size \(batchSize) < 1")
        precondition(cuda.map { $0.config == model.config } ?? true, "TileEmbedder: the CUDA forward is not \(model.config.name)")
        self.model = model
        self.cuda = cuda
        self.pooling = pooling
        self.batchSize = batchSize
        self.fit = fit
    }

    /// Input side S in pixels (`config.imgSize`).
    public var inputSize: Int { model.config.imgSize }
    /// Embedding width: D for `.cls`, 2D for `.clsMean`.
    public var width: Int { pooling.width(dim: model.config.embedDim) }

    /// Embeddings of images already S×S, one forward pass of `images.count`.
    /// - Returns: `[images.count, width]`.
    /// - Throws: `EmbeddingError.wrongTileSize` for an image of another size (named by its index),
    ///   `.model` when the forward pass fails.
    public func embed(images: [RGBImage]) throws(EmbeddingError) -> FeatureMatrix<Float> {
        let size = inputSize
        guard !images.isEmpty else { return FeatureMatrix(zeros: 0, columns: width) }
        var pixels = [UInt8]()
        pixels.reserveCapacity(images.count * size * size * 3)
        for (index, image) in images.enumerated() {
            guard image.width == size && image.height == size else {
                throw .wrongTileSize(tile: "#\(index)", width: image.width, height: image.height, expected: size)
            }
            pixels.append(contentsOf: image.pixels)
        }
        let encoder = makeEncoder()
        try submit(pixels, batch: images.count, to: encoder, tiles: "\(images.count) images")
        let values = try collect(encoder, tiles: "\(images.count) images")
        return FeatureMatrix(rows: images.count, columns: width, values: values)
    }

    /// Embeds tiles held in memory (see `embed(_:progress:)` for a `TileInput`).
    /// - Parameters:
    ///   - tiles: the tiles, any size (fitted by `fit`).
    ///   - name: the feature set's `metadata.name`.
    ///   - progress: called after every batch.
    /// - Returns: `features` `[N, width]` in tile order, `tileNames`, `coordinates` when every tile has one, and
    ///   metadata (model name, pooling, tile size S, mpp when every tile has the same one after fitting).
    /// - Throws: `EmbeddingError` naming the tile (wrong size under `.require`) or the batch.
    public func embed(_ tiles: some Sequence<EmbeddingTile>, name: String? = nil,
                      progress: (EmbeddingProgress) -> Void = { _ in }) throws(EmbeddingError) -> FeatureSet {
        var iterator = tiles.makeIterator()
        return try run(total: nil, name: name, next: { () throws(EmbeddingError) in iterator.next() }, progress: progress)
    }

    /// Embeds every tile of `input` (shards, an image folder or one image), reading them one by one.
    /// - Parameter progress: called after every batch, with `total = input.count`.
    /// - Returns: as `embed(_:name:progress:)`; `metadata.name` is `input.name`.
    /// - Throws: `EmbeddingError` naming the unreadable tile, the tile of the wrong size, or the batch.
    public func embed(_ input: TileInput, progress: (EmbeddingProgress) -> Void = { _ in }) throws(EmbeddingError) -> FeatureSet {
        var iterator = input.makeIterator()
        return try run(total: input.count, name: input.name, next: { () throws(EmbeddingError) in try iterator.next() },
                       progress: progress)
    }

    private func run(total: Int?, name: String?, next: () throws(EmbeddingError) -> EmbeddingTile?,
                     progress: (EmbeddingProgress) -> Void) throws(EmbeddingError) -> FeatureSet {
        let size = inputSize
        let start = ContinuousClock.now
        let encoder = makeEncoder()
        var inFlight: (names: [String], label: String)?
        var pixels = [UInt8]()
        pixels.reserveCapacity(batchSize * size * size * 3)
        var batchNames: [String] = []
        var features: [Float] = []
        var names: [String] = []
        var coordinates: [TileCoordinate?] = []
        var mpps: [Double?] = []
        var resized = 0

        // Waits for the batch in flight and appends its embeddings.
        func collectInFlight() throws(EmbeddingError) {
            guard let batch = inFlight else { return }
            inFlight = nil
            features += try collect(encoder, tiles: batch.label)
            names += batch.names
            progress(EmbeddingProgress(done: names.count, total: total, resized: resized,
                                       seconds: Self.seconds(since: start)))
        }
        // Collects the previous batch, then queues this one (on CUDA the next batch is decoded while it runs).
        func flush() throws(EmbeddingError) {
            guard let first = batchNames.first, let last = batchNames.last else { return }
            let label = first == last ? first : "\(first) … \(last)"
            try collectInFlight()
            try submit(pixels, batch: batchNames.count, to: encoder, tiles: label)
            inFlight = (batchNames, label)
            batchNames.removeAll(keepingCapacity: true)
            pixels.removeAll(keepingCapacity: true)
        }

        while let tile = try next() {
            let image = try fit.fitted(tile.image, size: size, name: tile.name)
            if tile.image.width != size || tile.image.height != size { resized += 1 }
            pixels += image.pixels
            batchNames.append(tile.name)
            coordinates.append(tile.coordinate)
            mpps.append(tile.mpp.map { $0 * fit.mppScale(width: tile.image.width, height: tile.image.height, size: size) })
            if batchNames.count == batchSize { try flush() }
        }
        try flush()
        try collectInFlight()

        let allCoordinates = coordinates.allSatisfy { $0 != nil } && !coordinates.isEmpty ? coordinates.map { $0! } : nil
        let mpp = mpps.first.flatMap { $0 }.flatMap { first in mpps.allSatisfy { $0 == first } ? first : nil }
        let metadata = FeatureMetadata(name: name, model: model.config.name, tileSize: size, mpp: mpp,
                                       pooling: pooling.rawValue)
        return FeatureSet(features: FeatureMatrix(rows: names.count, columns: width, values: features),
                          coordinates: allCoordinates, tileNames: names, metadata: metadata)
    }

    /// The encoder of one call: the CPU model, or the GPU forward.
    private func makeEncoder() -> ViTEncoder {
        cuda.map { ViTEncoder(cuda: $0) } ?? ViTEncoder(cpu: model)
    }

    /// Queues one batch of RGB8 pixels `[batch, S, S, 3]` (normalised by the encoder).
    private func submit(_ pixels: [UInt8], batch: Int, to encoder: ViTEncoder, tiles: String) throws(EmbeddingError) {
        do { try encoder.submit(pixels: pixels, batch: batch, size: inputSize) } catch {
            throw .model(tiles: tiles, reason: "\(error)")
        }
    }

    /// The pooled embeddings of the queued batch.
    private func collect(_ encoder: ViTEncoder, tiles: String) throws(EmbeddingError) -> [Float] {
        do { return try encoder.collectEmbeddings(pooling: pooling) } catch {
            throw .model(tiles: tiles, reason: "\(error)")
        }
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
