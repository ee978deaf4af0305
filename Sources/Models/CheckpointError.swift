/// A checkpoint whose tensors do not match the model: every missing, unused and mis-shaped key, in one error.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
    /// One tensor whose shape differs from the model's.
    public struct Misshaped: Sendable, Equatable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]

        public init(key: String, expected: [Int], found: [Int]) {
            self.key = key
            self.expected = expected
            self.found = found
        }
    }

    /// The checkpoint file.
    public let path: String
    /// The model config's name.
    public let model: String
    /// The key layout the checkpoint was read as.
    public let layout: CheckpointLayout
    /// Keys the model needs that the file lacks (in the file's layout), sorted.
    public let missing: [String]
    /// Keys in the file the model does not use, sorted.
    public let unused: [String]
    /// Keys present with the wrong shape.
    public let misshaped: [Misshaped]

    public init(path: String, model: String, layout: CheckpointLayout, missing: [String], unused: [String], misshaped: [Misshaped]) {
        self.path = path
        self.model = model
        self.layout = layout
        self.missing = missing
        self.unused = unused
        self.misshaped = misshaped
    }

    public var description: String {
        var lines = ["checkpoint \(path) does not match model \(model) (\(layout.rawValue) key layout):"]
        if !missing.isEmpty { lines.append("  missing (\(missing.count)): \(missing.joined(separator: ", "))") }
        if !unused.isEmpty { lines.append("  unused (\(unused.count)): \(unused.joined(separator: ", "))") }
        for item in misshaped {
            lines.append("  wrong shape: \(item.key) is \(item.found), expected \(item.expected)")
        }
        return lines.joined(separator: "\n")
    }
}
