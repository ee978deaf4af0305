/// The validated parameters of one stage (graph file values, `--set` overrides, then defaults).
///
/// Accessors take the declared name; asking for an undeclared name or the wrong kind is a programming
/// error in the stage and traps with a message naming both.
public struct StageParameters: Sendable {
    /// The stage's name in the graph (for messages).
    public let stageName: String
    /// Values by parameter name; every declared parameter with a value or default is present.
    public let values: [String: ParameterValue]

    public init(stageName: String, values: [String: ParameterValue]) {
        self.stageName = stageName
        self.values = values
    }

    private func value(_ name: String) -> ParameterValue {
        guard let value = values[name] else {
            preconditionFailure("stage '\(stageName)' read parameter '\(name)', which it did not declare")
        }
        return value
    }

    /// Whether the parameter has a value (optional parameters without default may be absent).
    public func has(_ name: String) -> Bool { values[name] != nil }

    public func integer(_ name: String) -> Int {
        guard case .integer(let v) = value(name) else { wrongKind(name, "integer") }
        return v
    }

    public func number(_ name: String) -> Double {
        switch value(name) {
        case .number(let v): return v
        case .integer(let v): return Double(v)
        default: wrongKind(name, "number")
        }
    }

    public func boolean(_ name: String) -> Bool {
        guard case .boolean(let v) = value(name) else { wrongKind(name, "boolean") }
        return v
    }

    /// A string or choice parameter.
    public func string(_ name: String) -> String {
        guard case .string(let v) = value(name) else { wrongKind(name, "string") }
        return v
    }

    /// A duration parameter, in seconds.
    public func seconds(_ name: String) -> Double {
        guard case .duration(let v) = value(name) else { wrongKind(name, "duration") }
        return v
    }

    /// A size parameter, in bytes.
    public func bytes(_ name: String) -> Int {
        guard case .bytes(let v) = value(name) else { wrongKind(name, "bytes") }
        return v
    }

    public func stringList(_ name: String) -> [String] {
        guard case .stringList(let v) = value(name) else { wrongKind(name, "string list") }
        return v
    }

    private func wrongKind(_ name: String, _ kind: String) -> Never {
        preconditionFailure("stage '\(stageName)' read parameter '\(name)' as \(kind), but it holds \(value(name))")
    }
}
