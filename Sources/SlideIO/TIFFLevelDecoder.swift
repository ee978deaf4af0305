import CJPEGShim
import CTIFF
import ImageOps

/// Decodes a whole pyramid level of a TIFF-based slide straight from its tiles, without OpenSlide's cairo
/// compositing, giving the same RGB that OpenSlide 3.4.1's `openslide_read_region` gives for the level's
/// opaque pixels (tested byte for byte on the sample slides).
///
/// Applies to (anything else returns nil, and the caller reads through OpenSlide):
/// - `openslide.vendor` `aperio`: OpenSlide's level k is the k-th **tiled** TIFF directory in file order
///   (`openslide-vendor-aperio.c`, `aperio_open`). Levels with a zero-length tile in this or any finer level
///   are left to OpenSlide (it paints such tiles from the level above, `render_missing_tile`).
/// - `openslide.vendor` `generic-tiff`: the tiled directories that are directory 0 or have
///   `SubfileType & FILETYPE_REDUCEDIMAGE`, by width, largest first (`openslide-vendor-generic-tiff.c`).
///
/// and, per level, the tile codings OpenSlide decodes itself (`openslide-decode-tiff.c`):
/// - compression 7 (JPEG), contiguous planes, 3 samples of 8 bits, Photometric RGB or YCbCr: the raw tile
///   after the directory's JPEGTables, through libjpeg-turbo with the stream's colour space set from
///   Photometric (YCbCr → libjpeg's YCbCr→RGB, RGB → none), libjpeg's defaults otherwise;
/// - Aperio compression 33003 (JPEG 2000, YCbCr) and 33005 (JPEG 2000, RGB): ``AperioJP2KTile``.
///
/// Other compressions (OpenSlide reads them through `TIFFRGBAImage`) return nil. Tiles on the right and
/// bottom edges are clipped to the level size, as OpenSlide clips them (`_openslide_tiff_clip_tile`).
public enum TIFFLevelDecoder {
    /// Level `level` of `slide` as RGB `[height, width, 3]`, or nil when the slide, the level or its tile
    /// coding is not one this decoder handles (see the type's notes) or the file's TIFF directories do not
    /// match OpenSlide's levels.
    /// - Throws: ``SlideError/readFailed(path:x:y:level:detail:)`` for a tile that does not read or decode, at
    ///   the tile's level-0 position, with the TIFF directory, the tile's column and row, and libtiff's,
    ///   libjpeg's or OpenJPEG's message.
    public static func decode(slide: Slide, level: Int) throws -> RGBImage? {
        guard slide.levels.indices.contains(level), let vendor = slide.vendor, vendor == "aperio" || vendor == "generic-tiff" else {
            return nil
        }
        let messages = UnsafeMutablePointer<ctiff_messages>.allocate(capacity: 1)
        messages.initialize(to: ctiff_messages())
        defer { messages.deallocate() }
        guard let tiff = ctiff_open(slide.path, messages) else { return nil }
        defer { TIFFClose(tiff) }
        let directories = levelDirectories(tiff, aperio: vendor == "aperio")
        guard directories.count == slide.levelCount,
              zip(directories, slide.levels).allSatisfy({ $0.width == $1.width && $0.height == $1.height }) else { return nil }
        if vendor == "aperio", directories[...level].contains(where: \.hasEmptyTile) { return nil }
        guard TIFFSetDirectory(tiff, tdir_t(directories[level].index)) != 0,
              let coding = TileCoding(tiff, aperio: vendor == "aperio") else { return nil }
        return try decodeTiles(tiff, messages: messages, coding: coding, directory: directories[level].index,
                               slide: slide, level: level)
    }

    /// A tiled TIFF directory that is one of OpenSlide's levels.
    private struct LevelDirectory {
        let index: Int
        let width: Int
        let height: Int
        let hasEmptyTile: Bool
    }

