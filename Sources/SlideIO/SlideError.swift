/// Why a slide could not be opened, read or given a resolution. Every case names the file, and
/// ``description`` is a complete sentence a user can act on.
///
/// Open errors (``notFound(path:)``, ``unreadable(path:reason:)``, ``unsupportedFormat(path:detail:)``,
/// ``dicomNeedsNewerOpenSlide(path:openSlideVersion:)``, ``openFailed(path:vendor:detail:)``) come from
/// ``Slide/init(path:maxReadPixels:)``; read errors (``readFailed(path:x:y:level:detail:)``,
/// ``handleUnusable(path:firstError:)``, ``regionTooLarge(path:width:height:limit:)``,
/// ``invalidRequest(path:detail:)``, ``associatedImageNotFound(path:name:available:)``) from reads on an
/// open ``Slide``; ``noResolution(path:tried:)`` and ``invalidMPPOverrides(file:line:detail:)`` from
/// ``ResolutionResolver`` and ``MPPOverrideTable``.
public enum SlideError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file or directory exists at `path`.
    case notFound(path: String)
    /// The path exists but cannot be read as a slide file (permissions, a directory, an I/O error);
    /// `reason` says which.
    case unreadable(path: String, reason: String)
    /// The file is not in a format this OpenSlide reads; `detail` says what the file looks like and
    /// which formats are supported (field cases F4, R6).
    case unsupportedFormat(path: String, detail: String)
    /// The file (or a directory of `.dcm` files) is DICOM; DICOM whole-slide images need OpenSlide ≥ 4.0
    /// (field case F1).
    case dicomNeedsNewerOpenSlide(path: String, openSlideVersion: String)
    /// OpenSlide recognised the format (`vendor`) but failed to open the file: a damaged file or an
    /// encoding this build cannot decode (e.g. "Unsupported TIFF compression: 52479"); field case R7.
    case openFailed(path: String, vendor: String?, detail: String)
    /// A pixel read failed: the region at level-0 (`x`, `y`) on `level`, with OpenSlide's message
    /// (e.g. a tile that does not decode, field cases C1–C3). The handle is unusable afterwards.
    case readFailed(path: String, x: Int, y: Int, level: Int, detail: String)
    /// An earlier OpenSlide error (`firstError`) left this handle unusable; OpenSlide 3.4.1 fails every
    /// later call on it. Open a new ``Slide`` for the same file to go on reading.
    case handleUnusable(path: String, firstError: String)
    /// A read of `width × height` px exceeds the slide's limit of `limit` px (field case M1); nothing
    /// was allocated. Read large areas in tiles or strips.
    case regionTooLarge(path: String, width: Int, height: Int, limit: Int)
    /// A read or thumbnail request with impossible arguments (negative size, no such level, …).
    case invalidRequest(path: String, detail: String)
    /// The slide has no associated image called `name`; `available` lists the ones it has.
    case associatedImageNotFound(path: String, name: String, available: [String])
    /// No resolution (µm/px) could be found for the slide: `tried` lists every source looked at and what
    /// was found there (field cases R1, R2, R6). An override fixes it.
    case noResolution(path: String, tried: [String])
    /// A per-slide mpp override file (`slide,mpp` CSV) is malformed at `line` (1-based; 0 when the file
    /// itself cannot be read).
    case invalidMPPOverrides(file: String, line: Int, detail: String)

    /// The slide file or override file the error is about.
    public var path: String {
        switch self {
        case .notFound(let path), .unreadable(let path, _), .unsupportedFormat(let path, _),
             .dicomNeedsNewerOpenSlide(let path, _), .openFailed(let path, _, _),
             .readFailed(let path, _, _, _, _), .handleUnusable(let path, _),
             .regionTooLarge(let path, _, _, _), .invalidRequest(let path, _),
             .associatedImageNotFound(let path, _, _), .noResolution(let path, _):
            return path
        case .invalidMPPOverrides(let file, _, _):
            return file
        }
    }

    /// Whether this error happened while opening the slide (the file cannot be used at all), as opposed
    /// to a read or resolution error on a slide that opened.
    public var isOpenError: Bool {
        switch self {
        case .notFound, .unreadable, .unsupportedFormat, .dicomNeedsNewerOpenSlide, .openFailed: return true
        default: return false
        }
    }

    /// One line naming the file and the reason, suitable for a terminal or a run report.
    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or directory"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .unsupportedFormat(let path, let detail):
            return "\(path): unsupported format: \(detail)"
        case .dicomNeedsNewerOpenSlide(let path, let version):
            return "\(path): DICOM whole-slide images need OpenSlide ≥ 4.0; this build has OpenSlide \(version)"
                + " (convert the slide to a pyramidal TIFF, or use a build with OpenSlide 4)"
        case .openFailed(let path, let vendor, let detail):
            let format = vendor.map { "recognised as \($0), but " } ?? ""
            return "\(path): \(format)OpenSlide could not open it: \(detail)"
                + " (the file is damaged, truncated, or uses an encoding this OpenSlide build cannot decode)"
        case .readFailed(let path, let x, let y, let level, let detail):
            return "\(path): read failed at level-0 (\(x), \(y)), level \(level): \(detail)"
        case .handleUnusable(let path, let firstError):
            return "\(path): this OpenSlide handle is unusable after an earlier error (\(firstError));"
                + " open the slide again to keep reading"
        case .regionTooLarge(let path, let width, let height, let limit):
            return "\(path): a \(width)×\(height) px read exceeds the limit of \(limit) px per read;"
                + " read it in tiles or strips"
        case .invalidRequest(let path, let detail):
            return "\(path): \(detail)"
        case .associatedImageNotFound(let path, let name, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(path): no associated image '\(name)' (it has: \(list))"
        case .noResolution(let path, let tried):
            return "\(path): no resolution (µm/px) found; tried: \(tried.joined(separator: "; "))."
                + " Give one explicitly: a per-run override in µm/px (e.g. --mpp-override 0.25)"
                + " or a per-slide CSV with lines `slide,mpp` (slide = file name or path)"
        case .invalidMPPOverrides(let file, let line, let detail):
            return line > 0 ? "\(file):\(line): \(detail)" : "\(file): \(detail)"
        }
    }
}
