#pragma once
// A small C shim over libjpeg(-turbo) for WoofData.
//
// libjpeg's default error handler calls exit(). Every function here installs its own
// handler that longjmps back *inside the same C function* (never across Swift frames),
// releases libjpeg's state and returns an error code with a message instead.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the shim functions.
enum {
    CJPEG_OK = 0,
    CJPEG_ERR_EMPTY = 1,        ///< zero bytes of input
    CJPEG_ERR_NOT_JPEG = 2,     ///< does not start with the JPEG SOI marker
    CJPEG_ERR_TRUNCATED = 3,    ///< data ended before the image was complete
    CJPEG_ERR_CORRUPT = 4,      ///< libjpeg reported a fatal error (message has details)
    CJPEG_ERR_TOO_LARGE = 5,    ///< declared dimensions exceed the limits below
    CJPEG_ERR_UNSUPPORTED = 6,  ///< colour space / component count we do not convert
    CJPEG_ERR_BUFFER = 7,       ///< caller's output buffer is too small
    CJPEG_ERR_NOMEM = 8,        ///< allocation failed
};

/// Largest accepted side and pixel count (checked on the header, before any allocation).
#define CJPEG_MAX_SIDE 16384
#define CJPEG_MAX_PIXELS 100000000LL

/// Length of the message buffers callers pass in (libjpeg's JMSG_LENGTH_MAX is 200).
#define CJPEG_MSG_LEN 256

/// Header information of a JPEG stream.
typedef struct {
    int width;
    int height;
    int components;   ///< components in the file (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK)
    int color_space;  ///< libjpeg J_COLOR_SPACE of the file
    int progressive;  ///< 1 if progressive
} cjpeg_header;

/// Reads only the header (markers up to the first SOS): dimensions and components.
int cjpeg_read_header(const uint8_t *data, size_t size, cjpeg_header *header,
                      char *msg, size_t msg_len);

/// Decodes a complete JPEG to interleaved 8-bit RGB (rows top to bottom, HWC) with the
/// settings Pillow uses: islow IDCT, fancy upsampling; grayscale replicated to R=G=B;
/// CMYK/YCCK treated as Adobe-inverted and converted as Pillow's convert("RGB") does.
/// `out` must hold width*height*3 bytes (see cjpeg_read_header); width/height are set
/// on success. Truncated data is an error (CJPEG_ERR_TRUNCATED), not a gray-filled image.
int cjpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_capacity,
                     int *width, int *height, char *msg, size_t msg_len);

/// Encodes 8-bit pixels (components 1 = gray, 3 = RGB, 4 = CMYK written Adobe-style as
/// YCCK with an Adobe marker) at the given quality. On success *out is a malloc'ed buffer
/// the caller frees with cjpeg_free. Intended for tests and fixtures.
int cjpeg_encode(const uint8_t *pixels, int width, int height, int components, int quality, int progressive,
                 uint8_t **out, size_t *out_size, char *msg, size_t msg_len);

/// Frees a buffer returned by cjpeg_encode.
void cjpeg_free(void *p);

#ifdef __cplusplus
}
#endif
