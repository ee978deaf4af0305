extension CPUBackend {
    public func normalizeImages(pixels: UnsafeBufferPointer<UInt8>, normalization: ImageNormalization, output: Tensor,
                                batch: Int, height: Int, width: Int) {
        let plane = height * width
        precondition(pixels.count >= batch * plane * 3, "normalizeImages: \(pixels.count) bytes for \(batch)×\(height)×\(width)×3")
        let y = floats(output, batch * 3 * plane, "normalizeImages output")
        let mean = normalization.mean
        let std = normalization.std
        guard let source = pixels.baseAddress else { return }
        Parallel.forEachRange(count: batch * 3, threads: threads) { range in
            for item in range {
                let image = item / 3
                let channel = item % 3
                let m = mean[channel]
                let s = std[channel]
                let input = source + image * plane * 3 + channel
                let out = y + item * plane
                for pixel in 0..<plane {
                    out[pixel] = (Float(input[pixel * 3]) / 255 - m) / s
                }
            }
        }
    }

    /// im2col into a `[batch·patches, channels·patch·patch]` buffer (column order = the weight's `(c, i, j)`),
    /// then one `linear` with the flattened weight.
    public func patchEmbed(images: Tensor, weight: Tensor, bias: Tensor, output: Tensor,
                           batch: Int, channels: Int, height: Int, width: Int, patch: Int, dim: Int) {
        let columns = im2col(images, batch: batch, channels: channels, height: height, width: width, patch: patch)
        let features = channels * patch * patch
        linear(input: columns, weight: weight.reshaped([dim, features]), bias: bias, output: output,
               rows: columns.shape[0], inFeatures: features, outFeatures: dim)
    }

    /// im2col again (cheaper than keeping it), then the weight and bias halves of `linearBackward`:
    /// `dW += dyᵀ·im2col`, `db += Σ dy`.
    public func patchEmbedBackward(images: Tensor, outputGradient: Tensor, weightGradient: Tensor, biasGradient: Tensor,
                                   batch: Int, channels: Int, height: Int, width: Int, patch: Int, dim: Int) {
        let columns = im2col(images, batch: batch, channels: channels, height: height, width: width, patch: patch)
        let rows = columns.shape[0]
        let features = channels * patch * patch
        let dy = floats(outputGradient, rows * dim, "patchEmbedBackward outputGradient")
        parallelSGEMM(transposeA: true, transposeB: false, m: dim, n: features, k: rows, alpha: 1,
                      a: dy, lda: dim, b: columns.floats, ldb: features, beta: 1,
                      c: floats(weightGradient, dim * features, "patchEmbedBackward weightGradient"), ldc: features)
        addColumnSums(of: dy, rows: rows, columns: dim, into: floats(biasGradient, dim, "patchEmbedBackward biasGradient"))
    }

    /// The patches of `images` `[batch, channels, height, width]` as rows `[batch·patches, channels·patch·patch]`,
    /// patch `n = row·(width/patch) + column`, features in the convolution weight's `(c, i, j)` order.
    private func im2col(_ images: Tensor, batch: Int, channels: Int, height: Int, width: Int, patch: Int) -> Tensor {
        precondition(height % patch == 0 && width % patch == 0, "patchEmbed: \(height)×\(width) px is not a multiple of patch \(patch)")
        let columns = width / patch
        let patches = (height / patch) * columns
        let features = channels * patch * patch
        let x = floats(images, batch * channels * height * width, "patchEmbed images")
        let im2col = Tensor(shape: [batch * patches, features])
        let cols = im2col.floats
        Parallel.forEachRange(count: batch * patches, threads: threads, minimumChunk: 64) { range in
            for item in range {
                let image = item / patches
                let row = (item % patches) / columns
                let column = item % columns
                var target = cols + item * features
                for channel in 0..<channels {
                    let origin = x + ((image * channels + channel) * height + row * patch) * width + column * patch
                    for line in 0..<patch {
                        target.update(from: origin + line * width, count: patch)
                        target += patch
                    }
                }
            }
        }
        return im2col
    }
}
