// Decoding JPEG files with libjpeg-turbo without aborting the process on bad data.
//
// libjpeg reports a fatal error by calling error_exit, which must not return; the stock handler calls exit().
// This shim installs handlers that format libjpeg's message and longjmp back into the C function that
// started the decode, which then cleans up and returns an error code with the message: Swift never sees a
// longjmp. Warnings (corrupt or truncated entropy data, which libjpeg would otherwise paper over with grey)
// are fatal too.
#ifndef CJPEG_SHIM_H
#define CJPEG_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Room for one libjpeg message (JMSG_LENGTH_MAX is 200) and its terminator.
#define CJPEG_MESSAGE_BYTES 256

/// Decodes the JPEG stream `data[0..<size]` as 8-bit RGB, row-major, interleaved, no padding.
///
/// With `rgb == NULL` only the header is read: `*width` and `*height` are set and 0 is returned. Otherwise the
/// image is decoded into `rgb`, which must hold `capacity ≥ width·height·3` bytes.
/// Greyscale and YCbCr streams are converted to RGB by libjpeg (islow IDCT, fancy upsampling: libjpeg's
/// defaults, as Pillow uses them); CMYK/YCCK streams are refused.
///
/// Returns 0 on success; -1 on any error or warning, with a NUL-terminated message in `message`
/// (`CJPEG_MESSAGE_BYTES` bytes).
int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t capacity,
                     int *width, int *height, char *message);

/// Decodes one JPEG-compressed TIFF tile as OpenSlide 3.4.1 does (openslide-decode-tiff.c, decode_jpeg): the
/// abbreviated table stream `tables[0..<tables_size]` (TIFF JPEGTables; NULL when absent) is read first, then
/// the tile stream `data[0..<size]`; the stream's colour space is forced to YCbCr when `ycbcr` is non-zero
/// (TIFF Photometric = YCbCr) and to RGB otherwise, whatever its markers say; libjpeg's defaults otherwise
/// (islow IDCT, fancy upsampling). Output: `width × height` RGB8, row-major, into `rgb`
/// (`capacity ≥ width·height·3` bytes); a tile of another size is an error.
///
/// Returns 0 on success; -1 on any error or warning, with a NUL-terminated message in `message`
/// (`CJPEG_MESSAGE_BYTES` bytes): libjpeg's own text, as OpenSlide reports it.
int cjpeg_decode_tiff_tile(const uint8_t *tables, size_t tables_size, const uint8_t *data, size_t size,
                           int ycbcr, int width, int height, uint8_t *rgb, size_t capacity, char *message);

#ifdef __cplusplus
}
#endif

#endif
