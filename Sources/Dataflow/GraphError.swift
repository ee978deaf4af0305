/// One mistake in a graph file, as one line: `FILE:LINE: KEY: MESSAGE`.
public struct GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The graph file path as given.
    public let file: String
    /// 1-based line of the offending key or value; nil for command-line overrides and whole-file errors.
    public let line: Int?
    /// Dotted path of the key (`stages.work.params.count`, `edges[2].capacity`, `--set work.count`).
    public let key: String
    /// What is wrong and, where possible, what is accepted instead.
    public let message: String

    /// One error; `line` is 1-based, nil for command-line overrides.
    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// Every mistake found in a graph file (validation does not stop at the first). `distill` prints one
/// line per error and exits with code 2.
public struct GraphErrors: Error, Sendable, CustomStringConvertible {
    /// The errors in file order, overrides last.
    public let errors: [GraphError]

    /// Wraps the errors found by one validation pass.
    public init(_ errors: [GraphError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
