/// The pixel geometry every tile of a shard (and of a dataset) shares: `width × height` px, 3 channels
/// (RGB), uint8 samples, interleaved row-major (numpy shape `(height, width, 3)`).
public struct TileGeometry: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Tile width in px.
    public var width: Int
    /// Tile height in px.
    public var height: Int

    /// Channels per pixel (always 3: R, G, B).
    public var channels: Int { 3 }

    /// Bytes of one tile's pixels: width × height × 3.
    public var rawBytes: Int { width * height * 3 }

    /// A geometry of `width × height` px.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// A square geometry of `size × size` px.
    public init(size: Int) { self.init(width: size, height: size) }

    /// Throws `ShardError.invalidGeometry` unless 1 ≤ width, height and width × height × 3 < 2³².
    public func validate() throws(ShardError) {
        guard width >= 1, height >= 1 else {
            throw .invalidGeometry(reason: "\(width)×\(height) px: both sides must be at least 1 px")
        }
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, product <= Int(UInt32.max) / 3 else {
            throw .invalidGeometry(reason: "\(width)×\(height) px: a tile must hold less than 4 GiB of pixels")
        }
    }

    public var description: String { "\(width)×\(height)×3 uint8" }

    private enum CodingKeys: String, CodingKey { case width, height, channels, dtype }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        width = try container.decode(Int.self, forKey: .width)
        height = try container.decode(Int.self, forKey: .height)
        let channels = try container.decodeIfPresent(Int.self, forKey: .channels) ?? 3
        let dtype = try container.decodeIfPresent(String.self, forKey: .dtype) ?? "uint8"
        guard channels == 3, dtype == "uint8" else {
            throw DecodingError.dataCorruptedError(
                forKey: .channels, in: container,
                debugDescription: "only 3-channel uint8 tiles exist in format v1 (got \(channels) × \(dtype))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(3, forKey: .channels)
        try container.encode("uint8", forKey: .dtype)
    }
}
