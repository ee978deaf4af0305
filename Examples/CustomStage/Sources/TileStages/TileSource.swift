import Distillery

/// `tile-source`: emits `count` synthetic H&E-like RGB tiles, dealt round-robin to `slides`.
///
/// A tile is tissue (hematoxylin purple and eosin pink over some background) with probability
/// `tissue_ratio`, otherwise near-white background. Every pixel is a function of (run seed, tile
/// index, pixel index), so a run with the same seed makes the same tiles whatever the replicas.
/// With `replicas: R`, replica r emits tiles r, r + R, r + 2R…
public actor TileSource: Stage {
    public static let summary = "Emits synthetic H&E-like RGB tiles (tissue or background)"
    public static let output = OutputPort<Tile>("out")
    public static var outputs: [PortSpec] { [output.spec] }
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("count", .integer(0...Int.max), default: .integer(1000), "tiles to emit in total"),
        ParameterSpec("tile_size", .integer(8...1024), default: .integer(64), "tile width and height, pixels"),
        ParameterSpec("tissue_ratio", .number, default: .number(0.6), "probability that a tile shows tissue, 0…1"),
        ParameterSpec("slides", .stringList, default: .stringList(["synthetic-slide"]), "slide ids the tiles are dealt to"),
    ]

    let count: Int
    let tileSize: Int
    let tissueRatio: Double
    let slides: [String]

    public init(parameters: StageParameters) throws {
        count = parameters.integer("count")
        tileSize = parameters.integer("tile_size")
        tissueRatio = parameters.number("tissue_ratio")
        slides = parameters.stringList("slides")
        guard (0...1).contains(tissueRatio) else { throw ParameterError(key: "tissue_ratio", "must be between 0 and 1") }
        guard !slides.isEmpty else { throw ParameterError(key: "slides", "needs at least one slide id") }
    }

    public func run(_ context: StageContext) async throws {
        let tiles = try context.outbox(Self.output)
        for index in stride(from: context.replica, to: count, by: context.replicas) {
            try Task.checkCancellation()  // a drain (Ctrl-C) cancels sources
            try await tiles.send(makeTile(index, seed: context.seed))
        }
    }

    /// Tile `index`: position on a 100-column grid of its slide, pixels from a counter-based generator.
    func makeTile(_ index: Int, seed: UInt64) -> Tile {
        let slideIndex = index % slides.count
        let position = index / slides.count
        var random = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let isTissue = random.unit() < tissueRatio
        let tissueShare = isTissue ? 0.5 + 0.5 * random.unit() : 0  // rest is background
        var pixels = [UInt8](repeating: 0, count: tileSize * tileSize * 3)
        for pixel in 0..<(tileSize * tileSize) {
            let base: (Double, Double, Double)
            let roll = random.unit()
            if roll < tissueShare {
                // Hematoxylin (nuclei, purple) or eosin (stroma, pink).
                base = roll < tissueShare * 0.35 ? (95, 60, 150) : (225, 130, 185)
            } else {
                base = (238, 236, 240)
            }
            pixels[pixel * 3] = Self.byte(base.0 + (random.unit() - 0.5) * 16)
            pixels[pixel * 3 + 1] = Self.byte(base.1 + (random.unit() - 0.5) * 16)
            pixels[pixel * 3 + 2] = Self.byte(base.2 + (random.unit() - 0.5) * 16)
        }
        return Tile(
            index: index, slide: slides[slideIndex], x: (position % 100) * tileSize, y: (position / 100) * tileSize,
            width: tileSize, height: tileSize, pixels: pixels)
    }

    static func byte(_ value: Double) -> UInt8 { UInt8(max(0, min(255, value.rounded()))) }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small counter-based generator, enough for synthetic pixels.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
