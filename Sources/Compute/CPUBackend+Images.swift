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
        precondition(height % patch == 0 && width % patch == 0, "patchEmbed: \(height)×\(width) px is not a multiple of patch \(patch)")
        let rows = height / patch
        let columns = width / patch
        let patches = rows * columns
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
        linear(input: im2col, weight: weight.reshaped([dim, features]), bias: bias, output: output,
               rows: batch * patches, inFeatures: features, outFeatures: dim)
    }
}
