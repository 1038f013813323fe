import Foundation

// Pillow's antialiased resampling (src/libImaging/Resample.c, ImagingResample with the
// BICUBIC filter) for 8-bit RGB, reproduced operation for operation so results are
// bit-identical: double-precision filter weights normalised to sum 1, converted to
// fixed point with PRECISION_BITS = 22 (rounded away from zero), integer accumulation
// starting at 1 << 21, arithmetic shift and clip to 0...255 after each pass; by default
// the horizontal pass first over only the input rows the vertical pass needs, then the
// vertical pass (Pillow ≤ 12.3; Pillow 13's adaptive order is available, see ResampleOrder).

private let precisionBits: Int32 = 32 - 8 - 2

/// Pillow's bicubic kernel with a = -0.5.
@inline(__always)
private func bicubicFilter(_ xIn: Double) -> Double {
    let a = -0.5
    var x = xIn
    if x < 0.0 { x = -x }
    if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
    if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0.0
}

/// Fixed-point coefficients of output indices `first ..< first + count` along one axis.
struct ResampleCoefficients {
    var ksize: Int
    /// Per output index: first input index and number of taps.
    var starts: [Int]
    var taps: [Int]
    /// `count * ksize` fixed-point weights.
    var weights: [Int32]

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for box (0, inSize).
    init(inSize: Int, outSize: Int, first: Int, count: Int) {
        let in0: Float = 0, in1 = Float(inSize)
        let scale = Double(in1 - in0) / Double(outSize)
        var filterscale = scale
        if filterscale < 1.0 { filterscale = 1.0 }
        let support = 2.0 * filterscale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        let invFilterscale = 1.0 / filterscale
        self.ksize = ksize
        starts = [Int](repeating: 0, count: count)
        taps = [Int](repeating: 0, count: count)
        weights = [Int32](repeating: 0, count: count * ksize)
        var k = [Double](repeating: 0, count: ksize)
        for i in 0..<count {
            let xx = first + i
            let center = Double(in0) + (Double(xx) + 0.5) * scale
            var ww = 0.0
            var xmin = Int(center - support + 0.5)  // C (int) cast: truncation
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            for x in 0..<max(xmax, 0) {
                let w = bicubicFilter((Double(x + xmin) - center + 0.5) * invFilterscale)
                k[x] = w
                ww += w
            }
            if ww != 0.0 {
                for x in 0..<max(xmax, 0) { k[x] /= ww }
            }
            starts[i] = xmin
            taps[i] = max(xmax, 0)
            for x in 0..<max(xmax, 0) {
                let v = k[x]
                weights[i * ksize + x] = v < 0 ? Int32(-0.5 + v * Double(1 << precisionBits))
                                               : Int32(0.5 + v * Double(1 << precisionBits))
            }
        }
    }
}

@inline(__always)
private func clip8(_ ss: Int32) -> UInt8 {
    let v = ss >> precisionBits
    return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
}

/// Reusable scratch memory for resampling (one per thread).
final class ResampleScratch {
    var temp = PixelBuffer()
    var acc: UnsafeMutablePointer<Int32>? = nil
    var accCapacity = 0

    func accumulator(_ n: Int) -> UnsafeMutablePointer<Int32> {
        if n > accCapacity || acc == nil {
            acc?.deallocate()
            acc = .allocate(capacity: max(n, 1))
            accCapacity = max(n, 1)
        }
        return acc!
    }

    deinit { temp.free(); acc?.deallocate() }
}

/// Which pass Pillow runs first. Pillow ≤ 12.3 always resamples horizontally first (the
/// order documented for timm's pipeline in shared/README.md); Pillow 13.0 runs the vertical
/// pass first when the height shrinks by more than twice as many pixels as the width
/// (`inH - outH > 0 && inH - outH > 2 * (inW - outW)`). The two orders round differently in
/// the intermediate 8-bit image, so results differ by ±1 in places.
public enum ResampleOrder: Equatable {
    /// Pillow ≤ 12.3: horizontal pass, then vertical.
    case horizontalFirst
    /// Pillow ≥ 13.0: adaptive order.
    case pillow13

