#pragma once
// A small C shim over libpng for WoofViz.
//
// Everything goes through libpng's "simplified" API (png_image_*), whose error handling
// uses setjmp/longjmp entirely inside libpng: no longjmp ever crosses a Swift frame, and
// errors come back as a result code plus a message.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of the shim functions.
enum {
    CPNG_OK = 0,
    CPNG_ERR_IO = 1,         ///< open/read/write/close failed (message has strerror)
    CPNG_ERR_EMPTY = 2,      ///< zero bytes of input
    CPNG_ERR_NOT_PNG = 3,    ///< does not start with the 8-byte PNG signature
    CPNG_ERR_CORRUPT = 4,    ///< libpng reported an error (truncated, bad CRC, ...)
    CPNG_ERR_TOO_LARGE = 5,  ///< declared dimensions exceed the limits below
    CPNG_ERR_ARGS = 6,       ///< invalid arguments
    CPNG_ERR_NOMEM = 7,      ///< allocation failed
};

/// Largest accepted side and pixel count on read (checked on the header, before allocating).
#define CPNG_MAX_SIDE 32768
#define CPNG_MAX_PIXELS 200000000LL

/// Suggested length of the message buffers callers pass in.
#define CPNG_MSG_LEN 256

/// Writes 8-bit interleaved RGB (rows top to bottom, width*height*3 bytes) as an RGB PNG
/// to `path` (created or truncated). Returns CPNG_OK or an error code with `msg` set.
int cpng_write_rgb(const char *path, int width, int height, const uint8_t *rgb,
                   char *msg, size_t msg_len);

/// Reads a PNG of any colour type/bit depth and converts it to 8-bit interleaved RGB
/// (alpha composited over white, 16-bit reduced, palette/gray expanded). On success
/// `*out` is a malloc'ed buffer of width*height*3 bytes that the caller frees with
/// cpng_free. Truncated or corrupt files are errors, never partial images.
int cpng_read_rgb(const char *path, uint8_t **out, int *width, int *height,
                  char *msg, size_t msg_len);

/// Frees a buffer returned by cpng_read_rgb.
void cpng_free(void *p);

#ifdef __cplusplus
}
#endif
