/// Why a JPEG file could not be read. Every case names the file.
public enum JPEGError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or read; `reason` is the system error.
    case cannotOpen(path: String, reason: String)
    /// The data is not a JPEG stream libjpeg-turbo can decode to RGB (not a JPEG, truncated, corrupt entropy
    /// data, an unsupported process such as lossless or arithmetic coding in builds without it, CMYK);
    /// `reason` is libjpeg's message.
    case cannotDecode(path: String, reason: String)

    /// One line naming the file and the reason.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot read JPEG \(path): \(reason)"
        case .cannotDecode(let path, let reason): "cannot decode JPEG \(path): \(reason)"
        }
    }
}
