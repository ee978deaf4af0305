/// Red, green and blue pen-mark colours, by RGB threshold sets.
///
/// Source: histolab `src/histolab/filters/image_filters_functional.py` (`red_pen_filter`, `green_pen_filter`,
/// `blue_pen_filter`, Apache-2.0), which takes them from deroneriksson/python-wsi-preprocessing
/// (`deephistopath/wsi/filter.py`, `filter_red_pen` / `filter_green_pen` / `filter_blue_pen`). A pixel is a
/// pen pixel of a colour when it falls inside *any* of that colour's boxes (strict inequalities as in
/// python-wsi-preprocessing; histolab's complemented form makes the bounds inclusive, one code value apart):
/// - red:   `R > r ∧ G < g ∧ B < b`
/// - green: `R < r ∧ G > g ∧ B > b` (green ink: green and blue track together)
/// - blue:  `R < r ∧ G < g ∧ B > b`
/// H&E pink (eosin) and purple (haematoxylin) fall outside every box; TRIDENT's own pen removal is a neural
/// model, so these classic thresholds are the reference here.
public enum PenMarkFilter {
    /// A pen colour.
    public enum Color: String, Sendable, CaseIterable {
        case red, green, blue
    }

    /// histolab's red pen boxes as (r, g, b): `R > r ∧ G < g ∧ B < b`.
    public static let redBoxes: [(r: UInt8, g: UInt8, b: UInt8)] = [
        (150, 80, 90), (110, 20, 30), (185, 65, 105), (195, 85, 125), (220, 115, 145),
        (125, 40, 70), (100, 50, 65), (85, 25, 45),
    ]

    /// histolab's green pen boxes as (r, g, b): `R < r ∧ G > g ∧ B > b`.
    public static let greenBoxes: [(r: UInt8, g: UInt8, b: UInt8)] = [
        (150, 160, 140), (70, 110, 110), (45, 115, 100), (30, 75, 60), (195, 220, 210), (225, 230, 225),
        (170, 210, 200), (20, 30, 20), (50, 60, 40), (30, 50, 35), (65, 70, 60), (100, 110, 105),
        (165, 180, 180), (140, 140, 150), (185, 195, 195),
    ]

    /// histolab's blue pen boxes as (r, g, b): `R < r ∧ G < g ∧ B > b`.
    public static let blueBoxes: [(r: UInt8, g: UInt8, b: UInt8)] = [
        (60, 120, 190), (120, 170, 200), (175, 210, 230), (145, 180, 210), (37, 95, 160), (30, 65, 130),
        (130, 155, 180), (40, 35, 85), (30, 20, 65), (90, 90, 140), (60, 60, 120), (110, 110, 175),
    ]

    /// The pen colour of a pixel, or nil when it is not a pen colour.
    public static func classify(r: UInt8, g: UInt8, b: UInt8) -> Color? {
        let hits = tables.red[Int(r)] & tables.green[Int(g)] & tables.blue[Int(b)]
        for color in Color.allCases where hits & bits(of: color) != 0 { return color }
        return nil
    }

    /// Whether the pixel is a pen colour of any of `colors`.
    public static func isPen(r: UInt8, g: UInt8, b: UInt8, colors: Set<Color> = Set(Color.allCases)) -> Bool {
        Matcher(colors: colors).isPen(r: r, g: g, b: b)
    }

    /// A fast matcher for a fixed set of colours: three table look-ups and two ANDs per pixel.
    ///
    /// Each box condition is a conjunction of one test per channel, so for every channel value a 64-bit word
    /// holds one bit per box (red boxes in bits 0–7, green in 8–22, blue in 23–34) set when that channel
    /// passes the box's test; a pixel is inside some box iff the AND of its three words has a bit set.
    public struct Matcher: Sendable {
        private let red: [UInt64]
        private let green: [UInt64]
        private let blue: [UInt64]

        /// A matcher for `colors`.
        public init(colors: Set<Color>) {
            let enabled = colors.reduce(UInt64(0)) { $0 | PenMarkFilter.bits(of: $1) }
            let tables = PenMarkFilter.tables
            red = tables.red.map { $0 & enabled }
            green = tables.green
            blue = tables.blue
        }

        /// Whether the pixel lies in a box of an enabled colour.
        @inline(__always)
        public func isPen(r: UInt8, g: UInt8, b: UInt8) -> Bool {
            red[Int(r)] & green[Int(g)] & blue[Int(b)] != 0
        }
    }

    /// The bits of a colour's boxes in the tables.
    static func bits(of color: Color) -> UInt64 {
        switch color {
        case .red: (UInt64(1) << redBoxes.count) - 1
        case .green: ((UInt64(1) << greenBoxes.count) - 1) << redBoxes.count
        case .blue: ((UInt64(1) << blueBoxes.count) - 1) << (redBoxes.count + greenBoxes.count)
        }
    }

    /// Per-channel-value box bits (see `Matcher`).
    static let tables: (red: [UInt64], green: [UInt64], blue: [UInt64]) = {
        var red = [UInt64](repeating: 0, count: 256)
        var green = [UInt64](repeating: 0, count: 256)
        var blue = [UInt64](repeating: 0, count: 256)
        for value in 0 ..< 256 {
            let v = UInt8(value)
            var bit = 0
            for box in redBoxes {  // R > r ∧ G < g ∧ B < b
                if v > box.r { red[value] |= 1 << bit }
                if v < box.g { green[value] |= 1 << bit }
                if v < box.b { blue[value] |= 1 << bit }
                bit += 1
            }
            for box in greenBoxes {  // R < r ∧ G > g ∧ B > b
                if v < box.r { red[value] |= 1 << bit }
                if v > box.g { green[value] |= 1 << bit }
                if v > box.b { blue[value] |= 1 << bit }
                bit += 1
            }
            for box in blueBoxes {  // R < r ∧ G < g ∧ B > b
                if v < box.r { red[value] |= 1 << bit }
                if v < box.g { green[value] |= 1 << bit }
                if v > box.b { blue[value] |= 1 << bit }
                bit += 1
            }
        }
        return (red, green, blue)
    }()
}
