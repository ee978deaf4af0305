import Dataflow

/// One slide to tile: what `slide-list` emits and `slide-reader` consumes.
public struct SlideJob: Sendable, Equatable {
    /// The slide file (for DICOM, the `.dcm` file).
    public let path: String
    /// The slide's id in the shards, the summary and resume: its file name, or a path relative to the input
    /// directory when two inputs share a file name. Any characters, periods included.
    public let slideID: String
    /// A per-slide mpp that wins over every other source, or nil.
    public let mppOverride: Double?
    /// The pass over the slide list this job belongs to (`slide-list`'s `epochs`); its tiles carry it.
    public let epoch: Int

    public init(path: String, slideID: String, mppOverride: Double? = nil, epoch: Int = 0) {
        self.path = path
        self.slideID = slideID
        self.mppOverride = mppOverride
        self.epoch = epoch
    }
}

/// One tile: `size × size` RGB8 pixels with where it came from.
public struct TileSample: ByteSized, Equatable {
    /// The slide id (`SlideJob.slideID`).
    public let slideID: String
    /// Level-0 x of the tile's left edge.
    public let x: Int
    /// Level-0 y of the tile's top edge.
    public let y: Int
    /// The tile's resolution, µm/px (the grid's target mpp).
    public let mpp: Double
    /// Tissue fraction of the tile, 0…1.
    public let tissueFraction: Float
    /// Side in px.
    public let size: Int
    /// `size × size × 3` bytes, row-major RGB.
    public let pixels: [UInt8]
    /// The epoch the tile was read in (0 for a single pass); `multi-crop` keys its randomness with it.
    public let epoch: Int

    public init(slideID: String, x: Int, y: Int, mpp: Double, tissueFraction: Float, size: Int, pixels: [UInt8], epoch: Int = 0) {
        precondition(pixels.count == size * size * 3, "a \(size)×\(size) tile needs \(size * size * 3) bytes, got \(pixels.count)")
        self.slideID = slideID
        self.x = x
        self.y = y
        self.mpp = mpp
        self.tissueFraction = tissueFraction
        self.size = size
        self.pixels = pixels
        self.epoch = epoch
    }

    public var byteCount: Int { pixels.count }
}

/// How one slide ended.
public struct SlideReport: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Equatable, Codable {
        /// Tiled (possibly zero tiles: no tissue, or smaller than a tile).
        case ok
        /// Not tiled on purpose: a dark-background (fluorescence) slide under the `reject` policy.
        case fluorescence
        /// Could not be opened, has no mpp, DICOM, unreadable pixels…: `error` says why.
        case failed
        /// Stopped after too many tile read errors; tiles written before are not kept.
        case quarantined
        /// Already complete in the dataset (resume): not read again.
        case skipped
        /// Cut short by the run's drain (SIGINT/SIGTERM): `shard-writer` removes its tiles so far before the run
        /// ends, and the next run tiles it again.
        case interrupted
    }

    public let slideID: String
    public let path: String
    public var status: Status
    /// Tiles emitted (or, for `skipped`, 0).
    public var tiles: Int
    /// Tiles whose read failed.
    public var tileErrors: Int
    /// Level-0 mpp of the slide (x), if resolved.
    public var mpp: Double?
    /// Where the mpp came from (`MPPSource.description`).
    public var mppSource: String?
    /// Why the slide failed or was not tiled.
    public var error: String?
    /// Tissue fraction of the thumbnail, if detected.
    public var tissueFraction: Double?
    /// Seconds spent on the slide by the reader.
    public var seconds: Double

    public init(slideID: String, path: String, status: Status, tiles: Int = 0, tileErrors: Int = 0, mpp: Double? = nil,
                mppSource: String? = nil, error: String? = nil, tissueFraction: Double? = nil, seconds: Double = 0) {
        self.slideID = slideID
        self.path = path
        self.status = status
        self.tiles = tiles
        self.tileErrors = tileErrors
        self.mpp = mpp
        self.mppSource = mppSource
        self.error = error
        self.tissueFraction = tissueFraction
        self.seconds = seconds
    }

    /// Whether the slide is done for good (its id joins the dataset's completed sources, so a re-run skips it):
    /// tiled. Failed, quarantined, interrupted and fluorescence-rejected slides are tried again on the next run (a
    /// rejected slide costs a thumbnail, and the next run may tile it with `fluorescence: bright-objects`).
    public var isFinal: Bool { status == .ok || status == .skipped }

    /// Whether the slide could not be tiled because of an error (`failed`, `quarantined`): the summaries' failed count.
    public var isFailure: Bool { status == .failed || status == .quarantined }
}

/// What flows from `slide-reader` to `shard-writer` on one edge, so a slide's report always arrives after
/// its tiles.
public enum TileStreamItem: ByteSized, Equatable {
    case tile(TileSample)
    case report(SlideReport)

    public var byteCount: Int {
        switch self {
        case .tile(let tile): return tile.byteCount
        case .report: return 256
        }
    }
}