    private static func levelDirectories(_ tiff: OpaquePointer, aperio: Bool) -> [LevelDirectory] {
        var found: [LevelDirectory] = []
        guard TIFFSetDirectory(tiff, 0) != 0 else { return [] }
        repeat {
            guard TIFFIsTiled(tiff) != 0 else { continue }
            let index = Int(TIFFCurrentDirectory(tiff))
            if !aperio, index != 0 {
                var subfileType: UInt32 = 0
                guard ctiff_get_u32(tiff, UInt32(TIFFTAG_SUBFILETYPE), &subfileType) != 0,
                      subfileType & UInt32(FILETYPE_REDUCEDIMAGE) != 0 else { continue }
            }
            var width: UInt32 = 0, height: UInt32 = 0
            guard ctiff_get_u32(tiff, UInt32(TIFFTAG_IMAGEWIDTH), &width) != 0,
                  ctiff_get_u32(tiff, UInt32(TIFFTAG_IMAGELENGTH), &height) != 0 else { return [] }
            var counts: UnsafePointer<UInt64>?
            guard ctiff_get_tile_byte_counts(tiff, &counts) != 0, let counts else { return [] }
            let tiles = Int(TIFFNumberOfTiles(tiff))
            let empty = (0 ..< tiles).contains { counts[$0] == 0 }
            found.append(LevelDirectory(index: index, width: Int(width), height: Int(height), hasEmptyTile: empty))
        } while TIFFReadDirectory(tiff) != 0
        if !aperio { found.sort { $0.width > $1.width } }
        return found
    }

    /// How one level's tiles are coded, for the codings this decoder reproduces.
    private struct TileCoding {
        enum Codec {
            case jpeg(yCbCr: Bool)
            case jpeg2000(AperioJP2KTile.ColorSpace)
        }

        let codec: Codec
        let tileWidth: Int
        let tileHeight: Int

        /// Reads the current directory's tags; nil for a coding OpenSlide does not decode itself.
        init?(_ tiff: OpaquePointer, aperio: Bool) {
            var tileWidth: UInt32 = 0, tileHeight: UInt32 = 0
            var compression: UInt16 = 0, planar: UInt16 = 0, photometric: UInt16 = 0, bits: UInt16 = 0, samples: UInt16 = 0
            guard ctiff_get_u32(tiff, UInt32(TIFFTAG_TILEWIDTH), &tileWidth) != 0,
                  ctiff_get_u32(tiff, UInt32(TIFFTAG_TILELENGTH), &tileHeight) != 0,
                  ctiff_get_u16(tiff, UInt32(TIFFTAG_COMPRESSION), &compression) != 0,
                  tileWidth > 0, tileHeight > 0 else { return nil }
            switch Int32(compression) {
            case COMPRESSION_JPEG:
                guard ctiff_get_u16(tiff, UInt32(TIFFTAG_PLANARCONFIG), &planar) != 0,
                      ctiff_get_u16(tiff, UInt32(TIFFTAG_PHOTOMETRIC), &photometric) != 0,
                      ctiff_get_u16(tiff, UInt32(TIFFTAG_BITSPERSAMPLE), &bits) != 0,
                      ctiff_get_u16(tiff, UInt32(TIFFTAG_SAMPLESPERPIXEL), &samples) != 0,
                      Int32(planar) == PLANARCONFIG_CONTIG, bits == 8, samples == 3,
                      Int32(photometric) == PHOTOMETRIC_RGB || Int32(photometric) == PHOTOMETRIC_YCBCR else { return nil }
                codec = .jpeg(yCbCr: Int32(photometric) == PHOTOMETRIC_YCBCR)
            case 33003 where aperio:
                codec = .jpeg2000(.yCbCr)
            case 33005 where aperio:
                codec = .jpeg2000(.rgb)
            default:
                return nil
            }
            self.tileWidth = Int(tileWidth)
            self.tileHeight = Int(tileHeight)
        }
    }

