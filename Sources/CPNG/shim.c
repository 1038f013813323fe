// libpng shim for WoofViz, on libpng's simplified API (png_image_*): libpng's own
// setjmp/longjmp stays inside libpng, and errors come back as codes plus messages.
#include "cpng_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

static void set_msg(char *msg, size_t msg_len, const char *text) {
    if (msg && msg_len > 0) snprintf(msg, msg_len, "%s", text);
}

int cpng_write_rgb(const char *path, int width, int height, const uint8_t *rgb,
                   char *msg, size_t msg_len) {
    if (!path || !rgb || width <= 0 || height <= 0 ||
        width > CPNG_MAX_SIDE || height > CPNG_MAX_SIDE) {
        set_msg(msg, msg_len, "invalid arguments (empty or oversized image)");
        return CPNG_ERR_ARGS;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        char text[200];
        snprintf(text, sizeof text, "cannot create file: %s", strerror(errno));
        set_msg(msg, msg_len, text);
        return CPNG_ERR_IO;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_stdio(&image, f, 0, rgb, 0, NULL);
    if (!ok || PNG_IMAGE_FAILED(image)) {
        char text[200];
        snprintf(text, sizeof text, "libpng: %s", image.message[0] ? image.message : "write failed");
        set_msg(msg, msg_len, text);
        png_image_free(&image);
        fclose(f);
        return CPNG_ERR_CORRUPT;
    }
    png_image_free(&image);
    int flush_err = fflush(f) != 0 || ferror(f);
    int saved = errno;
    if (fclose(f) != 0 || flush_err) {
        char text[200];
        snprintf(text, sizeof text, "write failed: %s", strerror(flush_err ? saved : errno));
        set_msg(msg, msg_len, text);
        return CPNG_ERR_IO;
    }
    return CPNG_OK;
}

// Reads the whole file into memory (so emptiness and the signature can be reported
// precisely) and returns a malloc'ed buffer.
static int slurp(const char *path, uint8_t **data, size_t *size, char *msg, size_t msg_len) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        char text[200];
        snprintf(text, sizeof text, "cannot open file: %s", strerror(errno));
        set_msg(msg, msg_len, text);
        return CPNG_ERR_IO;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        set_msg(msg, msg_len, "out of memory");
        return CPNG_ERR_NOMEM;
    }
    for (;;) {
        if (len == cap) {
            if (cap > ((size_t)1 << 31)) {
                free(buf);
                fclose(f);
                set_msg(msg, msg_len, "file is larger than 2 GiB");
                return CPNG_ERR_TOO_LARGE;
            }
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                fclose(f);
                set_msg(msg, msg_len, "out of memory");
                return CPNG_ERR_NOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        char text[200];
        snprintf(text, sizeof text, "read failed: %s", strerror(errno));
        set_msg(msg, msg_len, text);
        free(buf);
        fclose(f);
        return CPNG_ERR_IO;
    }
    fclose(f);
    *data = buf;
    *size = len;
    return CPNG_OK;
}

int cpng_read_rgb(const char *path, uint8_t **out, int *width, int *height,
                  char *msg, size_t msg_len) {
    if (!path || !out) {
        set_msg(msg, msg_len, "invalid arguments to cpng_read_rgb");
        return CPNG_ERR_ARGS;
    }
    *out = NULL;
    uint8_t *data;
    size_t size;
    int rc = slurp(path, &data, &size, msg, msg_len);
    if (rc != CPNG_OK) return rc;
    if (size == 0) {
        free(data);
        set_msg(msg, msg_len, "file is empty (0 bytes)");
        return CPNG_ERR_EMPTY;
    }
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        char text[160];
        if (size >= 2 && data[0] == 0xFF && data[1] == 0xD8) {
            snprintf(text, sizeof text, "not a PNG file (it is a JPEG)");
        } else if (size < 8) {
            snprintf(text, sizeof text, "not a PNG file (only %zu bytes, no PNG signature)", size);
        } else {
            snprintf(text, sizeof text, "not a PNG file (bad signature, starts with 0x%02X 0x%02X)",
                     data[0], data[1]);
        }
        free(data);
        set_msg(msg, msg_len, text);
        return CPNG_ERR_NOT_PNG;
    }

    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        char text[200];
        snprintf(text, sizeof text, "corrupt PNG header: %s", image.message);
        set_msg(msg, msg_len, text);
        png_image_free(&image);
        free(data);
        return CPNG_ERR_CORRUPT;
    }
    long long w = image.width, h = image.height;
    if (w <= 0 || h <= 0 || w > CPNG_MAX_SIDE || h > CPNG_MAX_SIDE || w * h > CPNG_MAX_PIXELS) {
        char text[200];
        snprintf(text, sizeof text, "declared size %lldx%lld exceeds the limit (%d per side, %lld pixels)",
                 w, h, CPNG_MAX_SIDE, CPNG_MAX_PIXELS);
        set_msg(msg, msg_len, text);
        png_image_free(&image);
        free(data);
        return CPNG_ERR_TOO_LARGE;
    }
    image.format = PNG_FORMAT_RGB;
    uint8_t *pixels = malloc((size_t)w * (size_t)h * 3);
    if (!pixels) {
        set_msg(msg, msg_len, "out of memory");
        png_image_free(&image);
        free(data);
        return CPNG_ERR_NOMEM;
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&image, &white, pixels, 0, NULL) || PNG_IMAGE_FAILED(image)) {
        char text[200];
        snprintf(text, sizeof text, "corrupt or truncated PNG data: %s", image.message);
        set_msg(msg, msg_len, text);
        png_image_free(&image);
        free(pixels);
        free(data);
        return CPNG_ERR_CORRUPT;
    }
    png_image_free(&image);
    free(data);
    *out = pixels;
    if (width) *width = (int)w;
    if (height) *height = (int)h;
    return CPNG_OK;
}

void cpng_free(void *p) { free(p); }
