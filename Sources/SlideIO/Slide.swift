import COpenSlide
import Foundation
import ImageOps
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A whole-slide image opened with OpenSlide (Debian's 3.4.1): its metadata, pyramid levels, bounds,
/// background colour and associated images, and region reads composited to RGB.
///
/// One `Slide` owns one `openslide_t` handle, closed when the `Slide` is released. OpenSlide's functions
/// are thread-safe (`openslide.h`: "All functions except openslide_close() are thread-safe"), so a
/// `Slide` may be read from several tasks; the engine still gives each reader replica its own `Slide`
/// (field case H9), which also confines a failure to one replica.
///
/// **Errors poison the handle.** After any OpenSlide error (a tile that does not decode, a truncated
/// file), OpenSlide 3.4.1 fails every later call on the same handle. The first such read throws
/// ``SlideError/readFailed(path:x:y:level:detail:)``; every later read throws
/// ``SlideError/handleUnusable(path:firstError:)`` and ``isUsable`` is false. Metadata (properties, levels,
/// bounds, associated image sizes) is read once at open and stays available. To go on reading, open a new
/// `Slide` for the same path (field case C1).
///
/// Coordinates are always level-0 px, whatever level a read uses (field cases L4, L7).
public final class Slide: @unchecked Sendable {
    /// The largest read that ``readRegion(x:y:level:width:height:)`` allows by default: 2²⁶ px (8192 × 8192),
    /// which needs 256 MiB of ARGB plus 192 MiB of RGB (field case M1).
    public static let defaultMaxReadPixels = 1 << 26

    /// The path as given to ``init(path:maxReadPixels:)``.
    public let path: String
    /// `openslide.vendor` (`aperio`, `hamamatsu`, `generic-tiff`, …), or nil if OpenSlide reports none.
    public let vendor: String?
    /// Every property OpenSlide reports, key to value (`openslide.*`, `tiff.*`, vendor keys such as `aperio.MPP`).
    public let properties: [String: String]
    /// The pyramid, level 0 (full resolution) first, with sizes and downsamples as OpenSlide reports them.
    public let levels: [SlideLevel]
    /// The image-data rectangle in level-0 px (`openslide.bounds-*`; the whole slide when absent).
    public let bounds: SlideBounds
    /// The colour transparent pixels are composited onto (`openslide.background-color`; white when absent).
    public let backgroundColor: BackgroundColor
    /// Associated images (label, macro, thumbnail, …) with their sizes in px, in OpenSlide's order.
    public let associatedImages: [AssociatedImageInfo]
    /// The largest read, in px (width × height), that this slide allows; larger reads throw
    /// ``SlideError/regionTooLarge(path:width:height:limit:)`` before allocating.
    public let maxReadPixels: Int

    private let handle: OpaquePointer
    private let firstError: Mutex<String?>

    /// Opens the slide at `path`.
    ///
    /// - Parameters:
    ///   - path: a slide file (for MIRAX, the `.mrxs` file).
    ///   - maxReadPixels: the largest region read allowed, in px (default ``defaultMaxReadPixels``).
    /// - Throws: ``SlideError/notFound(path:)``; ``SlideError/unreadable(path:reason:)`` (permissions, a
    ///   directory that is not a DICOM slide); ``SlideError/dicomNeedsNewerOpenSlide(path:openSlideVersion:)``
    ///   for a DICOM file or a directory of `.dcm` files (field case F1);
    ///   ``SlideError/unsupportedFormat(path:detail:)`` for a format OpenSlide does not recognise, saying what
    ///   the file looks like and which formats are supported (F4, R6);
    ///   ``SlideError/openFailed(path:vendor:detail:)`` when OpenSlide recognises the format but fails to
    ///   open the file, e.g. "Unsupported TIFF compression: 52479" (R7).
    public init(path: String, maxReadPixels: Int = Slide.defaultMaxReadPixels) throws {
        self.path = path
        self.maxReadPixels = maxReadPixels
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SlideError.notFound(path: path)
        }
        if isDirectory.boolValue {
            if SlideFormats.directoryHoldsDICOM(path: path) {
                throw SlideError.dicomNeedsNewerOpenSlide(path: path, openSlideVersion: SlideFormats.openSlideVersion)
            }
            throw SlideError.unreadable(
                path: path, reason: "it is a directory; give a slide file (for MIRAX, the .mrxs file beside its folder)")
        }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw SlideError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        close(descriptor)
        if SlideFormats.isDICOM(path: path) {
            throw SlideError.dicomNeedsNewerOpenSlide(path: path, openSlideVersion: SlideFormats.openSlideVersion)
        }
        guard let detected = openslide_detect_vendor(path) else {
            throw SlideError.unsupportedFormat(path: path, detail: SlideFormats.explainUnrecognised(path: path))
        }
        let detectedVendor = String(cString: detected)
        guard let handle = openslide_open(path) else {
            throw SlideError.unsupportedFormat(path: path, detail: SlideFormats.explainUnrecognised(path: path))
        }
        if let error = openslide_get_error(handle) {
            let message = String(cString: error)
            openslide_close(handle)
            throw SlideError.openFailed(path: path, vendor: detectedVendor, detail: message)
        }
        self.handle = handle
        self.firstError = Mutex(nil)

        // Read every piece of metadata now: after an error the handle answers nothing.
        var properties: [String: String] = [:]
        if let names = openslide_get_property_names(handle) {
            var index = 0
            while let name = names[index] {
                if let value = openslide_get_property_value(handle, name) {
                    properties[String(cString: name)] = String(cString: value)
                }
                index += 1
            }
        }
        let count = Int(openslide_get_level_count(handle))
        var levels: [SlideLevel] = []
        for level in 0..<max(count, 0) {
            var width: Int64 = -1, height: Int64 = -1
            openslide_get_level_dimensions(handle, Int32(level), &width, &height)
            let downsample = openslide_get_level_downsample(handle, Int32(level))
            levels.append(SlideLevel(
                index: level, width: Int(width), height: Int(height), downsample: downsample,
                tileWidth: properties["openslide.level[\(level)].tile-width"].flatMap { Int($0) },
                tileHeight: properties["openslide.level[\(level)].tile-height"].flatMap { Int($0) }))
        }
        var associated: [AssociatedImageInfo] = []
        if let names = openslide_get_associated_image_names(handle) {
            var index = 0
            while let name = names[index] {
                var width: Int64 = -1, height: Int64 = -1
                openslide_get_associated_image_dimensions(handle, name, &width, &height)
                if width >= 0, height >= 0 {
                    associated.append(AssociatedImageInfo(name: String(cString: name), width: Int(width), height: Int(height)))
                }
                index += 1
            }
        }
        if let error = openslide_get_error(handle) {
            // `deinit` closes the handle.
            throw SlideError.openFailed(path: path, vendor: detectedVendor, detail: String(cString: error))
        }
        guard let base = levels.first, base.width > 0, base.height > 0,
              levels.allSatisfy({ $0.width >= 0 && $0.height >= 0 && $0.downsample > 0 }) else {
            throw SlideError.openFailed(path: path, vendor: detectedVendor,
                                        detail: "OpenSlide reports no usable levels (\(levels.count) levels)")
        }
        self.properties = properties
        self.levels = levels
        self.associatedImages = associated
        self.vendor = properties["openslide.vendor"] ?? detectedVendor
        self.backgroundColor = properties["openslide.background-color"].flatMap { BackgroundColor(hex: $0) } ?? .white
        if let x = properties["openslide.bounds-x"].flatMap({ Int($0) }),
           let y = properties["openslide.bounds-y"].flatMap({ Int($0) }),
           let width = properties["openslide.bounds-width"].flatMap({ Int($0) }),
           let height = properties["openslide.bounds-height"].flatMap({ Int($0) }),
           width > 0, height > 0 {
            self.bounds = SlideBounds(x: x, y: y, width: width, height: height)
        } else {
            self.bounds = SlideBounds(x: 0, y: 0, width: base.width, height: base.height)
        }
    }

    deinit {
        openslide_close(handle)
    }

    /// The number of pyramid levels (≥ 1).
    public var levelCount: Int { levels.count }
    /// Level-0 width in px.
    public var width: Int { levels[0].width }
    /// Level-0 height in px.
    public var height: Int { levels[0].height }
    /// The file name (last path component).
    public var fileName: String { (path as NSString).lastPathComponent }
    /// The names of the associated images, in OpenSlide's order.
    public var associatedImageNames: [String] { associatedImages.map(\.name) }
    /// `openslide.objective-power` (e.g. 20), if the slide reports it. Magnification is not a resolution:
    /// use ``ResolutionResolver`` for µm/px.
    public var objectivePower: Double? { properties["openslide.objective-power"].flatMap { Double($0) } }

    /// Whether the handle can still read; false after the first OpenSlide error (see the type's notes).
    public var isUsable: Bool { firstError.withLock { $0 == nil } }
    /// The OpenSlide error that made the handle unusable, if any.
    public var failure: String? { firstError.withLock { $0 } }

    /// Reads a region and composites it onto ``backgroundColor``.
    ///
    /// - Parameters:
    ///   - x: left edge in **level-0** px (may be negative or past the slide: outside pixels are background).
    ///   - y: top edge in **level-0** px.
    ///   - level: the pyramid level to read from (0 = full resolution).
    ///   - width: width in px **of `level`**.
    ///   - height: height in px of `level`.
    /// - Returns: `width × height` RGB pixels: OpenSlide's premultiplied ARGB composited as
    ///   `c + bg × (255 − a) / 255` (see `PremultipliedARGB`).
    /// - Throws: ``SlideError/invalidRequest(path:detail:)`` (no such level, negative size);
    ///   ``SlideError/regionTooLarge(path:width:height:limit:)`` when `width × height > maxReadPixels`, before
    ///   allocating (M1); ``SlideError/readFailed(path:x:y:level:detail:)`` when OpenSlide fails (the handle
    ///   is then unusable); ``SlideError/handleUnusable(path:firstError:)`` after an earlier failure.
    public func readRegion(x: Int, y: Int, level: Int, width: Int, height: Int) throws -> RGBImage {
        try validate(x: x, y: y, level: level, width: width, height: height)
        let count = width * height
        var argb = [UInt32](repeating: 0, count: count)
        try argb.withUnsafeMutableBufferPointer { buffer in
            try readARGB(into: buffer.baseAddress, x: x, y: y, level: level, width: width, height: height)
        }
        let background = backgroundColor
        let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { rgb, initialised in
            argb.withUnsafeBufferPointer { source in
                if let from = source.baseAddress, let to = rgb.baseAddress {
                    PremultipliedARGB.composite(from, count: count, onto: background, into: to)
                }
            }
            initialised = count * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Reads the associated image `name` (e.g. `label`, `macro`, `thumbnail`), composited onto
    /// ``backgroundColor`` like a region.
    ///
    /// - Throws: ``SlideError/associatedImageNotFound(path:name:available:)``,
    ///   ``SlideError/regionTooLarge(path:width:height:limit:)``, ``SlideError/readFailed(path:x:y:level:detail:)``
    ///   (with x = y = 0, level −1), ``SlideError/handleUnusable(path:firstError:)``.
    public func readAssociatedImage(_ name: String) throws -> RGBImage {
        guard let info = associatedImages.first(where: { $0.name == name }) else {
            throw SlideError.associatedImageNotFound(path: path, name: name, available: associatedImageNames)
        }
        let (width, height) = (info.width, info.height)
        guard width.multipliedReportingOverflow(by: height).partialValue <= maxReadPixels,
              !width.multipliedReportingOverflow(by: height).overflow else {
            throw SlideError.regionTooLarge(path: path, width: width, height: height, limit: maxReadPixels)
        }
        if let first = failure { throw SlideError.handleUnusable(path: path, firstError: first) }
        let count = width * height
        var argb = [UInt32](repeating: 0, count: count)
        argb.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { openslide_read_associated_image(handle, name, base) }
        }
        if let error = openslide_get_error(handle) {
            let message = String(cString: error)
            recordFailure(message)
            throw SlideError.readFailed(path: path, x: 0, y: 0, level: -1, detail: "associated image '\(name)': \(message)")
        }
        let background = backgroundColor
        let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { rgb, initialised in
            argb.withUnsafeBufferPointer { source in
                if let from = source.baseAddress, let to = rgb.baseAddress {
                    PremultipliedARGB.composite(from, count: count, onto: background, into: to)
                }
            }
            initialised = count * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Reads a small region (up to 32 × 32 px) at the centre of ``bounds`` on every level, to tell a slide
    /// whose pixels do not decode from one that merely lacks metadata (field cases R7, C3). A failure leaves
    /// the handle unusable, so probe on a `Slide` opened for the purpose, or last.
    ///
    /// - Returns: nil when every probe read worked, otherwise the first error.
    public func probeReads() -> SlideError? {
        let centreX = bounds.x + bounds.width / 2, centreY = bounds.y + bounds.height / 2
        for level in levels {
            let side = max(1, min(32, level.width, level.height))
            do {
                _ = try readRegion(x: centreX, y: centreY, level: level.index, width: side, height: side)
            } catch let error as SlideError {
                return error
            } catch {
                return .readFailed(path: path, x: centreX, y: centreY, level: level.index, detail: "\(error)")
            }
        }
        return nil
    }

    // MARK: - Internals shared with the thumbnail reader

    /// Checks a read request against the level list and the size limit.
    func validate(x: Int, y: Int, level: Int, width: Int, height: Int) throws {
        guard levels.indices.contains(level) else {
            throw SlideError.invalidRequest(path: path, detail: "no level \(level) (the slide has levels 0…\(levels.count - 1))")
        }
        guard width >= 0, height >= 0 else {
            throw SlideError.invalidRequest(path: path, detail: "negative read size \(width)×\(height) px")
        }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, area <= maxReadPixels else {
            throw SlideError.regionTooLarge(path: path, width: width, height: height, limit: maxReadPixels)
        }
        guard x > Int(Int64.min) / 2, y > Int(Int64.min) / 2, x < Int(Int64.max) / 2, y < Int(Int64.max) / 2 else {
            throw SlideError.invalidRequest(path: path, detail: "level-0 position (\(x), \(y)) out of range")
        }
    }

    /// Reads premultiplied ARGB into `buffer` (`width × height` values); checks OpenSlide's error after the
    /// read and poisons the `Slide` on failure. The request must have passed ``validate(x:y:level:width:height:)``.
    func readARGB(into buffer: UnsafeMutablePointer<UInt32>?, x: Int, y: Int, level: Int, width: Int, height: Int) throws {
        if let first = failure { throw SlideError.handleUnusable(path: path, firstError: first) }
        guard width > 0, height > 0, let buffer else { return }
        openslide_read_region(handle, buffer, Int64(x), Int64(y), Int32(level), Int64(width), Int64(height))
        if let error = openslide_get_error(handle) {
            let message = String(cString: error)
            recordFailure(message)
            throw SlideError.readFailed(path: path, x: x, y: y, level: level, detail: message)
        }
    }

    private func recordFailure(_ message: String) {
        firstError.withLock { first in
            if first == nil { first = message }
        }
    }
}
