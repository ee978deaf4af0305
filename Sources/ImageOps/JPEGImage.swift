import CJPEGShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JPEG files to `RGBImage`, through the system libjpeg-turbo (Debian `libjpeg62-turbo-dev`) behind a small C
/// shim (`CJPEGShim`) whose error handler returns an error message instead of exiting the process.
///
/// Decoding uses libjpeg's defaults, which are Pillow's for `Image.open(path).convert("RGB")`: the accurate
/// integer IDCT (`JDCT_ISLOW`) and fancy (triangular) chroma upsampling; greyscale, YCbCr and RGB (Adobe
/// transform 0) streams come out as RGB. The pixels equal Pillow's when both use libjpeg-turbo (Pillow's
/// wheels bundle it); `Tests/EmbeddingTests/JPEGImageTests` checks this on real files. No EXIF orientation and
/// no ICC profile is applied (Pillow applies neither on open).
///
/// Strict where libjpeg is lenient: a warning (corrupt entropy data, premature end of file) is an error, so a
/// truncated tile is reported rather than filled with grey. CMYK and YCCK files are refused.
public enum JPEGImage {
    /// Reads a JPEG file into an 8-bit RGB image.
    /// - Parameter path: the file's path.
    /// - Returns: the image, `[H, W, 3]`.
    /// - Throws: `JPEGError.cannotOpen` (missing or unreadable file), `JPEGError.cannotDecode` with libjpeg's
    ///   message (not a JPEG, truncated, corrupt, unsupported process or colour space), both naming `path`.
    public static func read(path: String) throws(JPEGError) -> RGBImage {
        try decode(try readBytes(path: path), name: path)
    }

    /// Decodes a JPEG stream held in memory.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - name: what errors call it (a path or tile name).
    /// - Returns: the image, `[H, W, 3]`.
    /// - Throws: `JPEGError.cannotDecode` naming `name`.
    public static func decode(_ bytes: [UInt8], name: String) throws(JPEGError) -> RGBImage {
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_BYTES))
        let header = bytes.withUnsafeBufferPointer { data in
            cjpeg_decode_rgb(data.baseAddress, data.count, nil, 0, &width, &height, &message)
        }
        guard header == 0 else { throw .cannotDecode(path: name, reason: text(message)) }
        let (area, overflow) = Int(width).multipliedReportingOverflow(by: Int(height) * 3)
        guard !overflow, width > 0, height > 0 else {
            throw .cannotDecode(path: name, reason: "image of \(width)×\(height) px cannot be decoded")
        }
        var pixels = [UInt8](repeating: 0, count: area)
        let status = bytes.withUnsafeBufferPointer { data in
            pixels.withUnsafeMutableBufferPointer { rgb in
                cjpeg_decode_rgb(data.baseAddress, data.count, rgb.baseAddress, rgb.count, &width, &height, &message)
            }
        }
        guard status == 0 else { throw .cannotDecode(path: name, reason: text(message)) }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }

    /// The whole file at `path`.
    private static func readBytes(path: String) throws(JPEGError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.count
            let got = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, count - offset) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            offset += got
        }
        return Array(bytes[..<offset])
    }

    private static func text(_ message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return bytes.isEmpty ? "libjpeg reported an error without a message" : "libjpeg: " + String(decoding: bytes, as: UTF8.self)
    }
}
