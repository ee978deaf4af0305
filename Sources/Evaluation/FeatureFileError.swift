/// A feature, label or target file that cannot be read or written: the message names the file and the
/// dataset, column, row or tile at fault.
public struct FeatureFileError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public let path: String
    /// What is wrong, naming the key (dataset, attribute, column) or tile (row) where there is one.
    public let message: String

    /// An error about `path`.
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    /// "path: message".
    public var description: String { "\(path): \(message)" }
}
