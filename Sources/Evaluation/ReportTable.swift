/// Plain-text tables for the reports (left-aligned text columns, two spaces apart).
enum ReportTable {
    /// The header, a rule and the rows, each column as wide as its widest cell.
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
            .joined(separator: "\n")
    }

    /// A metric value with 4 decimals ("nan" for NaN).
    static func number(_ value: Double, decimals: Int = 4) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0 ..< decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        let digits = String(fraction)
        return (value < 0 && scaled > 0 ? "-" : "") + "\(whole)."
            + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
    }
}
