/// A slide's staining and scanner, read from its name as plismbench does (`{STAIN}_{SCANNER}_…`, e.g.
/// `GMH_S60_to_GMH_S60.tif`: staining GMH, scanner S60; PB `utils/evaluate.py`).
public struct SlideLabel: Sendable, Hashable, Codable {
    /// The slide name (feature file stem, or plismbench's slide folder name).
    public var name: String
    /// The first `_`-separated field.
    public var staining: String
    /// The second `_`-separated field.
    public var scanner: String

    /// The label of slide `name`.
    /// - Throws: `EvaluationError` when the name has fewer than two `_`-separated fields.
    public init(name: String) throws(EvaluationError) {
        let fields = name.split(separator: "_", omittingEmptySubsequences: false)
        guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
            throw EvaluationError("slide name '\(name)' is not STAINING_SCANNER[_…] (e.g. GMH_S60_to_GMH_S60.tif)")
        }
        self.name = name
        staining = String(fields[0])
        scanner = String(fields[1])
    }
}