    /// The order used by this package's transforms (matches the timm golden tensors).
    public static var `default`: ResampleOrder { .horizontalFirst }

    func verticalFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
        switch self {
        case .horizontalFirst: return false
        case .pillow13:
            let dy = inHeight - outHeight, dx = inWidth - outWidth
            return dy > 0 && dy > dx * 2
        }
    }
}

/// Horizontal pass: `rows` rows of `src` (stride `srcStride`), output columns given by `c`
/// with input column indices shifted by `-shift`, into `dst` (stride `dstStride`).
private func horizontalPass(src: UnsafePointer<UInt8>, srcStride: Int, rows: Int,
                            coeffs c: ResampleCoefficients, shift: Int,
                            dst: UnsafeMutablePointer<UInt8>, dstStride: Int) {
    let ksize = c.ksize
    let outCols = c.starts.count
    c.weights.withUnsafeBufferPointer { kk in
    c.starts.withUnsafeBufferPointer { starts in
    c.taps.withUnsafeBufferPointer { taps in
        let half: Int32 = 1 << (precisionBits - 1)
        for r in 0..<rows {
            let lineIn = src + r * srcStride
            let lineOut = dst + r * dstStride
            for xx in 0..<outCols {
                let n = taps[xx]
                let k = kk.baseAddress! + xx * ksize
                var s0 = half, s1 = half, s2 = half
                var p = lineIn + (starts[xx] - shift) * 3
                for x in 0..<n {
                    let w = k[x]
                    s0 &+= Int32(p[0]) &* w
                    s1 &+= Int32(p[1]) &* w
                    s2 &+= Int32(p[2]) &* w
                    p += 3
                }
                lineOut[xx * 3] = clip8(s0)
                lineOut[xx * 3 + 1] = clip8(s1)
                lineOut[xx * 3 + 2] = clip8(s2)
            }
        }
    }}}
}

/// Vertical pass: output rows given by `c` (input row indices shifted by `-shift`), each
/// `rowBytes` wide, from `src` (stride `srcStride`) into `dst` (stride `dstStride`).
/// Whole rows are accumulated at once (integer sums are exact, so the order is free).
private func verticalPass(src: UnsafePointer<UInt8>, srcStride: Int, rowBytes: Int,
                          coeffs c: ResampleCoefficients, shift: Int,
                          dst: UnsafeMutablePointer<UInt8>, dstStride: Int, scratch: ResampleScratch) {
    let acc = scratch.accumulator(rowBytes)
    let ksize = c.ksize
    c.weights.withUnsafeBufferPointer { kk in
        let half: Int32 = 1 << (precisionBits - 1)
        for yy in 0..<c.starts.count {
            let ymin = c.starts[yy] - shift, n = c.taps[yy]
            let k = kk.baseAddress! + yy * ksize
            for j in 0..<rowBytes { acc[j] = half }
            for y in 0..<n {
                let w = k[y]
                let line = src + (ymin + y) * srcStride
                for j in 0..<rowBytes { acc[j] &+= Int32(line[j]) &* w }
            }
            let o = dst + yy * dstStride
            for j in 0..<rowBytes { o[j] = clip8(acc[j]) }
        }
    }
}

