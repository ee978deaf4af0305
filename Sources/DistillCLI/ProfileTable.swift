import CUDA
import Foundation

/// The text table of a `CUDAProfiler` profile (`distill bench vit|train --device cuda --profile`).
enum ProfileTable {
    /// A header with the total, then one line per operation: milliseconds, share of the total, calls, name.
    static func lines(_ rows: [CUDAProfiler.Row], title: String) -> [String] {
        let total = rows.reduce(0) { $0 + $1.milliseconds }
        var lines = [String(format: "  profile (%@): %.2f ms of device time, call by call", title, total),
                     "        ms   share   calls  operation"]
        for row in rows {
            lines.append(String(format: "  %8.3f  %5.1f %%  %6d  %@", row.milliseconds, total > 0 ? 100 * row.milliseconds / total : 0,
                                row.calls, row.name))
        }
        return lines
    }
}
