// See include/cjpeg_shim.h.
#include "cjpeg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

struct shim_error {
    struct jpeg_error_mgr manager;  // first: libjpeg sees a jpeg_error_mgr *
    jmp_buf jump;
    char message[CJPEG_MESSAGE_BYTES];
};

static void shim_error_exit(j_common_ptr info) {
    struct shim_error *error = (struct shim_error *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(error->message, sizeof error->message, "%s", text);
    longjmp(error->jump, 1);
}

// level < 0: a warning (corrupt data); ≥ 0: trace messages, ignored.
static void shim_emit_message(j_common_ptr info, int level) {
    if (level < 0) shim_error_exit(info);
}

static void set_message(char *message, const char *text) {
    snprintf(message, CJPEG_MESSAGE_BYTES, "%s", text);
}

int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t capacity,
                     int *width, int *height, char *message) {
    if (size == 0) {
        set_message(message, "empty file");
        return -1;
    }
    struct jpeg_decompress_struct info;
    struct shim_error error;
    memset(&info, 0, sizeof info);
    memset(&error, 0, sizeof error);
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = shim_error_exit;
    error.manager.emit_message = shim_emit_message;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        set_message(message, error.message);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, (unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        set_message(message, "CMYK/YCCK JPEG: only greyscale, RGB and YCbCr images are supported");
        return -1;
    }
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    if (rgb == NULL) {
        jpeg_destroy_decompress(&info);
        return 0;
    }
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    size_t row_bytes = (size_t)info.output_width * 3;
    if (info.output_components != 3 || row_bytes * info.output_height > capacity) {
        jpeg_destroy_decompress(&info);
        set_message(message, "decoded image does not fit the buffer (internal error)");
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = rgb + (size_t)info.output_scanline * row_bytes;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return 0;
}

int cjpeg_decode_tiff_tile(const uint8_t *tables, size_t tables_size, const uint8_t *data, size_t size,
                           int ycbcr, int width, int height, uint8_t *rgb, size_t capacity, char *message) {
    struct jpeg_decompress_struct info;
    struct shim_error error;
    memset(&info, 0, sizeof info);
    memset(&error, 0, sizeof error);
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = shim_error_exit;
    error.manager.emit_message = shim_emit_message;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        set_message(message, error.message);
        return -1;
    }
    jpeg_create_decompress(&info);
    if (tables != NULL) {
        jpeg_mem_src(&info, (unsigned char *)tables, (unsigned long)tables_size);
        if (jpeg_read_header(&info, FALSE) != JPEG_HEADER_TABLES_ONLY) {
            jpeg_destroy_decompress(&info);
            set_message(message, "Couldn't load JPEG tables");
            return -1;
        }
    }
    jpeg_mem_src(&info, (unsigned char *)data, (unsigned long)size);
    if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&info);
        set_message(message, "Couldn't read JPEG header");
        return -1;
    }
    info.jpeg_color_space = ycbcr ? JCS_YCbCr : JCS_RGB;
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    if ((int)info.output_width != width || (int)info.output_height != height) {
        snprintf(message, CJPEG_MESSAGE_BYTES, "Dimensional mismatch reading JPEG, expected %dx%d, got %dx%d",
                 width, height, (int)info.output_width, (int)info.output_height);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    size_t row_bytes = (size_t)width * 3;
    if (info.output_components != 3 || row_bytes * (size_t)height > capacity) {
        jpeg_destroy_decompress(&info);
        set_message(message, "decoded tile does not fit the buffer (internal error)");
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = rgb + (size_t)info.output_scanline * row_bytes;
        jpeg_read_scanlines(&info, &row, 1);
    }
    // No jpeg_finish_decompress: OpenSlide does not call it, and its trailing-data warnings would be fatal here.
    jpeg_destroy_decompress(&info);
    return 0;
}
