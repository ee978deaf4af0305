/// A CSV file with a header row (RFC 4180: comma-separated, fields optionally in double quotes with `""`
/// for a quote, LF or CRLF line ends). Used for label and target files.
public struct CSVTable: Sendable, Equatable {
    /// The column names (first row).
    public let header: [String]
    /// The data rows, each with `header.count` fields.
    public let rows: [[String]]

    /// A table with the given header and rows.
    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// Reads a CSV file; blank lines are skipped.
    /// - Throws: `FeatureFileError` naming the file and line for an unterminated quote or a row whose field
    ///   count differs from the header's.
    public static func read(path: String) throws(FeatureFileError) -> CSVTable {
        try parse(String(decoding: AtomicFile.read(path), as: UTF8.self), path: path)
    }

    /// Parses CSV text; `path` names it in errors.
    /// - Throws: `FeatureFileError` as `read(path:)`.
    public static func parse(_ text: String, path: String) throws(FeatureFileError) -> CSVTable {
        var records = [(line: Int, fields: [String])]()
        var fields = [String](), field = "", quoted = false, fieldStarted = false
        var line = 1, recordLine = 1
        var characters = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRecord() {
            if fieldStarted || !fields.isEmpty || !field.isEmpty {
                fields.append(field)
                records.append((recordLine, fields))
            }
            fields = []
            field = ""
            fieldStarted = false
        }
        while let c = pending ?? characters.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = characters.next()
                    if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty:
                quoted = true
                fieldStarted = true
            case ",":
                fields.append(field)
                field = ""
                fieldStarted = true
            case "\r":
                break
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        guard !quoted else { throw FeatureFileError(path: path, "line \(recordLine): unterminated quoted field") }
        endRecord()
        guard let first = records.first else { throw FeatureFileError(path: path, "empty CSV file (no header row)") }
        let header = first.fields.map { $0.trimmingSpaces() }
        for record in records.dropFirst() where record.fields.count != header.count {
            throw FeatureFileError(path: path, "line \(record.line): \(record.fields.count) fields; the header has \(header.count)")
        }
        return CSVTable(header: header, rows: records.dropFirst().map(\.fields))
    }

    /// The index of column `name`.
    /// - Throws: `FeatureFileError` (with `path`) listing the columns when there is none by that name.
    public func column(_ name: String, path: String) throws(FeatureFileError) -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw FeatureFileError(path: path, "no column '\(name)' (columns: \(header.joined(separator: ", ")))")
        }
        return index
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
