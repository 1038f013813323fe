// libjpeg(-turbo) shim for WoofData: decode to RGB the way Pillow does, with an error
// handler that longjmps back into the C function that called libjpeg (never across Swift).
#include "cjpeg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;  // must be first: libjpeg hands us a jpeg_error_mgr*
    jmp_buf jump;
    int code;                   // CJPEG_ERR_* to report after the jump
    char message[JMSG_LENGTH_MAX];
} shim_error_mgr;

static void shim_error_exit(j_common_ptr cinfo) {
    shim_error_mgr *err = (shim_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    err->code = CJPEG_ERR_CORRUPT;
    longjmp(err->jump, 1);
}

// Warnings (level -1) are tolerated like Pillow does, except running out of data:
// libjpeg would pad the image with gray, Pillow reports "image file is truncated".
static void shim_emit_message(j_common_ptr cinfo, int msg_level) {
    shim_error_mgr *err = (shim_error_mgr *)cinfo->err;
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            (*cinfo->err->format_message)(cinfo, err->message);
            err->code = CJPEG_ERR_TRUNCATED;
            longjmp(err->jump, 1);
        }
    }
}

static void shim_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void shim_init_error(shim_error_mgr *err) {
    memset(err, 0, sizeof(*err));
    jpeg_std_error(&err->pub);
    err->pub.error_exit = shim_error_exit;
    err->pub.emit_message = shim_emit_message;
    err->pub.output_message = shim_output_message;
    err->code = CJPEG_OK;
}

static void set_msg(char *msg, size_t msg_len, const char *text) {
    if (msg && msg_len > 0) {
        snprintf(msg, msg_len, "%s", text);
    }
}

static int check_prefix(const uint8_t *data, size_t size, char *msg, size_t msg_len) {
    if (size == 0 || data == NULL) {
        set_msg(msg, msg_len, "file is empty (0 bytes)");
        return CJPEG_ERR_EMPTY;
    }
    if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        char text[160];
        if (size >= 8 && data[0] == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') {
            snprintf(text, sizeof text, "not a JPEG file (it is a PNG)");
        } else if (size >= 2) {
            snprintf(text, sizeof text, "not a JPEG file (starts with 0x%02X 0x%02X, expected 0xFF 0xD8)",
                     data[0], data[1]);
        } else {
            snprintf(text, sizeof text, "not a JPEG file (only %zu byte)", size);
        }
        set_msg(msg, msg_len, text);
        return CJPEG_ERR_NOT_JPEG;
    }
    return CJPEG_OK;
}

static int check_dimensions(const struct jpeg_decompress_struct *cinfo, char *msg, size_t msg_len) {
    long long w = cinfo->image_width, h = cinfo->image_height;
    if (w > CJPEG_MAX_SIDE || h > CJPEG_MAX_SIDE || w * h > CJPEG_MAX_PIXELS) {
        char text[160];
        snprintf(text, sizeof text, "declared size %lldx%lld exceeds the limit (%d per side, %lld pixels)",
                 w, h, CJPEG_MAX_SIDE, CJPEG_MAX_PIXELS);
        set_msg(msg, msg_len, text);
        return CJPEG_ERR_TOO_LARGE;
    }
    if (w <= 0 || h <= 0) {
        set_msg(msg, msg_len, "declared size is empty");
        return CJPEG_ERR_CORRUPT;
    }
    return CJPEG_OK;
}

int cjpeg_read_header(const uint8_t *data, size_t size, cjpeg_header *header,
                      char *msg, size_t msg_len) {
    int rc = check_prefix(data, size, msg, msg_len);
    if (rc != CJPEG_OK) return rc;
    struct jpeg_decompress_struct cinfo;
    shim_error_mgr err;
    shim_init_error(&err);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        set_msg(msg, msg_len, err.message);
        jpeg_destroy_decompress(&cinfo);
        return err.code;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (header) {
        header->width = (int)cinfo.image_width;
        header->height = (int)cinfo.image_height;
        header->components = cinfo.num_components;
        header->color_space = (int)cinfo.jpeg_color_space;
        header->progressive = cinfo.progressive_mode ? 1 : 0;
    }
    jpeg_destroy_decompress(&cinfo);
    return CJPEG_OK;
}

// Pillow's MULDIV255 and cmyk2rgb (src/libImaging/Convert.c) after the "CMYK;I" unpacker
// (which inverts every byte, assuming Adobe conventions).
static inline uint8_t clip8i(int v) { return v <= 0 ? 0 : (v >= 255 ? 255 : (uint8_t)v); }
static inline int muldiv255(int a, int b) {
    int tmp = a * b + 128;
    return ((tmp >> 8) + tmp) >> 8;
}

