import Foundation

/// Every metric an evaluation produced: what `EmbeddingEvaluator` returns, `distill eval` prints and the
/// evaluator stage writes as `eval/step-N.json`. Absent parts were not requested.
public struct EvaluationReport: Sendable, Equatable, Codable {
    /// PLISM robustness.
    public var robustness: RobustnessReport?
    /// Class names of the classification task (index = class).
    public var classNames: [String]?
    /// eva linear probe.
    public var linearProbe: LinearProbeReport?
    /// kNN.
    public var knn: KNNReport?
    /// HEST-style regression.
    public var regression: RegressionReport?

    /// An empty report.
    public init() {}

    /// The readable form: each part's table.
    public func table() -> String {
        var parts = [String]()
        if let robustness { parts.append(robustness.table()) }
        if let classNames { parts.append("classes: " + classNames.enumerated().map { "\($0) \($1)" }.joined(separator: ", ")) }
        if let linearProbe { parts.append(linearProbe.table()) }
        if let knn { parts.append(knn.line()) }
        if let regression { parts.append(regression.table()) }
        return parts.joined(separator: "\n\n")
    }

    /// Pretty-printed JSON with sorted keys; NaN and infinities as the strings "nan", "inf", "-inf".
    /// - Throws: `EncodingError` (not expected for these types).
    public func json() throws -> String {
        String(decoding: try Self.encoder().encode(self), as: UTF8.self)
    }

    /// Writes `json()` to `path` atomically (temporary name, fsync, rename).
    /// - Throws: `FeatureFileError` naming the system call that failed.
    public func write(to path: String) throws {
        try AtomicFile.write(Array(try json().utf8) + [10], to: path)
    }

    /// Decodes a report written by `json()`.
    /// - Throws: `DecodingError` for JSON that is not a report.
    public static func decode(json: String) throws -> EvaluationReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(EvaluationReport.self, from: Data(json.utf8))
    }

    /// The JSON encoder of reports.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
