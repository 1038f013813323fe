import Foundation

/// Viridis (matplotlib's default perceptual colormap) for `v` in 0…1; values outside are
/// clamped and NaN maps to 0. Evaluated from a degree-6 polynomial fit of the
/// matplotlib table (within 4/255 per channel of it); luminance increases monotonically.
@inline(__always)
public func colormap(_ v: Float) -> (UInt8, UInt8, UInt8) {
    let t = v.isNaN ? 0 : min(max(v, 0), 1)
    // Horner form of c0 + t*(c1 + t*(c2 + ... + t*c6)) per channel.
    @inline(__always) func poly(_ c: (Float, Float, Float, Float, Float, Float, Float)) -> UInt8 {
        let x = c.0 + t * (c.1 + t * (c.2 + t * (c.3 + t * (c.4 + t * (c.5 + t * c.6)))))
        return UInt8(min(max(x * 255 + 0.5, 0), 255))
    }
    return (
        poly((0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486,
              6.228269936347081, 4.776384997670288, -5.435455855934631)),
        poly((0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585,
              14.17993336680509, -13.74514537774601, 4.645852612178535)),
        poly((0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987,
              56.69055260068105, -65.35303263337234, 26.3124352495832))
    )
}

/// `colormap(v)` as an `RGBColor`.
public func colormapColor(_ v: Float) -> RGBColor {
    let c = colormap(v)
    return RGBColor(c.0, c.1, c.2)
}

/// Rescales `values` linearly to 0…1 (min → 0, max → 1, non-finite → 0). A constant
/// field maps to all zeros.
public func normalized(_ values: [Float]) -> [Float] {
    var lo = Float.infinity, hi = -Float.infinity
    for v in values where v.isFinite {
        lo = min(lo, v)
        hi = max(hi, v)
    }
    guard lo < hi else { return [Float](repeating: 0, count: values.count) }
    let inv = 1 / (hi - lo)
    return values.map { $0.isFinite ? ($0 - lo) * inv : 0 }
}

/// Bilinear resize of a row-major `gw`×`gh` grid to `w`×`h` with half-pixel centres and
/// edge clamping (PyTorch `align_corners=False`, the usual way to lay a ViT patch grid over
/// its image). Constant fields stay constant and each output corner equals the grid corner.
public func upsampleBilinear(_ grid: [Float], gw: Int, gh: Int, to w: Int, _ h: Int) -> [Float] {
    precondition(gw > 0 && gh > 0 && grid.count == gw * gh, "grid has \(grid.count) values, expected \(gw)x\(gh)")
    precondition(w >= 0 && h >= 0, "negative output size")
    var out = [Float](repeating: 0, count: w * h)
    guard w > 0, h > 0 else { return out }
    // Per-column source indices and weights, computed once.
    var x0 = [Int](repeating: 0, count: w), x1 = x0
    var fx = [Float](repeating: 0, count: w)
    let sx = Float(gw) / Float(w), sy = Float(gh) / Float(h)
    for x in 0..<w {
        let src = max(0, (Float(x) + 0.5) * sx - 0.5)
        let i = min(Int(src), gw - 1)
        x0[x] = i
        x1[x] = min(i + 1, gw - 1)
        fx[x] = i == gw - 1 ? 0 : src - Float(i)
    }
    grid.withUnsafeBufferPointer { g in
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<h {
                let src = max(0, (Float(y) + 0.5) * sy - 0.5)
                let j0 = min(Int(src), gh - 1)
                let j1 = min(j0 + 1, gh - 1)
                let fy = j0 == gh - 1 ? 0 : src - Float(j0)
                let r0 = j0 * gw, r1 = j1 * gw
                for x in 0..<w {
                    let a = g[r0 + x0[x]], b = g[r0 + x1[x]]
                    let c = g[r1 + x0[x]], d = g[r1 + x1[x]]
                    let top = a + (b - a) * fx[x]
                    let bottom = c + (d - c) * fx[x]
                    o[y * w + x] = top + (bottom - top) * fy
                }
            }
        }
    }
    return out
}

/// Renders a `w`×`h` field of values in 0…1 through `colormap` as an image.
public func heatmap(_ values: [Float], width w: Int, height h: Int) -> RGBCanvas {
    precondition(values.count == w * h, "heat map has \(values.count) values, expected \(w)x\(h)")
    var canvas = RGBCanvas(width: w, height: h)
    canvas.pixels.withUnsafeMutableBufferPointer { p in
        for i in 0..<(w * h) {
            let c = colormap(values[i])
            p[i * 3] = c.0
            p[i * 3 + 1] = c.1
            p[i * 3 + 2] = c.2
        }
    }
    return canvas
}

/// Blends a heat map (values in 0…1, one per pixel of `image`, row-major) coloured by
/// `colormap` over `image` with opacity `alpha` (0 = image only, 1 = heat map only).
/// Use `upsampleBilinear` first to bring a patch grid to image size.
public func overlay(image: RGBCanvas, heat: [Float], alpha: Float = 0.5) -> RGBCanvas {
    precondition(heat.count == image.width * image.height,
                 "heat has \(heat.count) values for a \(image.width)x\(image.height) image")
    let a = min(max(alpha, 0), 1), ia = 1 - a
    var out = image
    out.pixels.withUnsafeMutableBufferPointer { p in
        for i in 0..<heat.count {
            let c = colormap(heat[i])
            let o = i * 3
            p[o] = UInt8(Float(p[o]) * ia + Float(c.0) * a + 0.5)
            p[o + 1] = UInt8(Float(p[o + 1]) * ia + Float(c.1) * a + 0.5)
            p[o + 2] = UInt8(Float(p[o + 2]) * ia + Float(c.2) * a + 0.5)
        }
    }
    return out
}

/// Arranges `canvases` in a grid of `columns` columns, `padding` pixels around and between
/// tiles. Every cell is as large as the largest tile (smaller tiles are centred). No text:
/// captions belong to whatever shows the image (HTML, LaTeX).
public func tile(_ canvases: [RGBCanvas], columns: Int, padding: Int = 8,
                 background: RGBColor = .white) -> RGBCanvas {
    guard !canvases.isEmpty else { return RGBCanvas(width: 0, height: 0) }
    let cols = max(1, min(columns, canvases.count))
    let rows = (canvases.count + cols - 1) / cols
    let cellW = canvases.map(\.width).max()!, cellH = canvases.map(\.height).max()!
    let pad = max(0, padding)
    var out = RGBCanvas(width: cols * cellW + (cols + 1) * pad, height: rows * cellH + (rows + 1) * pad, background: background)
    for (i, c) in canvases.enumerated() {
        let cellX = pad + (i % cols) * (cellW + pad), cellY = pad + (i / cols) * (cellH + pad)
        out.draw(c, x: cellX + (cellW - c.width) / 2, y: cellY + (cellH - c.height) / 2)
    }
    return out
}
