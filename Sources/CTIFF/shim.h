// libtiff 4.5 (Debian libtiff-dev: pkg-config "libtiff-4"). TIFFGetField is variadic and libtiff's error
// handlers take a va_list, neither of which Swift can call or implement, so the few typed getters and the
// per-file message capture that SlideIO needs are small inline functions here.
#ifndef CTIFF_SHIM_H
#define CTIFF_SHIM_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <tiffio.h>

/// Room for libtiff's first error message on one handle.
#define CTIFF_MESSAGE_BYTES 512

/// The first error libtiff reported on a handle opened with ctiff_open (empty while there is none).
typedef struct {
    char message[CTIFF_MESSAGE_BYTES];
} ctiff_messages;

static inline int ctiff_record_error(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff;
    ctiff_messages *messages = (ctiff_messages *)user;
    if (messages && messages->message[0] == 0) {
        char text[CTIFF_MESSAGE_BYTES];
        vsnprintf(text, sizeof text, format, arguments);
        snprintf(messages->message, sizeof messages->message, "%s: %s", module ? module : "libtiff", text);
    }
    return 1;  // handled: libtiff's global handler (stderr) is not called
}

static inline int ctiff_ignore_warning(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)user; (void)module; (void)format; (void)arguments;
    return 1;
}

/// Opens `path` read-only; errors go to `messages` (which must outlive the handle), warnings are dropped.
static inline TIFF *ctiff_open(const char *path, ctiff_messages *messages) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, ctiff_record_error, messages);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ctiff_ignore_warning, NULL);
    TIFF *tiff = TIFFOpenExt(path, "r", options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

/// A 16-bit tag of the current directory (defaulted tags included); 1 when present.
static inline int ctiff_get_u16(TIFF *tiff, uint32_t tag, uint16_t *value) {
    return TIFFGetFieldDefaulted(tiff, tag, value);
}

/// A 32-bit tag of the current directory (defaulted tags included); 1 when present.
static inline int ctiff_get_u32(TIFF *tiff, uint32_t tag, uint32_t *value) {
    return TIFFGetFieldDefaulted(tiff, tag, value);
}

/// TileByteCounts of the current directory (TIFFNumberOfTiles entries); 1 when present.
static inline int ctiff_get_tile_byte_counts(TIFF *tiff, const uint64_t **counts) {
    uint64_t *values = NULL;
    int found = TIFFGetField(tiff, TIFFTAG_TILEBYTECOUNTS, &values);
    *counts = values;
    return found;
}

/// JPEGTables of the current directory; 1 when present.
static inline int ctiff_get_jpeg_tables(TIFF *tiff, uint32_t *length, const void **tables) {
    void *data = NULL;
    uint32_t count = 0;
    int found = TIFFGetField(tiff, TIFFTAG_JPEGTABLES, &count, &data);
    *length = count;
    *tables = data;
    return found;
}

// Writing, for the tests that make small tiled TIFFs (libtiff's JPEG codec) to compare with OpenSlide.

/// Creates `path` for writing; errors go to `messages`, warnings are dropped.
static inline TIFF *ctiff_create(const char *path, ctiff_messages *messages) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, ctiff_record_error, messages);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ctiff_ignore_warning, NULL);
    TIFF *tiff = TIFFOpenExt(path, "w", options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

/// Sets a tag whose value libtiff reads as `int` from its variadic arguments (16-bit tags, pseudo-tags such
/// as JPEGQUALITY and JPEGCOLORMODE); 1 on success.
static inline int ctiff_set_int(TIFF *tiff, uint32_t tag, int value) {
    return TIFFSetField(tiff, tag, value);
}

/// Sets a 32-bit tag (ImageWidth, TileWidth, SubfileType, …); 1 on success.
static inline int ctiff_set_u32(TIFF *tiff, uint32_t tag, uint32_t value) {
    return TIFFSetField(tiff, tag, value);
}

/// Sets YCbCrSubsampling (horizontal, vertical); 1 on success.
static inline int ctiff_set_ycbcr_subsampling(TIFF *tiff, int horizontal, int vertical) {
    return TIFFSetField(tiff, TIFFTAG_YCBCRSUBSAMPLING, horizontal, vertical);
}

#endif
