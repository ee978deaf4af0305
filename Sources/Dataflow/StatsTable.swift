/// Renders a ``GraphSnapshot`` as the live table of `distill monitor` and `distill run --monitor`.
///
/// ```
/// graph chain · running · 12.4 s · bottleneck: work
/// STAGE    TYPE              ×  IN/s     OUT/s    BUSY  BLOCK  STARV  P50 ms  P99 ms  ERR  METRICS
/// source   synthetic-source  1  0        8123.4   12%   85%    0%     0.012   0.031   0
/// EDGE                     DEPTH / CAPACITY     FILL  MAX    ITEMS
/// source.out->work.in      64 / 64 items        100%  64     81234
/// ```
public enum StatsTable {
    /// The table as lines of plain text (no colours, no cursor codes).
    public static func render(_ snapshot: GraphSnapshot) -> String {
        var lines: [String] = []
        let runID = snapshot.runID.isEmpty ? "" : " (\(snapshot.runID))"
        lines.append("graph \(snapshot.graph)\(runID) · \(snapshot.state) · \(Decimal3.string(snapshot.elapsedSeconds)) s"
                     + " · bottleneck: \(snapshot.bottleneck ?? "none")")
        var stageRows = [["STAGE", "TYPE", "×", "IN/s", "OUT/s", "BUSY", "BLOCK", "STARV", "P50 ms", "P99 ms", "ERR", "METRICS"]]
        for stage in snapshot.stages {
            let metrics = stage.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }
            stageRows.append([
                stage.name + (stage.name == snapshot.bottleneck ? " *" : ""), stage.type, String(stage.replicas),
                number(stage.inPerSecond), number(stage.outPerSecond), percent(stage.busy), percent(stage.blocked),
                percent(stage.starved), number(stage.latencyP50Milliseconds), number(stage.latencyP99Milliseconds),
                String(stage.errors), metrics.joined(separator: " "),
            ])
        }
        lines += align(stageRows)
        var edgeRows = [["EDGE", "DEPTH / CAPACITY", "FILL", "MAX", "ITEMS", "BYTES"]]
        for edge in snapshot.edges {
            let depth = edge.unit == "bytes"
                ? "\(ByteFormat.string(edge.depthBytes)) / \(ByteFormat.string(edge.capacity))"
                : "\(edge.depth) / \(edge.capacity) items"
            edgeRows.append([edge.name, depth, percent(edge.fill), String(edge.maxDepth), String(edge.items),
                             ByteFormat.string(edge.bytes)])
        }
        lines += align(edgeRows)
        return lines.joined(separator: "\n")
    }

    static func number(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) >= 1000 { return String(Int(value.rounded())) }
        if abs(value) >= 10 { return Decimal3.string((value * 10).rounded() / 10) }
        return Decimal3.string(value)
    }

    static func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded()))%" }

    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ").trimmingWhitespace()
        }
    }
}
