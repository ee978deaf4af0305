/// Why a PNG file could not be read or written. Every case names the file.
public enum PNGError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or decoded (missing, not a PNG, truncated, corrupt); `reason` is
    /// libpng's message or the system error.
    case cannotRead(path: String, reason: String)
    /// The image could not be encoded or the file could not be written, synced or renamed into place.
    case cannotWrite(path: String, reason: String)

    /// One line naming the file and the reason.
    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read PNG \(path): \(reason)"
        case .cannotWrite(let path, let reason): "cannot write PNG \(path): \(reason)"
        }
    }
}