/// Resamples the RGB view `src` (width × height, `srcStride` bytes per row) to
/// outWidth × outHeight with Pillow's bicubic filter, producing only the output window
/// starting at (winX, winY) of size winW × winH into `dst` (winW * winH * 3 bytes,
/// contiguous). Each output pixel depends only on its own coefficients and on the
/// intermediate pixels Pillow computes identically, so a window is bit-identical to
/// cropping the full Pillow result.
func resampleBicubicWindow(src: UnsafePointer<UInt8>, width: Int, height: Int, srcStride: Int,
                           outWidth: Int, outHeight: Int,
                           winX: Int, winY: Int, winW: Int, winH: Int,
                           dst: UnsafeMutablePointer<UInt8>, scratch: ResampleScratch,
                           order: ResampleOrder = .default) {
    precondition(width > 0 && height > 0 && outWidth > 0 && outHeight > 0)
    precondition(winX >= 0 && winY >= 0 && winW > 0 && winH > 0 && winX + winW <= outWidth && winY + winH <= outHeight)
    let needHorizontal = outWidth != width
    let needVertical = outHeight != height
    let rowBytes = winW * 3

    if !needHorizontal && !needVertical {
        for r in 0..<winH {
            (dst + r * rowBytes).update(from: src + (winY + r) * srcStride + winX * 3, count: rowBytes)
        }
        return
    }
    let horiz = needHorizontal ? ResampleCoefficients(inSize: width, outSize: outWidth, first: winX, count: winW) : nil
    let vert = needVertical ? ResampleCoefficients(inSize: height, outSize: outHeight, first: winY, count: winH) : nil

    if let h = horiz, let v = vert {
        if order.verticalFirst(inWidth: width, inHeight: height, outWidth: outWidth, outHeight: outHeight) {
            // Vertical pass over the input columns the horizontal pass reads.
            let colFirst = h.starts[0], colLast = h.starts[winW - 1] + h.taps[winW - 1]
            let tempBytes = (colLast - colFirst) * 3
            let temp = scratch.temp.reserve(winH * tempBytes)
            verticalPass(src: src + colFirst * 3, srcStride: srcStride, rowBytes: tempBytes, coeffs: v, shift: 0,
                         dst: temp, dstStride: tempBytes, scratch: scratch)
            horizontalPass(src: temp, srcStride: tempBytes, rows: winH, coeffs: h, shift: colFirst,
                           dst: dst, dstStride: rowBytes)
        } else {
            // Horizontal pass over the input rows the vertical pass reads (Pillow's ybox).
            let rowFirst = v.starts[0], rowLast = v.starts[winH - 1] + v.taps[winH - 1]
            let temp = scratch.temp.reserve((rowLast - rowFirst) * rowBytes)
            horizontalPass(src: src + rowFirst * srcStride, srcStride: srcStride, rows: rowLast - rowFirst,
                           coeffs: h, shift: 0, dst: temp, dstStride: rowBytes)
            verticalPass(src: temp, srcStride: rowBytes, rowBytes: rowBytes, coeffs: v, shift: rowFirst,
                         dst: dst, dstStride: rowBytes, scratch: scratch)
        }
    } else if let h = horiz {
        horizontalPass(src: src + winY * srcStride, srcStride: srcStride, rows: winH, coeffs: h, shift: 0,
                       dst: dst, dstStride: rowBytes)
    } else if let v = vert {
        verticalPass(src: src + winX * 3, srcStride: srcStride, rowBytes: rowBytes, coeffs: v, shift: 0,
                     dst: dst, dstStride: rowBytes, scratch: scratch)
    }
}

/// Resizes with Pillow's `Image.resize((width, height), Image.BICUBIC)` (antialiased,
/// no `reducing_gap`); bit-identical to Pillow ≤ 12.3 (`.horizontalFirst`, the default) or
/// to Pillow 13 (`.pillow13`).
public func resizeBicubic(_ image: RGBImage, width: Int, height: Int, order: ResampleOrder = .default) -> RGBImage {
    precondition(width > 0 && height > 0, "resize target must be positive")
    if width == image.width && height == image.height { return image }
    let scratch = ResampleScratch()
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    image.pixels.withUnsafeBufferPointer { src in
        pixels.withUnsafeMutableBufferPointer { dst in
            resampleBicubicWindow(src: src.baseAddress!, width: image.width, height: image.height,
                                  srcStride: image.width * 3, outWidth: width, outHeight: height,
                                  winX: 0, winY: 0, winW: width, winH: height,
                                  dst: dst.baseAddress!, scratch: scratch, order: order)
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Crops the integer box (left, top, width, height), like `PIL.Image.crop` within bounds.
public func crop(_ image: RGBImage, left: Int, top: Int, width: Int, height: Int) -> RGBImage {
    precondition(left >= 0 && top >= 0 && width > 0 && height > 0 &&
                 left + width <= image.width && top + height <= image.height, "crop box outside the image")
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for r in 0..<height {
        let s = ((top + r) * image.width + left) * 3
        pixels[(r * width * 3)..<((r + 1) * width * 3)] = image.pixels[s..<(s + width * 3)]
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}
