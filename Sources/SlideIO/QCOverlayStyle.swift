extension QCOverlay {
    /// An 8-bit RGB colour.
    public struct Color: Sendable, Equatable, Hashable, Codable {
        /// Red, 0–255.
        public var r: UInt8
        /// Green, 0–255.
        public var g: UInt8
        /// Blue, 0–255.
        public var b: UInt8

        /// A colour from its components.
        public init(r: UInt8, g: UInt8, b: UInt8) {
            self.r = r
            self.g = g
            self.b = b
        }
    }

    /// Colours and choices of a QC thumbnail.
    public struct Style: Sendable, Equatable, Codable {
        /// Tint laid over tissue pixels of the mask.
        public var maskColor: Color
        /// Opacity of the tint, 0…1 (0 leaves the thumbnail as it is).
        public var maskOpacity: Double
        /// Outline of tiles that were kept.
        public var keptColor: Color
        /// Outline of tiles that were rejected (tissue fraction below the minimum).
        public var rejectedColor: Color
        /// Whether to outline rejected tiles with no tissue at all; off by default, because on a mostly-glass
        /// slide they would cover the picture.
        public var outlinesEmptyRejectedTiles: Bool

        /// A style; the defaults are a 35 % blue tint, green kept and red rejected outlines.
        public init(maskColor: Color = Color(r: 0, g: 90, b: 255), maskOpacity: Double = 0.35,
                    keptColor: Color = Color(r: 0, g: 190, b: 0), rejectedColor: Color = Color(r: 230, g: 0, b: 0),
                    outlinesEmptyRejectedTiles: Bool = false) {
            self.maskColor = maskColor
            self.maskOpacity = min(max(maskOpacity, 0), 1)
            self.keptColor = keptColor
            self.rejectedColor = rejectedColor
            self.outlinesEmptyRejectedTiles = outlinesEmptyRejectedTiles
        }
    }
}