    private static func decodeTiles(_ tiff: OpaquePointer, messages: UnsafeMutablePointer<ctiff_messages>, coding: TileCoding,
                                    directory: Int, slide: Slide, level: Int) throws -> RGBImage {
        let source = slide.levels[level]
        let (width, height) = (source.width, source.height)
        let (tileWidth, tileHeight) = (coding.tileWidth, coding.tileHeight)
        var tables: UnsafeRawBufferPointer?
        if case .jpeg = coding.codec {
            var length: UInt32 = 0
            var pointer: UnsafeRawPointer?
            if ctiff_get_jpeg_tables(tiff, &length, &pointer) != 0, let pointer {
                tables = UnsafeRawBufferPointer(start: pointer, count: Int(length))
            }
        }
        var counts: UnsafePointer<UInt64>?
        _ = ctiff_get_tile_byte_counts(tiff, &counts)
        var raw = [UInt8]()
        var tile = [UInt8](repeating: 0, count: tileWidth * tileHeight * 3)
        var pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { $1 = $0.count }
        func failure(column: Int, row: Int, _ detail: String) -> SlideError {
            .readFailed(path: slide.path, x: Int((Double(column * tileWidth) * source.downsample).rounded()),
                        y: Int((Double(row * tileHeight) * source.downsample).rounded()), level: level,
                        detail: "TIFF directory \(directory), tile column \(column), row \(row): \(detail)")
        }
        for row in 0 ..< (height + tileHeight - 1) / tileHeight {
            for column in 0 ..< (width + tileWidth - 1) / tileWidth {
                let number = TIFFComputeTile(tiff, UInt32(column * tileWidth), UInt32(row * tileHeight), 0, 0)
                guard let counts, number < TIFFNumberOfTiles(tiff) else {
                    throw failure(column: column, row: row, "Cannot get tile size")
                }
                let size = Int(counts[Int(number)])
                if raw.count < size { raw = [UInt8](repeating: 0, count: size) }
                let read = raw.withUnsafeMutableBytes { TIFFReadRawTile(tiff, number, $0.baseAddress, tmsize_t(size)) }
                guard read >= 0 else {
                    let libtiff = withUnsafeBytes(of: messages.pointee.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    throw failure(column: column, row: row, "Cannot read raw tile" + (libtiff.isEmpty ? "" : " (\(libtiff))"))
                }
                try raw.withUnsafeBytes { data in
                    let stream = UnsafeRawBufferPointer(rebasing: data[0 ..< Int(read)])
                    try tile.withUnsafeMutableBufferPointer { out in
                        switch coding.codec {
                        case .jpeg(let yCbCr):
                            var message = [CChar](repeating: 0, count: Int(CJPEG_MESSAGE_BYTES))
                            let status = cjpeg_decode_tiff_tile(
                                tables?.baseAddress?.assumingMemoryBound(to: UInt8.self), tables?.count ?? 0,
                                stream.baseAddress?.assumingMemoryBound(to: UInt8.self), stream.count, yCbCr ? 1 : 0,
                                Int32(tileWidth), Int32(tileHeight), out.baseAddress, out.count, &message)
                            if status != 0 {
                                throw failure(column: column, row: row, String(cString: message))
                            }
                        case .jpeg2000(let space):
                            do {
                                try AperioJP2KTile.decode(stream, width: tileWidth, height: tileHeight, space: space,
                                                          into: out.baseAddress!)
                            } catch {
                                throw failure(column: column, row: row, "\(error)")
                            }
                        }
                    }
                }
                copy(tile: tile, tileWidth: tileWidth, column: column, row: row, tileHeight: tileHeight,
                     into: &pixels, width: width, height: height)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Copies the part of a decoded tile that lies inside the level.
    private static func copy(tile: [UInt8], tileWidth: Int, column: Int, row: Int, tileHeight: Int,
                             into pixels: inout [UInt8], width: Int, height: Int) {
        let x0 = column * tileWidth, y0 = row * tileHeight
        let columns = min(tileWidth, width - x0), rows = min(tileHeight, height - y0)
        tile.withUnsafeBufferPointer { from in
            pixels.withUnsafeMutableBufferPointer { to in
                for y in 0 ..< rows {
                    (to.baseAddress! + ((y0 + y) * width + x0) * 3)
                        .update(from: from.baseAddress! + y * tileWidth * 3, count: columns * 3)
                }
            }
        }
    }
}
