/// The kind of value a stage parameter takes, which decides how graph-file text is parsed.
public enum ParameterKind: Sendable, Equatable, CustomStringConvertible {
    /// A whole number, optionally within a range.
    case integer(ClosedRange<Int>? = nil)
    /// A real number.
    case number
    /// `true` or `false`.
    case boolean
    /// Any text.
    case string
    /// A duration such as `250us`, `1.5ms`, `2s`, `1m` (stored in seconds).
    case duration
    /// A size such as `4096`, `64 KiB`, `1.5 GB` (stored in bytes).
    case bytes
    /// One of a fixed set of words.
    case choice([String])
    /// A list of strings (`[a, b]` or a YAML sequence).
    case stringList

    public var description: String {
        switch self {
        case .integer(let range?) where range.lowerBound == 0 && range.upperBound == Int.max:
            return "a non-negative integer"
        case .integer(let range?) where range.upperBound == Int.max: return "an integer ≥ \(range.lowerBound)"
        case .integer(let range?): return "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .integer(nil): return "an integer"
        case .number: return "a number"
        case .boolean: return "true or false"
        case .string: return "a string"
        case .duration: return "a duration (e.g. 250us, 1.5ms, 2s)"
        case .bytes: return "a size in bytes (e.g. 4096, 64 KiB, 1 MiB)"
        case .choice(let words): return "one of " + words.joined(separator: ", ")
        case .stringList: return "a list of strings"
        }
    }
}

/// A parsed parameter value.
public enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case string(String)
    /// Seconds.
    case duration(Double)
    /// Bytes.
    case bytes(Int)
    case stringList([String])

    public var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .number(let v): return String(v)
        case .boolean(let v): return String(v)
        case .string(let v): return v
        case .duration(let v): return DurationFormat.string(seconds: v)
        case .bytes(let v): return ByteFormat.string(v)
        case .stringList(let v): return "[" + v.joined(separator: ", ") + "]"
        }
    }
}

/// The declaration of one stage parameter: its name in graph files, kind, default and meaning.
public struct ParameterSpec: Sendable {
    public let name: String
    public let kind: ParameterKind
    /// The value used when the graph file omits it; nil makes the parameter required.
    public let defaultValue: ParameterValue?
    /// One line for `distill stages` and error messages.
    public let summary: String
    /// Whether a resumed run (`distill run --resume`) must have the value of the run it continues (a schedule's
    /// length, the batch, the learning rate…): a different one is refused before the run starts (``RunSession``).
    public let fixedOnResume: Bool

    public init(_ name: String, _ kind: ParameterKind, default defaultValue: ParameterValue? = nil, _ summary: String,
                fixedOnResume: Bool = false) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
        self.fixedOnResume = fixedOnResume
    }

    /// `true`/`yes`/`on` or `false`/`no`/`off` (any case), as graph files write flags; nil otherwise.
    public static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// Parses graph-file text for this parameter.
    /// - Returns: the value, or nil when the text is not of this parameter's kind.
    public func parse(_ text: String) -> ParameterValue? {
        switch kind {
        case .integer(let range):
            guard let v = Int(text.replacingUnderscores()) else { return nil }
            if let range, !range.contains(v) { return nil }
            return .integer(v)
        case .number:
            return Double(text.replacingUnderscores()).map { .number($0) }
        case .boolean:
            return Self.boolean(text).map { .boolean($0) }
        case .string:
            return .string(text)
        case .duration:
            return DurationFormat.parse(text).map { .duration($0) }
        case .bytes:
            return ByteFormat.parse(text.replacingUnderscores()).map { .bytes($0) }
        case .choice(let words):
            return words.contains(text) ? .string(text) : nil
        case .stringList:
            return .stringList([text])
        }
    }
}

/// A parameter value a stage rejected in its initialiser (a range, a combination of values…).
/// The validator reports it at the parameter's line in the graph file.
public struct ParameterError: Error, CustomStringConvertible {
    /// The parameter name.
    public let key: String
    public let message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// Parsing and printing durations (`250us`, `1.5ms`, `2s`, `1m`, `1h`; a bare number is seconds).
public enum DurationFormat {
    /// Unit name, and the value of one unit in seconds as a multiplier or a divisor (dividing keeps
    /// `20us` exactly 20 / 1e6 rather than 20 × 1e-6).
    static let units: [(name: String, times: Double, over: Double)] = [
        ("ns", 1, 1e9), ("us", 1, 1e6), ("µs", 1, 1e6), ("ms", 1, 1e3), ("s", 1, 1), ("m", 60, 1), ("min", 60, 1),
        ("h", 3600, 1),
    ]

    /// Seconds, or nil for text that is not a non-negative duration.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace()
        guard !digits.isEmpty, let value = Double(digits) else { return nil }
        if unit.isEmpty { return value }
        return units.first(where: { $0.name == unit }).map { value * $0.times / $0.over }
    }

    /// The exact value in the largest unit that keeps it a whole number (`250us`, `2s`, `1500ns`), or in
    /// seconds with full precision; ``parse(_:)`` reads it back to the same value.
    public static func exactString(seconds: Double) -> String {
        for (name, over) in [("s", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)] {
            let scaled = seconds * over
            if scaled == scaled.rounded(), abs(scaled) < 1e15, parse("\(Int(scaled))\(name)") == seconds {
                return "\(Int(scaled))\(name)"
            }
        }
        return "\(seconds)s"
    }

    /// A short human form: `250us`, `1.5ms`, `2s`.
    public static func string(seconds: Double) -> String {
        if seconds == 0 { return "0s" }
        if seconds < 1e-3 { return Decimal3.string(seconds * 1e6) + "us" }
        if seconds < 1 { return Decimal3.string(seconds * 1e3) + "ms" }
        return Decimal3.string(seconds) + "s"
    }
}

extension String {
    /// `1_000_000` → `1000000`, as YAML 1.1 allows.
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
