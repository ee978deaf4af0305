import COpenSlide
import Foundation

/// What this build of OpenSlide reads, and how a file that it cannot read is explained (field cases
/// F1, F4, R6, R7): the checks ``Slide/init(path:maxReadPixels:)`` makes before and after OpenSlide
/// declines a file.
public enum SlideFormats {
    /// The OpenSlide library version this process runs (e.g. `3.4.1`).
    public static var openSlideVersion: String {
        guard let version = openslide_get_version() else { return "unknown" }
        return String(cString: version)
    }

    /// The formats OpenSlide 3.4.1 reads, with their file extensions, in one line.
    public static let supportedSummary =
        "Aperio (.svs, .tif), Hamamatsu (.ndpi, .vms, .vmu), Leica (.scn), MIRAX (.mrxs), Philips (.tiff),"
        + " Sakura (.svslide), Trestle (.tif), Ventana (.bif, .tif), generic tiled pyramidal TIFF (.tif, .tiff)"

    /// Lower-case extensions (without the dot) of the formats in ``supportedSummary``.
    public static let slideExtensions: Set<String> = [
        "svs", "tif", "tiff", "ndpi", "vms", "vmu", "scn", "mrxs", "svslide", "bif",
    ]

    /// Whether the file at `path` is DICOM: a 128-byte preamble followed by the magic `DICM` (PS3.10 §7.1).
    public static func isDICOM(path: String) -> Bool {
        guard let header = readHeader(path: path, count: 132), header.count == 132 else { return false }
        return Array(header[128..<132]) == Array("DICM".utf8)
    }

    /// Whether the directory at `path` holds a DICOM whole-slide image: any `.dcm` file, or any file
    /// with the DICOM magic, directly inside it.
    static func directoryHoldsDICOM(path: String) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        for name in names.sorted() {
            let child = (path as NSString).appendingPathComponent(name)
            if name.lowercased().hasSuffix(".dcm") || isDICOM(path: child) { return true }
        }
        return false
    }

    /// Up to `count` leading bytes of a file, or nil if it cannot be opened.
    static func readHeader(path: String, count: Int) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: count) else { return [] }
        return Array(data)
    }

    /// Explains why OpenSlide did not recognise the file at `path` (`openslide_detect_vendor` gave NULL),
    /// from its extension and first bytes.
    static func explainUnrecognised(path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        let header = readHeader(path: path, count: 4096) ?? []
        let supported = "This OpenSlide (\(openSlideVersion)) reads: \(supportedSummary)"
        switch ext {
        case "vsi":
            return "Olympus/Evident VSI (.vsi with its _name_ folder of .ets files) is not read by OpenSlide;"
                + " convert it to a pyramidal TIFF (e.g. with bfconvert). \(supported)"
        case "czi":
            return "Zeiss CZI is not read by OpenSlide \(openSlideVersion); convert it to a pyramidal TIFF. \(supported)"
        case "isyntax":
            return "Philips iSyntax is not read by OpenSlide; convert it to a pyramidal TIFF. \(supported)"
        default:
            break
        }
        if header.starts(with: Array("ZISRAWFILE".utf8)) {
            return "the file is Zeiss CZI, which OpenSlide \(openSlideVersion) does not read; convert it to a"
                + " pyramidal TIFF. \(supported)"
        }
        if let tiff = TIFFHeaderCheck(path: path, header: header) {
            return "\(tiff.explanation). \(supported)"
        }
        if header.starts(with: [0xFF, 0xD8, 0xFF]) || header.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            return "a single JPEG/PNG image, not a whole-slide image. \(supported)"
        }
        if !header.isEmpty, header.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || (0x20..<0x7F).contains($0) }) {
            return "the file is plain text, not a slide (Not a file that OpenSlide can recognize). \(supported)"
        }
        if header.isEmpty {
            return "the file is empty. \(supported)"
        }
        let known = slideExtensions.contains(ext)
        return "Not a file that OpenSlide can recognize"
            + (known ? " (the .\(ext) extension is right, so the file may be damaged or truncated)" : "")
            + ". \(supported)"
    }
}

/// A look at a classic or Big TIFF header that OpenSlide declined: truncated before its first image
/// directory, or not tiled (OpenSlide 3.4.1 reads only tiled TIFFs).
struct TIFFHeaderCheck {
    /// Why OpenSlide declined it, as far as the header tells.
    let explanation: String

    /// nil when `header` is not a TIFF header.
    init?(path: String, header: [UInt8]) {
        guard header.count >= 8 else { return nil }
        let little: Bool
        switch (header[0], header[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ bytes: [UInt8], _ at: Int) -> Int {
            let a = Int(bytes[at]), b = Int(bytes[at + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ bytes: [UInt8], _ at: Int) -> Int {
            (0..<4).reduce(0) { value, i in value | Int(bytes[at + i]) << (8 * (little ? i : 3 - i)) }
        }
        let magic = u16(header, 2)
        guard magic == 42 || magic == 43 else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if magic == 43 {
            explanation = "a BigTIFF that OpenSlide cannot read (not tiled, not pyramidal, damaged or truncated)"
            return
        }
        let ifd = u32(header, 4)
        if let size, ifd + 2 > size {
            explanation = "a TIFF truncated before its first image directory (directory at byte \(ifd),"
                + " file \(size) bytes): the file is damaged or incompletely copied"
            return
        }
        // Read the first directory and look for TileWidth (322).
        guard let bytes = SlideFormats.readHeader(path: path, count: ifd + 2 + 12 * 512), bytes.count >= ifd + 2 else {
            explanation = "a TIFF whose first image directory cannot be read (damaged or truncated)"
            return
        }
        let entries = u16(bytes, ifd)
        var tiled = false, zeroTag = false
        for index in 0..<entries {
            let at = ifd + 2 + 12 * index
            guard at + 2 <= bytes.count else { break }
            let tag = u16(bytes, at)
            if tag == 322 { tiled = true }
            if tag == 0 { zeroTag = true }  // no TIFF tag is 0: zeroed bytes
        }
        if entries == 0 || zeroTag {
            explanation = "a TIFF whose first image directory (at byte \(ifd)) is not a valid directory"
                + " (\(entries == 0 ? "no entries" : "a tag 0")): the file is damaged or truncated"
        } else if !tiled {
            explanation = "a TIFF that is not tiled (OpenSlide reads only tiled, pyramidal TIFFs);"
                + " convert it, e.g. `vips tiffsave IN OUT --tile --pyramid`"
        } else {
            explanation = "a tiled TIFF that OpenSlide cannot read (a later image directory or its data is"
                + " damaged or truncated, or the layout is not one OpenSlide understands)"
        }
    }
}
