/// torchvision's `ToTensor()` + `Normalize(mean, std)` of an RGB8 image: planar `[3, H, W]` float32 with
/// `x_c = (v/255 − mean_c) / std_c`, each step in float32 as torch does it (`v/255` is a division, mean and std
/// are the float32 nearest to the given values; distillation-spec.md §6.10, §2.9). Applied through a 3 × 256
/// table, so it is exactly torch's value for every byte.
public struct Normalization: Sendable, Equatable {
    /// Per-channel mean, as float32.
    public let mean: [Float]
    /// Per-channel standard deviation, as float32.
    public let std: [Float]
    /// `table[c · 256 + v]` = the normalised value of byte `v` in channel `c`.
    let table: [Float]

    /// H-optimus-0's statistics (also H0-mini's): mean (0.707223, 0.578729, 0.703617), std (0.211883, 0.230117,
    /// 0.177517) [hf:H-optimus-0].
    public static let hOptimus = Normalization(mean: [0.707223, 0.578729, 0.703617], std: [0.211883, 0.230117, 0.177517])

    /// - Precondition: three means and three positive standard deviations.
    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == 3 && std.count == 3, "normalisation needs 3 means and 3 standard deviations")
        precondition(std.allSatisfy { $0 > 0 }, "standard deviations must be positive, got \(std)")
        self.mean = mean.map { Float($0) }
        self.std = std.map { Float($0) }
        var table = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            for value in 0..<256 {
                table[channel * 256 + value] = (Float(value) / 255 - self.mean[channel]) / self.std[channel]
            }
        }
        self.table = table
    }

    /// The normalised value of byte `value` in `channel` (0 = R, 1 = G, 2 = B).
    public func value(_ value: UInt8, channel: Int) -> Float { table[channel * 256 + Int(value)] }

    /// Writes `image` as planar `[3, H, W]` floats at `target`.
    /// - Precondition: `target` has room for `3 · H · W` floats.
    public func write(_ image: RGBImage, to target: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        table.withUnsafeBufferPointer { lookup in
            image.pixels.withUnsafeBufferPointer { pixels in
                let t = lookup.baseAddress!, p = pixels.baseAddress!
                let red = target, green = target + plane, blue = target + 2 * plane
                for index in 0..<plane {
                    red[index] = t[Int(p[index * 3])]
                    green[index] = t[256 + Int(p[index * 3 + 1])]
                    blue[index] = t[512 + Int(p[index * 3 + 2])]
                }
            }
        }
    }

    /// `image` as planar `[3, H, W]` floats.
    public func tensor(_ image: RGBImage) -> [Float] {
        [Float](unsafeUninitializedCapacity: 3 * image.width * image.height) { buffer, count in
            write(image, to: buffer.baseAddress!)
            count = buffer.count
        }
    }
}
