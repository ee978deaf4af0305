import CPNG

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PNG files to and from `RGBImage`, through the system libpng's simplified API
/// (`png_image_begin_read_from_file` / `png_image_finish_read` / `png_image_write_to_stdio`).
///
/// Reading accepts every valid PNG: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA and palette images (with or
/// without `tRNS`), interlaced or not. libpng expands them to 8-bit RGBA; we then composite onto white.
/// - **16-bit** samples are reduced to 8 bits by libpng. A 16-bit file with no `gAMA`/`sRGB`/`iCCP` chunk is
///   taken as sRGB-encoded (`PNG_IMAGE_FLAG_16BIT_sRGB`), as image viewers and PIL do, so `0xABAB` → `0xAB`;
///   without that flag libpng would treat it as linear light and brighten it.
/// - **Gamma**: files without colour-space chunks are taken as sRGB and their 8-bit values pass through
///   unchanged. A file whose `gAMA` differs from sRGB's is converted to sRGB by libpng (PIL would ignore it).
/// - **Alpha** is composited onto white in the stored (sRGB-encoded) values, the convention of PIL, cairo and
///   OpenSlide: `out = (c·a + 255·(255 − a) + 127) / 255` with integer division (round half up), `a` in 0…255.
///   Opaque pixels (`a = 255`) pass through unchanged. (libpng's own alpha removal composites in linear light,
///   which would not match the Python tools we compare against, so we ask libpng for RGBA and do it here.)
///
/// Writing produces an 8-bit RGB PNG with an `sRGB` chunk (what libpng's simplified writer adds for 8-bit
/// data), written to a temporary file in the same directory, flushed and `fsync`ed, then renamed over `path`:
/// a reader never sees a partial file.
public enum PNGImage {
    /// Reads a PNG file into an 8-bit RGB image, compositing any alpha onto white (see the type's notes).
    /// - Parameter path: the file's path.
    /// - Returns: the image, `[H, W, 3]`.
    /// - Throws: `PNGError.cannotRead` naming `path`, with libpng's message (missing file, not a PNG,
    ///   truncated or corrupt data), or when the image is too large to address.
    public static func read(path: String) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.opaque = nil
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            let reason = libpngMessage(image)
            png_image_free(&image)
            throw PNGError.cannotRead(path: path, reason: reason)
        }
        // 16-bit data without colour-space information: sRGB-encoded, so reduced by scaling, not gamma-encoded.
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // 8-bit RGBA, straight alpha
        let width = Int(image.width)
        let height = Int(image.height)
        let (rowBytes, rowOverflow) = width.multipliedReportingOverflow(by: 4)
        let (byteCount, sizeOverflow) = rowBytes.multipliedReportingOverflow(by: height)
        guard !rowOverflow, !sizeOverflow, rowBytes <= Int(Int32.max) else {
            png_image_free(&image)
            throw PNGError.cannotRead(path: path, reason: "image of \(width)×\(height) px is too large")
        }
        var rgba = [UInt8](repeating: 0, count: byteCount)
        let finished = rgba.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, Int32(rowBytes), nil)
        }
        guard finished != 0 else {
            let reason = libpngMessage(image)
            png_image_free(&image)
            throw PNGError.cannotRead(path: path, reason: reason)
        }
        png_image_free(&image)
        return RGBImage(width: width, height: height, pixels: compositeOntoWhite(rgba: rgba))
    }

    /// Writes an 8-bit RGB PNG atomically: encodes into `path` + a unique temporary suffix in the same
    /// directory, flushes and `fsync`s it, then renames it over `path`. On failure the temporary file is removed
    /// and `path` is left as it was.
    /// - Parameters:
    ///   - image: the image; at least 1×1 px (PNG has no empty images).
    ///   - path: the destination; its directory must exist.
    /// - Throws: `PNGError.cannotWrite` naming `path`: empty image, directory missing or not writable, disk
    ///   full, or libpng's encoding error.
    public static func write(_ image: RGBImage, to path: String) throws {
        guard image.width > 0, image.height > 0 else {
            throw PNGError.cannotWrite(path: path, reason: "an image of \(image.width)×\(image.height) px is empty")
        }
        guard image.width <= Int(UInt32.max), image.height <= Int(UInt32.max),
              image.width.multipliedReportingOverflow(by: 3).partialValue <= Int(Int32.max)
        else {
            throw PNGError.cannotWrite(path: path, reason: "image of \(image.width)×\(image.height) px is too large")
        }
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        guard let file = fopen(temporary, "wb") else {
            throw PNGError.cannotWrite(path: path, reason: "cannot create \(temporary): \(systemError())")
        }
        var control = png_image()
        control.version = UInt32(PNG_IMAGE_VERSION)
        control.opaque = nil
        control.width = UInt32(image.width)
        control.height = UInt32(image.height)
        control.format = UInt32(PNG_FORMAT_FLAG_COLOR)  // 8-bit RGB
        control.flags = 0
        let encoded = image.pixels.withUnsafeBytes { buffer in
            png_image_write_to_stdio(&control, file, 0, buffer.baseAddress, 0, nil)
        }
        var failure: String?
        if encoded == 0 {
            failure = libpngMessage(control)
        } else if fflush(file) != 0 || fsync(fileno(file)) != 0 {
            failure = "cannot flush \(temporary): \(systemError())"
        }
        png_image_free(&control)
        if fclose(file) != 0, failure == nil {
            failure = "cannot close \(temporary): \(systemError())"
        }
        if failure == nil, rename(temporary, path) != 0 {
            failure = "cannot rename \(temporary) to \(path): \(systemError())"
        }
        if let failure {
            unlink(temporary)
            throw PNGError.cannotWrite(path: path, reason: failure)
        }
    }

    /// RGBA (straight alpha) → RGB composited onto white in stored values (see the type's notes).
    static func compositeOntoWhite(rgba: [UInt8]) -> [UInt8] {
        let count = rgba.count / 4
        var rgb = [UInt8](repeating: 0, count: count * 3)
        rgba.withUnsafeBufferPointer { source in
            rgb.withUnsafeMutableBufferPointer { target in
                for index in 0 ..< count {
                    let alpha = UInt32(source[index * 4 + 3])
                    for channel in 0 ..< 3 {
                        let value = UInt32(source[index * 4 + channel])
                        target[index * 3 + channel] = alpha == 255
                            ? UInt8(value)
                            : UInt8((value * alpha + 255 * (255 - alpha) + 127) / 255)
                    }
                }
            }
        }
        return rgb
    }

    /// libpng's message in a `png_image` (a NUL-terminated `char[64]`).
    private static func libpngMessage(_ image: png_image) -> String {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported an error without a message" : "libpng: \(text)"
    }

    /// `strerror(errno)`.
    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
