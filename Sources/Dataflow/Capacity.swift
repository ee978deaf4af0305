/// How much an edge may hold before its producers wait: a number of items, or a number of bytes of
/// ``ByteSized`` payload.
///
/// Written in graph files as an integer (`capacity: 64`, items) or a size with a unit
/// (`capacity: 256 MiB`, bytes; units B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024)).
public enum Capacity: Sendable, Equatable, CustomStringConvertible {
    case items(Int)
    case bytes(Int)

    public var description: String {
        switch self {
        case .items(let n): return "\(n) items"
        case .bytes(let n): return ByteFormat.string(n)
        }
    }

    /// The unit name used in snapshots: `items` or `bytes`.
    public var unit: String {
        switch self {
        case .items: return "items"
        case .bytes: return "bytes"
        }
    }

    /// The bound as a number in ``unit``.
    public var limit: Int {
        switch self {
        case .items(let n), .bytes(let n): return n
        }
    }
}

/// Parsing and printing byte sizes (`64 KiB`, `1.5 GB`, `4096`).
public enum ByteFormat {
    static let units: [(String, Double)] = [
        ("B", 1), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
    ]

    /// Parses `N UNIT` (space optional, unit case-sensitive as listed in ``Capacity``) into bytes.
    /// Returns nil for anything else, including negative or fractional byte counts.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace()
        guard !digits.isEmpty, let value = Double(digits) else { return nil }
        guard let scale = unit.isEmpty ? 1 : units.first(where: { $0.0 == unit })?.1 else { return nil }
        let bytes = value * scale
        guard bytes.rounded() == bytes, bytes < Double(Int.max) else { return nil }
        return Int(bytes)
    }

    /// The exact size in the largest binary unit that keeps it a whole number (`64 KiB`, `1500 B`);
    /// ``parse(_:)`` reads it back to the same value.
    public static func exactString(_ bytes: Int) -> String {
        for (name, scale) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes != 0 && bytes % scale == 0 {
            return "\(bytes / scale) \(name)"
        }
        return "\(bytes) B"
    }

    /// Formats bytes with a binary unit, rounded for display: `1 MiB`, `1.465 KiB`, `512 B`.
    public static func string(_ bytes: Int) -> String {
        for (name, scale) in [("TiB", 1_099_511_627_776.0), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024)]
        where Double(bytes) >= scale {
            return "\(Decimal3.string(Double(bytes) / scale)) \(name)"
        }
        return "\(bytes) B"
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// Compact decimal formatting without Foundation: at most 3 significant decimals, trailing zeros removed.
enum Decimal3 {
    static func string(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        if scaled == scaled.rounded() { return String(Int(scaled)) }
        var text = String(scaled)
        if text.contains("e") { return text }
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
