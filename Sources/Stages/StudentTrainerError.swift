/// A `student-trainer` run that cannot continue: a checkpoint that does not belong to this run, or an input without
/// one whole batch.
public struct StudentTrainerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "student-trainer: \(message)" }
}
