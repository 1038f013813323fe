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

    /// The ten "tab10" categorical colours (matplotlib's default cycle): distinct, print-safe.
    public static let palette: [RGBColor] = [
        RGBColor(hex: 0x1F77B4), RGBColor(hex: 0xFF7F0E), RGBColor(hex: 0x2CA02C),
        RGBColor(hex: 0xD62728), RGBColor(hex: 0x9467BD), RGBColor(hex: 0x8C564B),
        RGBColor(hex: 0xE377C2), RGBColor(hex: 0x7F7F7F), RGBColor(hex: 0xBCBD22),
        RGBColor(hex: 0x17BECF),
    ]
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

/// A point marker shape for plots.
public enum Marker: String, CaseIterable, Sendable {
    case none, circle, square, triangle, diamond, cross, plus
}

/// An RGB raster: `pixels` holds `width * height * 3` bytes, rows top to bottom.
///
/// Pixel (x, y) covers the unit square [x, x+1) × [y, y+1); geometry drawn with `Double`
/// coordinates (lines, circles) is anti-aliased by coverage against pixel centres
/// (x + 0.5, y + 0.5). Drawing outside the canvas is clipped silently.
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

    /// Outlines [x, x+w) × [y, y+h) with a border `thickness` pixels wide, drawn inside it.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ color: RGBColor,
                                    thickness: Int = 1) {
        let t = max(1, min(thickness, min(w, h)))
        fillRect(x: x, y: y, width: w, height: t, color)
        fillRect(x: x, y: y + h - t, width: w, height: t, color)
        fillRect(x: x, y: y + t, width: t, height: h - 2 * t, color)
        fillRect(x: x + w - t, y: y + t, width: t, height: h - 2 * t, color)
    }

    // MARK: Lines

    /// Draws a segment with round caps, `thickness` pixels wide (anti-aliased unless
    /// `antialias` is false). Coordinates are continuous: (10.5, 3.5) is the centre of
    /// pixel (10, 3).
    public mutating func drawLine(from a: (x: Double, y: Double), to b: (x: Double, y: Double),
                                  _ color: RGBColor, thickness: Double = 1, antialias: Bool = true) {
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite, thickness > 0 else { return }
        let r = thickness / 2
        let reach = r + 1
        // Rows the capsule can touch.
        let yLo = max(0, Int((min(a.y, b.y) - reach).rounded(.down)))
        let yHi = min(height - 1, Int((max(a.y, b.y) + reach).rounded(.up)))
        guard yLo <= yHi, width > 0 else { return }
        let dx = b.x - a.x, dy = b.y - a.y
        let len2 = dx * dx + dy * dy
        for py in yLo...yHi {
            let cy = Double(py) + 0.5
            // x extent of the segment restricted to the band |y - cy| <= reach, widened by reach.
            var xMin: Double, xMax: Double
            if abs(dy) < 1e-12 {
                xMin = min(a.x, b.x)
                xMax = max(a.x, b.x)
            } else {
                let t0 = ((cy - reach) - a.y) / dy, t1 = ((cy + reach) - a.y) / dy
                let lo = max(0, min(t0, t1)), hi = min(1, max(t0, t1))
                if lo > hi { continue }
                let xa = a.x + dx * lo, xb = a.x + dx * hi
                xMin = min(xa, xb)
                xMax = max(xa, xb)
            }
            let pxLo = max(0, Int((xMin - reach).rounded(.down)))
            let pxHi = min(width - 1, Int((xMax + reach).rounded(.up)))
            if pxLo > pxHi { continue }
            for px in pxLo...pxHi {
                let cx = Double(px) + 0.5
                var t = len2 > 0 ? ((cx - a.x) * dx + (cy - a.y) * dy) / len2 : 0
                t = min(max(t, 0), 1)
                let ex = cx - (a.x + t * dx), ey = cy - (a.y + t * dy)
                let d = (ex * ex + ey * ey).squareRoot()
                let coverage: Double
                if antialias {
                    coverage = min(max(r + 0.5 - d, 0), 1)
                } else {
                    coverage = d <= max(r, 0.5) ? 1 : 0
                }
                if coverage > 0 { blendPixel(x: px, y: py, color, alpha: Float(coverage)) }
            }
        }
    }

    /// Draws a connected polyline. With `dash` (on, off lengths in pixels) the pattern runs
    /// continuously across the vertices. Non-finite points break the line.
    public mutating func drawPolyline(_ points: [(x: Double, y: Double)], _ color: RGBColor,
                                      thickness: Double = 1, dash: (on: Double, off: Double)? = nil) {
        guard points.count >= 2 else { return }
        var phase = 0.0  // distance travelled within the current dash period
        for i in 1..<points.count {
            let a = points[i - 1], b = points[i]
            guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { continue }
            guard let dash, dash.on > 0, dash.off >= 0 else {
                drawLine(from: a, to: b, color, thickness: thickness)
                continue
            }
            let dx = b.x - a.x, dy = b.y - a.y
            let len = (dx * dx + dy * dy).squareRoot()
            guard len > 0 else { continue }
            let period = dash.on + dash.off
            var s = 0.0
            while s < len {
                let inOn = phase < dash.on
                let step = min(len - s, inOn ? dash.on - phase : period - phase)
                if inOn {
                    let t0 = s / len, t1 = (s + step) / len
                    drawLine(from: (a.x + dx * t0, a.y + dy * t0), to: (a.x + dx * t1, a.y + dy * t1),
                             color, thickness: thickness)
                }
                s += step
                phase += step
                if phase >= period - 1e-9 { phase = 0 }
            }
        }
    }

    /// Draws one dashed segment (`dash` = on, off lengths in pixels).
    public mutating func drawDashedLine(from a: (x: Double, y: Double), to b: (x: Double, y: Double),
                                        _ color: RGBColor, thickness: Double = 1,
                                        dash: (on: Double, off: Double) = (6, 4)) {
        drawPolyline([a, b], color, thickness: thickness, dash: dash)
    }

    // MARK: Circles, polygons, markers

    /// Fills an anti-aliased disc.
    public mutating func fillCircle(center c: (x: Double, y: Double), radius: Double, _ color: RGBColor) {
        guard radius > 0, c.x.isFinite, c.y.isFinite else { return }
        let x0 = max(0, Int((c.x - radius - 1).rounded(.down)))
        let x1 = min(width - 1, Int((c.x + radius + 1).rounded(.up)))
        let y0 = max(0, Int((c.y - radius - 1).rounded(.down)))
        let y1 = min(height - 1, Int((c.y + radius + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let ex = Double(px) + 0.5 - c.x, ey = Double(py) + 0.5 - c.y
                let cov = min(max(radius + 0.5 - (ex * ex + ey * ey).squareRoot(), 0), 1)
                if cov > 0 { blendPixel(x: px, y: py, color, alpha: Float(cov)) }
            }
        }
    }

    /// Draws an anti-aliased circle outline of the given stroke `thickness`.
    public mutating func strokeCircle(center c: (x: Double, y: Double), radius: Double, _ color: RGBColor,
                                      thickness: Double = 1) {
        guard radius > 0, c.x.isFinite, c.y.isFinite else { return }
        let h = thickness / 2
        let x0 = max(0, Int((c.x - radius - h - 1).rounded(.down)))
        let x1 = min(width - 1, Int((c.x + radius + h + 1).rounded(.up)))
        let y0 = max(0, Int((c.y - radius - h - 1).rounded(.down)))
        let y1 = min(height - 1, Int((c.y + radius + h + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let ex = Double(px) + 0.5 - c.x, ey = Double(py) + 0.5 - c.y
                let d = abs((ex * ex + ey * ey).squareRoot() - radius)
                let cov = min(max(h + 0.5 - d, 0), 1)
                if cov > 0 { blendPixel(x: px, y: py, color, alpha: Float(cov)) }
            }
        }
    }

    /// Fills a convex polygon (vertices in either winding order) with anti-aliased edges.
    public mutating func fillConvexPolygon(_ vertices: [(x: Double, y: Double)], _ color: RGBColor) {
        let n = vertices.count
        guard n >= 3, vertices.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { return }
        // Signed area decides which side of each edge is inside.
        var area = 0.0
        for i in 0..<n {
            let p = vertices[i], q = vertices[(i + 1) % n]
            area += p.x * q.y - q.x * p.y
        }
        guard abs(area) > 1e-12 else { return }
        let sign = area > 0 ? 1.0 : -1.0
        // Edge lines as (nx, ny, c): signed distance = nx*x + ny*y + c, negative inside.
        var edges: [(Double, Double, Double)] = []
        edges.reserveCapacity(n)
        for i in 0..<n {
            let p = vertices[i], q = vertices[(i + 1) % n]
            let ex = q.x - p.x, ey = q.y - p.y
            let l = (ex * ex + ey * ey).squareRoot()
            guard l > 0 else { continue }
            let nx = sign * ey / l, ny = -sign * ex / l
            edges.append((nx, ny, -(nx * p.x + ny * p.y)))
        }
        let xs = vertices.map(\.x), ys = vertices.map(\.y)
        let x0 = max(0, Int((xs.min()! - 1).rounded(.down)))
        let x1 = min(width - 1, Int((xs.max()! + 1).rounded(.up)))
        let y0 = max(0, Int((ys.min()! - 1).rounded(.down)))
        let y1 = min(height - 1, Int((ys.max()! + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let cx = Double(px) + 0.5, cy = Double(py) + 0.5
                var sd = -Double.infinity
                for e in edges { sd = max(sd, e.0 * cx + e.1 * cy + e.2) }
                let cov = min(max(0.5 - sd, 0), 1)
                if cov > 0 { blendPixel(x: px, y: py, color, alpha: Float(cov)) }
            }
        }
    }

    /// Draws a plot marker centred at `c`; `size` is its nominal diameter in pixels.
    public mutating func drawMarker(_ marker: Marker, at c: (x: Double, y: Double), size: Double,
                                    _ color: RGBColor) {
        let r = size / 2
        switch marker {
        case .none:
            return
        case .circle:
            fillCircle(center: c, radius: r, color)
        case .square:
            let h = r * 0.85
            fillConvexPolygon([(c.x - h, c.y - h), (c.x + h, c.y - h), (c.x + h, c.y + h), (c.x - h, c.y + h)], color)
        case .triangle:
            let h = r * 1.1
            fillConvexPolygon([(c.x, c.y - h), (c.x + h * 0.866, c.y + h * 0.5), (c.x - h * 0.866, c.y + h * 0.5)], color)
        case .diamond:
            let h = r * 1.1
            fillConvexPolygon([(c.x, c.y - h), (c.x + h * 0.8, c.y), (c.x, c.y + h), (c.x - h * 0.8, c.y)], color)
        case .cross:
            let h = r * 0.8, t = max(1.5, size / 4)
            drawLine(from: (c.x - h, c.y - h), to: (c.x + h, c.y + h), color, thickness: t)
            drawLine(from: (c.x - h, c.y + h), to: (c.x + h, c.y - h), color, thickness: t)
        case .plus:
            let t = max(1.5, size / 4)
            drawLine(from: (c.x - r, c.y), to: (c.x + r, c.y), color, thickness: t)
            drawLine(from: (c.x, c.y - r), to: (c.x, c.y + r), color, thickness: t)
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
