import CPNG
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An 8-bit sRGB colour.
public struct RGBColor: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    /// A colour from its three 8-bit components.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A colour from a 24-bit `0xRRGGBB` value.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
    }

    /// `#rrggbb`.
    public var description: String {
        "#" + [r, g, b].map { String(format: "%02x", $0) }.joined()
    }

    /// Linear interpolation towards `other` (`t` = 0 gives `self`, 1 gives `other`).
    public func mixed(with other: RGBColor, _ t: Float) -> RGBColor {
        let t = min(max(t, 0), 1)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Float(a) + (Float(b) - Float(a)) * t).rounded())
        }
        return RGBColor(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    /// Near-black used for axes and text.
    public static let ink = RGBColor(34, 34, 34)
    public static let gray = RGBColor(128, 128, 128)
    public static let lightGray = RGBColor(224, 224, 224)
}

/// Errors of PNG encoding/decoding and of invalid canvas arguments. Messages name the file.
public enum VizError: Error, CustomStringConvertible, Equatable {
    /// Reading `path` failed (missing, not a PNG, truncated, corrupt, too large).
    case readFailed(path: String, message: String)
    /// Writing `path` failed (directory missing, permission, disk full, rename).
    case writeFailed(path: String, message: String)
    /// An argument was out of range (sizes, mismatched buffers).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .readFailed(path, message): return "cannot read PNG '\(path)': \(message)"
        case let .writeFailed(path, message): return "cannot write PNG '\(path)': \(message)"
        case let .invalidArgument(message): return "invalid argument: \(message)"
        }
    }
}

extension VizError: LocalizedError {
    public var errorDescription: String? { description }
}

/// An RGB raster: `pixels` holds `width * height * 3` bytes, rows top to bottom.
///
/// Pixel (x, y) covers the unit square [x, x+1) × [y, y+1). Drawing outside the canvas is
/// clipped silently. Charts are SVG (`SVGChart`); a canvas holds images and heat maps only.
public struct RGBCanvas: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Interleaved RGB bytes, `(y * width + x) * 3`.
    public var pixels: [UInt8]

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width >= 0 && height >= 0, "negative canvas size")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(background)
    }

    /// A canvas over existing RGB bytes; throws if `pixels.count != width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 0, height >= 0, pixels.count == width * height * 3 else {
            throw VizError.invalidArgument("\(pixels.count) bytes for a \(width)x\(height) RGB canvas")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    // MARK: Pixels

    /// The colour at (x, y); `nil` outside the canvas.
    public func pixel(x: Int, y: Int) -> RGBColor? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let o = (y * width + x) * 3
        return RGBColor(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// Fills the whole canvas.
    public mutating func fill(_ color: RGBColor) {
        let n = width * height
        pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                p[i * 3] = color.r
                p[i * 3 + 1] = color.g
                p[i * 3 + 2] = color.b
            }
        }
    }

    /// Sets one pixel (ignored outside the canvas).
    @inline(__always)
    public mutating func setPixel(x: Int, y: Int, _ color: RGBColor) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = color.r
        pixels[o + 1] = color.g
        pixels[o + 2] = color.b
    }

    /// Blends `color` over pixel (x, y) with opacity `alpha` in 0…1 (ignored outside).
    @inline(__always)
    public mutating func blendPixel(x: Int, y: Int, _ color: RGBColor, alpha: Float) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let o = (y * width + x) * 3
        if alpha >= 1 {
            pixels[o] = color.r
            pixels[o + 1] = color.g
            pixels[o + 2] = color.b
            return
        }
        let a = alpha, ia = 1 - alpha
        pixels[o] = UInt8(Float(pixels[o]) * ia + Float(color.r) * a + 0.5)
        pixels[o + 1] = UInt8(Float(pixels[o + 1]) * ia + Float(color.g) * a + 0.5)
        pixels[o + 2] = UInt8(Float(pixels[o + 2]) * ia + Float(color.b) * a + 0.5)
    }

    // MARK: Rectangles

    /// Fills the integer rectangle [x, x+w) × [y, y+h) (clipped), optionally blended.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGBColor,
                                  alpha: Float = 1) {
        let x0 = max(x, 0), y0 = max(y, 0)
        let x1 = min(x + w, width), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        if alpha >= 1 {
            let stride = width
            pixels.withUnsafeMutableBufferPointer { p in
                for yy in y0..<y1 {
                    var o = (yy * stride + x0) * 3
                    for _ in x0..<x1 {
                        p[o] = color.r
                        p[o + 1] = color.g
                        p[o + 2] = color.b
                        o += 3
                    }
                }
            }
        } else {
            for yy in y0..<y1 { for xx in x0..<x1 { blendPixel(x: xx, y: yy, color, alpha: alpha) } }
        }
    }

    // MARK: Compositing

    /// Copies `other` with its top-left corner at (x, y) (clipped).
    public mutating func draw(_ other: RGBCanvas, x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + other.width), y1 = min(height, y + other.height)
        guard x0 < x1, y0 < y1 else { return }
        let rowBytes = (x1 - x0) * 3
        let dstStride = width, srcStride = other.width
        pixels.withUnsafeMutableBufferPointer { dst in
            other.pixels.withUnsafeBufferPointer { src in
                for yy in y0..<y1 {
                    let d = (yy * dstStride + x0) * 3
                    let s = ((yy - y) * srcStride + (x0 - x)) * 3
                    UnsafeMutableRawPointer(dst.baseAddress! + d)
                        .copyMemory(from: src.baseAddress! + s, byteCount: rowBytes)
                }
            }
        }
    }

    // MARK: PNG

    /// Writes the canvas as an 8-bit RGB PNG. The file is written to a temporary name in
    /// the same directory and renamed over `path`, so readers never see a partial file.
    public func writePNG(path: String) throws {
        guard width > 0, height > 0 else {
            throw VizError.writeFailed(path: path, message: "canvas is empty (\(width)x\(height))")
        }
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var msg = [CChar](repeating: 0, count: Int(CPNG_MSG_LEN))
        let rc = pixels.withUnsafeBufferPointer { p in
            cpng_write_rgb(tmp, Int32(width), Int32(height), p.baseAddress, &msg, msg.count)
        }
        guard rc == CPNG_OK else {
            unlink(tmp)
            throw VizError.writeFailed(path: path, message: String(cString: msg))
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw VizError.writeFailed(path: path, message: "rename from temporary file failed: \(reason)")
        }
    }

    /// Reads a PNG of any colour type as RGB (alpha composited over white). Errors name `path`.
    public static func readPNG(path: String) throws -> RGBCanvas {
        var msg = [CChar](repeating: 0, count: Int(CPNG_MSG_LEN))
        var out: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0
        let rc = cpng_read_rgb(path, &out, &w, &h, &msg, msg.count)
        guard rc == CPNG_OK, let out else {
            throw VizError.readFailed(path: path, message: String(cString: msg))
        }
        defer { cpng_free(out) }
        let count = Int(w) * Int(h) * 3
        return try RGBCanvas(width: Int(w), height: Int(h),
                             pixels: [UInt8](UnsafeBufferPointer(start: out, count: count)))
    }
}
