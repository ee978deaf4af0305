/// A model config file that cannot be used; names the file and the key.
public struct ViTConfigError: Error, Equatable, CustomStringConvertible {
    /// The config file (or a description of the source).
    public let source: String
    /// The offending key, or nil for the file as a whole.
    public let key: String?
    public let reason: String

    public init(source: String, key: String?, reason: String) {
        self.source = source
        self.key = key
        self.reason = reason
    }

    public var description: String {
        if let key { return "\(source): \(key): \(reason)" }
        return "\(source): \(reason)"
    }
}
