import Foundation

/// Per-slide resolution overrides, read from a small, strict CSV file:
///
/// ```
/// # comments and blank lines are ignored
/// slide,mpp
/// tcga-cr-7395-01a-01-ts1.svs,0.2527
/// cohort-b/scan-17.tiff,0.5
/// ```
///
/// - The header `slide,mpp` is optional (first data line only).
/// - Each line has exactly two comma-separated fields, trimmed of spaces: a slide key and its mpp in
///   µm/px, a finite number in ``plausibleMPP``. Quoted fields are not supported.
/// - A key with a `/` is a path (relative paths are relative to the CSV's directory) and matches exactly
///   that slide; a key without one is a file name and matches any slide with that name. A path match wins
///   over a name match. The same key twice is an error naming both lines.
///
/// Every error is ``SlideError/invalidMPPOverrides(file:line:detail:)`` with the 1-based line number.
public struct MPPOverrideTable: Sendable, Equatable {
    /// One override.
    public struct Entry: Sendable, Equatable {
        /// The slide key as written (a file name, or a path if it contains `/`).
        public let slide: String
        /// µm per level-0 px, both axes.
        public let mpp: Double
        /// The 1-based line it came from.
        public let line: Int
    }

    /// The accepted range of override values, in µm/px (a typo such as 25 for 0.25 is an error).
    public static let plausibleMPP: ClosedRange<Double> = 0.01...100

    /// The CSV file the table came from (as given), named in errors and in ``MPPSource/slideOverride(file:line:)``.
    public let file: String
    /// The entries in file order.
    public let entries: [Entry]
    private let baseDirectory: String

    /// Reads and parses the CSV at `path`.
    /// - Throws: ``SlideError/invalidMPPOverrides(file:line:detail:)`` (line 0 when the file cannot be read).
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SlideError.invalidMPPOverrides(file: path, line: 0, detail: "cannot read the mpp override file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SlideError.invalidMPPOverrides(file: path, line: 0, detail: "the mpp override file is not UTF-8 text")
        }
        try self.init(csv: text, file: path)
    }

    /// Parses CSV text; `file` names it in errors, and relative path keys are resolved against
    /// `baseDirectory` (default: `file`'s directory).
    /// - Throws: ``SlideError/invalidMPPOverrides(file:line:detail:)``.
    public init(csv text: String, file: String, baseDirectory: String? = nil) throws {
        self.file = file
        self.baseDirectory = baseDirectory ?? (file as NSString).deletingLastPathComponent
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var sawData = false
        // `\r\n` is one Character in Swift, so split on any newline Character (LF, CRLF, CR).
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (offset, rawLine) in lines.enumerated() {
            let number = offset + 1
            var line = String(rawLine)
            if number == 1, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func fail(_ detail: String) -> SlideError {
                .invalidMPPOverrides(file: file, line: number, detail: detail)
            }
            if trimmed.contains("\"") { throw fail("quoted fields are not supported (expected `slide,mpp`)") }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            guard fields.count == 2 else {
                throw fail("expected 2 fields `slide,mpp`, found \(fields.count)")
            }
            if !sawData {
                sawData = true
                if fields[0].lowercased() == "slide" && fields[1].lowercased() == "mpp" { continue }
            }
            guard !fields[0].isEmpty else { throw fail("empty slide name") }
            guard let mpp = Double(fields[1]), mpp.isFinite else {
                throw fail("mpp '\(fields[1])' is not a number (µm/px)")
            }
            guard Self.plausibleMPP.contains(mpp) else {
                throw fail("mpp \(fields[1]) µm/px is outside \(Self.plausibleMPP.lowerBound)–\(Self.plausibleMPP.upperBound) µm/px")
            }
            let key = Self.normalisedKey(fields[0], baseDirectory: self.baseDirectory)
            if let earlier = seen[key] {
                throw fail("'\(fields[0])' is listed twice (first on line \(earlier))")
            }
            seen[key] = number
            entries.append(Entry(slide: fields[0], mpp: mpp, line: number))
        }
        self.entries = entries
    }

    /// The override for the slide at `slidePath`: the entry whose path key names that file, else the entry
    /// whose file-name key equals its file name, else nil.
    public func entry(forSlide slidePath: String) -> Entry? {
        let absolute = Self.absolute(slidePath, baseDirectory: FileManager.default.currentDirectoryPath)
        if let byPath = entries.first(where: { $0.slide.contains("/") && Self.absolute($0.slide, baseDirectory: baseDirectory) == absolute }) {
            return byPath
        }
        let name = (slidePath as NSString).lastPathComponent
        return entries.first { !$0.slide.contains("/") && $0.slide == name }
    }

    private static func normalisedKey(_ key: String, baseDirectory: String) -> String {
        key.contains("/") ? "path:" + absolute(key, baseDirectory: baseDirectory) : "name:" + key
    }

    private static func absolute(_ path: String, baseDirectory: String) -> String {
        let full = path.hasPrefix("/") ? path : (baseDirectory.isEmpty ? path : (baseDirectory as NSString).appendingPathComponent(path))
        let anchored = full.hasPrefix("/") ? full : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(full)
        return (anchored as NSString).standardizingPath
    }
}
