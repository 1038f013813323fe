import CJPEG
import Foundation

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC).
public struct RGBImage: Equatable {
    public var width: Int
    public var height: Int
    /// `height * width * 3` bytes: R, G, B of pixel (y, x) at `(y * width + x) * 3`.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// Pixel (x, y) as (r, g, b).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * width + x) * 3
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }
}

/// Why an image could not be read; `description` names the file and the problem.
public struct ImageDecodeError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable {
        case unreadable, empty, notJPEG, truncated, corrupt, tooLarge, unsupported
    }
    public let path: String
    public let kind: Kind
    public let message: String
    public init(path: String, kind: Kind, message: String) {
        self.path = path; self.kind = kind; self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// Dimensions and components declared in a JPEG header.
public struct JPEGHeader: Equatable {
    public var width: Int
    public var height: Int
    /// 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK.
    public var components: Int
    public var progressive: Bool
}

private func decodeErrorKind(_ code: Int32) -> ImageDecodeError.Kind {
    switch Int(code) {
    case Int(CJPEG_ERR_EMPTY): return .empty
    case Int(CJPEG_ERR_NOT_JPEG): return .notJPEG
    case Int(CJPEG_ERR_TRUNCATED): return .truncated
    case Int(CJPEG_ERR_TOO_LARGE): return .tooLarge
    case Int(CJPEG_ERR_UNSUPPORTED): return .unsupported
    default: return .corrupt
    }
}

private func decodeErrorMessage(_ kind: ImageDecodeError.Kind, _ detail: String) -> String {
    switch kind {
    case .truncated: return "truncated JPEG (\(detail))"
    case .corrupt: return "corrupt JPEG (\(detail))"
    default: return detail
    }
}

/// Reads a whole file; errors name the path.
func readFileBytes(_ path: String) throws -> Data {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        throw ImageDecodeError(path: path, kind: .unreadable,
                               message: !exists ? "no such file" : (isDir.boolValue ? "is a directory" : "cannot be opened for reading"))
    }
    defer { try? handle.close() }
    do { return try handle.readToEnd() ?? Data() } catch {
        throw ImageDecodeError(path: path, kind: .unreadable, message: "read failed: \(error.localizedDescription)")
    }
}

/// Reads only the JPEG header (cheap: no entropy decoding).
public func readJPEGHeader(data: Data, name: String = "<memory>") throws -> JPEGHeader {
    var header = cjpeg_header()
    var msg = [CChar](repeating: 0, count: Int(CJPEG_MSG_LEN))
    let rc = data.withUnsafeBytes { raw -> Int32 in
        cjpeg_read_header(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &header, &msg, msg.count)
    }
    if rc != CJPEG_OK {
        let kind = decodeErrorKind(rc)
        throw ImageDecodeError(path: name, kind: kind, message: decodeErrorMessage(kind, String(cString: msg)))
    }
    return JPEGHeader(width: Int(header.width), height: Int(header.height),
                      components: Int(header.components), progressive: header.progressive != 0)
}

/// Reads only the header of the JPEG file at `path`.
public func readJPEGHeader(path: String) throws -> JPEGHeader {
    try readJPEGHeader(data: try readFileBytes(path), name: path)
}

/// Decodes a JPEG held in memory to RGB with Pillow's decoder settings (islow IDCT, fancy
/// upsampling; gray → RGB; CMYK/YCCK as Adobe-inverted → RGB like `convert("RGB")`).
/// `name` is used in error messages.
public func decodeJPEG(data: Data, name: String = "<memory>") throws -> RGBImage {
    var buffer = PixelBuffer()
    let (w, h) = try decodeJPEG(data: data, name: name, into: &buffer)
    return RGBImage(width: w, height: h, pixels: Array(UnsafeBufferPointer(start: buffer.pointer, count: w * h * 3)))
}

/// Decodes the JPEG file at `path`; errors name the path and the problem.
public func decodeJPEG(path: String) throws -> RGBImage {
    try decodeJPEG(data: try readFileBytes(path), name: path)
}

/// A growable byte buffer reused across decodes (no allocation once it is big enough).
struct PixelBuffer {
    private(set) var pointer: UnsafeMutablePointer<UInt8>? = nil
    private(set) var capacity = 0

    mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if n > capacity || pointer == nil {
            pointer?.deallocate()
            let c = max(n, 1)
            pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            capacity = c
        }
        return pointer!
    }

    func free() { pointer?.deallocate() }
}

/// Decodes into a reusable buffer; returns (width, height). Internal hot path.
func decodeJPEG(data: Data, name: String, into buffer: inout PixelBuffer) throws -> (Int, Int) {
    var msg = [CChar](repeating: 0, count: Int(CJPEG_MSG_LEN))
    var header = cjpeg_header()
    var width: Int32 = 0, height: Int32 = 0
    let rc: Int32 = data.withUnsafeBytes { raw -> Int32 in
        let base = raw.bindMemory(to: UInt8.self).baseAddress
        let hrc = cjpeg_read_header(base, raw.count, &header, &msg, msg.count)
        if hrc != CJPEG_OK { return hrc }
        let w = Int(header.width), h = Int(header.height)
        if w > Int(CJPEG_MAX_SIDE) || h > Int(CJPEG_MAX_SIDE) || w * h > Int(CJPEG_MAX_PIXELS) {
            // Let the decoder produce the uniform "too large" message without allocating.
            return cjpeg_decode_rgb(base, raw.count, nil, 0, &width, &height, &msg, msg.count)
        }
        let out = buffer.reserve(w * h * 3)
        return cjpeg_decode_rgb(base, raw.count, out, buffer.capacity, &width, &height, &msg, msg.count)
    }
    if rc != CJPEG_OK {
        let kind = decodeErrorKind(rc)
        throw ImageDecodeError(path: name, kind: kind, message: decodeErrorMessage(kind, String(cString: msg)))
    }
    return (Int(width), Int(height))
}

/// Encodes pixels as JPEG with libjpeg (1 = gray, 3 = RGB, 4 = CMYK stored Adobe-style as
/// YCCK). For tests and fixtures.
public func encodeJPEG(pixels: [UInt8], width: Int, height: Int, components: Int, quality: Int = 90,
                       progressive: Bool = false) throws -> Data {
    precondition(pixels.count == width * height * components, "pixel count does not match \(width)x\(height)x\(components)")
    var out: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var msg = [CChar](repeating: 0, count: Int(CJPEG_MSG_LEN))
    let rc = pixels.withUnsafeBufferPointer { p in
        cjpeg_encode(p.baseAddress, Int32(width), Int32(height), Int32(components), Int32(quality), progressive ? 1 : 0, &out, &size, &msg, msg.count)
    }
    guard rc == CJPEG_OK, let bytes = out else {
        throw ImageDecodeError(path: "<encode>", kind: .unsupported, message: String(cString: msg))
    }
    defer { cjpeg_free(bytes) }
    return Data(bytes: bytes, count: size)
}
