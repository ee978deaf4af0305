/// A training input or configuration the objective cannot work with. Every case names what was wrong and
/// where, so that a stopped run can say which batch row or parameter caused it.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A logit (student or teacher) is NaN or ±∞: `what` names the tensor (e.g. "student DINO local crop 3"),
    /// `row` its row within that tensor, `column` the prototype, `value` what was found.
    case nonFiniteLogit(what: String, row: Int, column: Int, value: Float)
    /// A feature (feature distillation) is NaN or ±∞.
    case nonFiniteFeature(what: String, row: Int, column: Int, value: Float)
    /// A tensor's shape differs from the one the objective expects.
    case shapeMismatch(what: String, expected: [Int], actual: [Int])
    /// A parameter (name) is not in the parameter table, or two ranges overlap or leave the buffer.
    case badParameterTable(String)
    /// A setting out of its domain (e.g. a non-positive temperature, a schedule with more warmup than iterations).
    case invalidConfiguration(String)

    /// One line naming what was wrong and where.
    public var description: String {
        switch self {
        case .nonFiniteLogit(let what, let row, let column, let value):
            "\(what): non-finite logit \(value) at row \(row), prototype \(column)"
        case .nonFiniteFeature(let what, let row, let column, let value):
            "\(what): non-finite feature \(value) at row \(row), column \(column)"
        case .shapeMismatch(let what, let expected, let actual):
            "\(what): expected shape \(expected), got \(actual)"
        case .badParameterTable(let message):
            "parameter table: \(message)"
        case .invalidConfiguration(let message):
            "invalid training configuration: \(message)"
        }
    }
}
