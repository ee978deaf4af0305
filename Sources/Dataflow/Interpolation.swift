import Foundation

/// `${NAME}` and `${NAME:-default}` substitution from the environment in graph-file values; `$$` is a
/// literal `$`. As in the shell, the default also replaces a variable that is set but empty.
public enum Interpolation {
    /// What went wrong in a value.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unset(String)
        case unterminated
        case badName(String)

        public var description: String {
            switch self {
            case .unset(let name): return "environment variable \(name) is not set (use ${\(name):-default} for a default)"
            case .unterminated: return "unterminated ${ in value"
            case .badName(let name): return "'\(name)' is not a valid environment variable name"
            }
        }
    }

    /// Expands `text` with `environment`.
    /// - Throws: ``Failure`` for an unset variable without default, a bad name, or a missing `}`.
    public static func expand(_ text: String, environment: [String: String]) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex, rest[after] == "$" {
                output += "$"
                rest = rest[rest.index(after: after)...]
                continue
            }
            guard after < rest.endIndex, rest[after] == "{" else {
                output += "$"
                rest = rest[after...]
                continue
            }
            guard let close = rest[after...].firstIndex(of: "}") else { throw .unterminated }
            let body = rest[rest.index(after: after)..<close]
            let name: Substring
            let fallback: Substring?
            if let range = body.range(of: ":-") {
                name = body[..<range.lowerBound]
                fallback = body[range.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard let first = name.first, first == "_" || first.isLetter,
                  name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }), name.allSatisfy(\.isASCII)
            else { throw .badName(String(name)) }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw .unset(String(name))
            }
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        return output
    }
}
