import Compute
import Models

/// A ViT forward on the CPU (`ViT` on a `Backend`) or on a GPU (`CUDAViTForward`) behind one submit/collect
/// interface, so the jobs that batch images (`teacher-inference`, `distill embed`) overlap host work with device
/// compute: `submit` queues a batch (on CUDA: pinned upload and every kernel, then returns), the caller prepares the
/// next batch (decoding, augmenting, stacking), and `collect…` waits for the results. At most one batch is in flight:
/// a `submit` before the previous batch was collected is a programming error.
///
/// On the CPU, `submit` keeps the input and `collect…` runs the pass (the same numbers as calling `ViT` directly).
/// Activations are reused while the batch shape repeats. One caller at a time.
public final class ViTEncoder: @unchecked Sendable {
    private enum Engine {
        case cpu(ViT)
        case cuda(CUDAViTForward)
    }

    private enum Input {
        case pixels([UInt8])
        case images([Float])
    }

    public let config: ViTConfig
    private let engine: Engine
    private var cpuActivations: ViTActivations?
    private var cudaActivations: CUDAViTActivations?
    private var pending: (input: Input, batch: Int, size: Int)?

    /// The CPU forward of `model`.
    public init(cpu model: ViT) {
        config = model.config
        engine = .cpu(model)
    }

    /// The GPU forward.
    public init(cuda forward: CUDAViTForward) {
        config = forward.config
        engine = .cuda(forward)
    }

    /// `cpu`, or `cuda:<n> (<GPU name>)`.
    public var deviceDescription: String {
        switch engine {
        case .cpu(let model): "\(model.backend.device)"
        case .cuda(let forward): "\(forward.backend.device) (\(forward.backend.properties.name))"
        }
    }

    /// Queues RGB8 pixels `[batch, size, size, 3]` (normalised with `config.normalization`).
    /// - Throws: `CUDAError` on the device, `ViTError` (CPU: never at submit).
    public func submit(pixels: [UInt8], batch: Int, size: Int) throws {
        precondition(pending == nil, "ViTEncoder: submit before the previous batch was collected")
        precondition(pixels.count == batch * size * size * 3, "\(pixels.count) bytes for \(batch) images of \(size)²")
        if case .cuda(let forward) = engine {
            let activations = try cudaBuffers(forward, batch: batch, size: size)
            try pixels.withUnsafeBufferPointer { buffer in
                Swift.Result { () throws(CUDAError) in try forward.enqueue(pixels: buffer, activations: activations) }
            }.get()
        }
        pending = (.pixels(pixels), batch, size)
    }

    /// Queues normalised planar images `[batch, 3, size, size]`.
    /// - Throws: `CUDAError` on the device.
    public func submit(images: [Float], batch: Int, size: Int) throws {
        precondition(pending == nil, "ViTEncoder: submit before the previous batch was collected")
        precondition(images.count == batch * 3 * size * size, "\(images.count) values for \(batch) images of \(size)²")
        if case .cuda(let forward) = engine {
            let activations = try cudaBuffers(forward, batch: batch, size: size)
            try images.withUnsafeBufferPointer { buffer in
                Swift.Result { () throws(CUDAError) in try forward.enqueue(images: buffer, activations: activations) }
            }.get()
        }
        pending = (.images(images), batch, size)
    }

    /// Whether a submitted batch waits to be collected.
    public var hasPending: Bool { pending != nil }

    /// The submitted batch's `x_norm` CLS `[B, D]` and patch tokens `[B, N, D]` (registers dropped).
    /// - Throws: `ViTError` (CPU), `CUDAError`.
    public func collectTokens() throws -> (cls: [Float], patches: [Float]) {
        guard let (input, batch, size) = pending else { preconditionFailure("ViTEncoder: nothing submitted") }
        pending = nil
        switch engine {
        case .cpu(let model):
            let activations = try cpuForward(model, input: input, batch: batch, size: size)
            return CUDAViTForward.split(model.backend.download(activations.output), batch: batch, length: activations.length,
                                        prefix: config.prefixTokens, dim: config.embedDim)
        case .cuda(let forward):
            let activations = cudaActivations!
            return CUDAViTForward.split(try forward.tokens(activations), batch: batch, length: activations.length,
                                        prefix: config.prefixTokens, dim: config.embedDim)
        }
    }

    /// The submitted batch's embeddings `[B, pooling.width(D)]`.
    /// - Throws: `ViTError` (CPU), `CUDAError`.
    public func collectEmbeddings(pooling: Pooling) throws -> [Float] {
        guard let (input, batch, size) = pending else { preconditionFailure("ViTEncoder: nothing submitted") }
        pending = nil
        switch engine {
        case .cpu(let model):
            let activations = try cpuForward(model, input: input, batch: batch, size: size)
            return model.backend.download(model.pool(activations.output, pooling: pooling, activations: activations))
        case .cuda(let forward):
            return try forward.embeddings(cudaActivations!, pooling: pooling)
        }
    }

    private func cpuForward(_ model: ViT, input: Input, batch: Int, size: Int) throws -> ViTActivations {
        let activations: ViTActivations
        if let current = cpuActivations, current.batch == batch, current.height == size {
            activations = current
        } else {
            activations = model.makeActivations(batch: batch, height: size, width: size)
            cpuActivations = activations
        }
        switch input {
        case .pixels(let pixels): pixels.withUnsafeBufferPointer { model.normalize(pixels: $0, into: activations) }
        case .images(let images): images.withUnsafeBufferPointer { model.backend.upload($0, to: activations.images) }
        }
        try model.forward(activations)
        return activations
    }

    private func cudaBuffers(_ forward: CUDAViTForward, batch: Int, size: Int) throws(CUDAError) -> CUDAViTActivations {
        if let current = cudaActivations, current.batch == batch, current.height == size { return current }
        cudaActivations = nil
        let activations = try forward.makeActivations(batch: batch, height: size, width: size)
        cudaActivations = activations
        return activations
    }
}
