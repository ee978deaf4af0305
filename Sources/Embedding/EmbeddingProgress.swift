import Foundation

/// How far an embedding run is, as `TileEmbedder` reports it after every batch.
public struct EmbeddingProgress: Sendable, Equatable {
    /// Tiles embedded so far.
    public var done: Int
    /// Tiles in the input, when known.
    public var total: Int?
    /// Tiles that were resized and cropped to the model's input size (`TileFit.resizeCrop`) so far.
    public var resized: Int
    /// Seconds since the run started.
    public var seconds: Double

    /// A progress report (counts in tiles, time in seconds).
    public init(done: Int, total: Int?, resized: Int = 0, seconds: Double) {
        self.done = done
        self.total = total
        self.resized = resized
        self.seconds = seconds
    }

    /// Tiles per second so far (0 before the first second has any work).
    public var tilesPerSecond: Double { seconds > 0 ? Double(done) / seconds : 0 }

    /// One status line: `[#######.......]  40/100 tiles  12.3 tiles/s  eta 5s` (a bar of `barWidth` cells when
    /// the total is known, else the count and rate only).
    public func line(barWidth: Int = 30) -> String {
        let rate = tilesPerSecond
        let rateText = String(format: "%.1f tiles/s", rate)
        guard let total, total > 0 else { return "\(done) tiles  \(rateText)" }
        let filled = min(barWidth, done * barWidth / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
        let percent = done * 100 / total
        var text = "[\(bar)] \(done)/\(total) tiles (\(percent)%)  \(rateText)"
        if rate > 0, done < total { text += "  eta \(Int((Double(total - done) / rate).rounded(.up)))s" }
        return text
    }
}