static void cmyk_inverted_to_rgb(const uint8_t *in, uint8_t *out, int width) {
    for (int x = 0; x < width; x++) {
        int c = 255 - in[0], m = 255 - in[1], y = 255 - in[2], k = 255 - in[3];
        int nk = 255 - k;
        out[0] = clip8i(nk - muldiv255(c, nk));
        out[1] = clip8i(nk - muldiv255(m, nk));
        out[2] = clip8i(nk - muldiv255(y, nk));
        in += 4;
        out += 3;
    }
}

int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_capacity,
                     int *width, int *height, char *msg, size_t msg_len) {
    int rc = check_prefix(data, size, msg, msg_len);
    if (rc != CJPEG_OK) return rc;
    struct jpeg_decompress_struct cinfo;
    shim_error_mgr err;
    shim_init_error(&err);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        set_msg(msg, msg_len, err.message);
        jpeg_destroy_decompress(&cinfo);
        return err.code;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    rc = check_dimensions(&cinfo, msg, msg_len);
    if (rc != CJPEG_OK) {
        jpeg_destroy_decompress(&cinfo);
        return rc;
    }
    size_t w = cinfo.image_width, h = cinfo.image_height;
    if (out == NULL || out_capacity < w * h * 3) {
        char text[160];
        snprintf(text, sizeof text, "output buffer of %zu bytes is too small for %zux%zu RGB",
                 out_capacity, w, h);
        set_msg(msg, msg_len, text);
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_ERR_BUFFER;
    }

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;  // gray -> RGB replicates the sample, as Pillow's L->RGB
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default: {
        char text[160];
        snprintf(text, sizeof text, "unsupported JPEG colour space %d with %d components",
                 (int)cinfo.jpeg_color_space, cinfo.num_components);
        set_msg(msg, msg_len, text);
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_ERR_UNSUPPORTED;
    }
    }
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    cinfo.scale_num = 1;
    cinfo.scale_denom = 1;

    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != w || cinfo.output_height != h ||
        cinfo.output_components != (cmyk ? 4 : 3)) {
        set_msg(msg, msg_len, "unexpected decoder output geometry");
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_ERR_CORRUPT;
    }
    // CMYK rows go through a scratch row owned by libjpeg's pool (freed by destroy, even
    // after a longjmp), then are converted into the caller's buffer.
    JSAMPARRAY scratch = NULL;
    if (cmyk) {
        scratch = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
                                             (JDIMENSION)(w * 4), 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t row = cinfo.output_scanline;
        if (cmyk) {
            if (jpeg_read_scanlines(&cinfo, scratch, 1) != 1) break;
            cmyk_inverted_to_rgb(scratch[0], out + row * w * 3, (int)w);
        } else {
            JSAMPROW rows[1] = {out + row * w * 3};
            if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
        }
    }
    if (cinfo.output_scanline < cinfo.output_height) {
        set_msg(msg, msg_len, "decoder stopped before the last scanline");
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_ERR_TRUNCATED;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (width) *width = (int)w;
    if (height) *height = (int)h;
    return CJPEG_OK;
}

int cjpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality, int progressive,
                 uint8_t **out, size_t *out_size, char *msg, size_t msg_len) {
    if (!pixels || !out || !out_size || width <= 0 || height <= 0 ||
        (components != 1 && components != 3 && components != 4)) {
        set_msg(msg, msg_len, "invalid arguments to cjpeg_encode");
        return CJPEG_ERR_UNSUPPORTED;
    }
    *out = NULL;
    *out_size = 0;
    struct jpeg_compress_struct cinfo;
    shim_error_mgr err;
    shim_init_error(&err);
    cinfo.err = &err.pub;
    unsigned char *volatile buffer = NULL;
    unsigned long buffer_size = 0;
    if (setjmp(err.jump)) {
        set_msg(msg, msg_len, err.message);
        jpeg_destroy_compress(&cinfo);
        if (buffer) free(buffer);
        return err.code;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, &buffer_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : (components == 3 ? JCS_RGB : JCS_CMYK);
    jpeg_set_defaults(&cinfo);  // CMYK input -> YCCK file with an Adobe marker
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)components);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buffer;
    *out_size = buffer_size;
    return CJPEG_OK;
}

void cjpeg_free(void *p) { free(p); }
