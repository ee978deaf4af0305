/// Inputs that a metric cannot be computed on (mismatched tiles, zero or non-finite embeddings, too few
/// samples, an unknown label, a failed LAPACK call); the message names the slide, tile, row or class.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    /// What is wrong.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
