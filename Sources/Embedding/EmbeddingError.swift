/// Why tiles could not be embedded. Every case names the file, folder or tile at fault.
public enum EmbeddingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input path is not a shard dataset, an image folder or an image file, or holds no tiles.
    case badInput(path: String, reason: String)
    /// One tile could not be read or decoded (PNG/JPEG error, shard corruption); `tile` names it.
    case unreadableTile(tile: String, reason: String)
    /// A tile is not of the model's input size and the fit policy is `.require`.
    case wrongTileSize(tile: String, width: Int, height: Int, expected: Int)
    /// The model failed on a batch (input shape not a multiple of the patch, say); `tiles` names the batch.
    case model(tiles: String, reason: String)

    /// One line naming the file or tile and the reason.
    public var description: String {
        switch self {
        case .badInput(let path, let reason): "\(path): \(reason)"
        case .unreadableTile(let tile, let reason): "tile \(tile): \(reason)"
        case .wrongTileSize(let tile, let width, let height, let expected):
            "tile \(tile) is \(width)×\(height) px; the model takes \(expected)×\(expected) "
                + "(use --fit resize-crop to resize and center-crop)"
        case .model(let tiles, let reason): "embedding \(tiles): \(reason)"
        }
    }
}
