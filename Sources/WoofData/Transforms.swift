import Foundation
import WoofCore

/// Geometry and constants of the timm `vit_tiny_patch16_224` transforms.
public enum ImageTransform {
    /// Model input side.
    public static let cropSize = 224
    /// Eval resize of the shorter side (timm: floor(224 / crop_pct 0.9)).
    public static let resizeShorter = 248
    /// Floats per transformed image (3 × 224 × 224, CHW).
    public static let floatsPerImage = 3 * 224 * 224
    /// RandomResizedCrop area fraction and aspect-ratio ranges.
    public static let scaleRange = (0.35, 1.0)
    public static let ratioRange = (3.0 / 4.0, 4.0 / 3.0)

    /// torchvision `Resize(248)` output size: shorter side 248, longer `int(248 * long / short)`.
    public static func evalResizeSize(width: Int, height: Int, shorter: Int = resizeShorter) -> (width: Int, height: Int) {
        if width <= height {
            return (shorter, Int(Double(shorter * height) / Double(width)))
        } else {
            return (Int(Double(shorter * width) / Double(height)), shorter)
        }
    }

    /// torchvision `CenterCrop` offset: `int(round((size - crop) / 2.0))`, half to even.
    public static func centerCropOffset(size: Int, crop: Int) -> Int {
        Int((Double(size - crop) / 2.0).rounded(.toNearestOrEven))
    }

    /// ToTensor + Normalize(0.5, 0.5) for each byte value: (x / 255 − 0.5) / 0.5.
    static let normalizeTable: [Float] = (0..<256).map { Float((Double($0) / 255.0 - 0.5) / 0.5) }
}

/// An integer crop box (torchvision's i, j, h, w).
public struct CropBox: Equatable {
    public var top: Int
    public var left: Int
    public var height: Int
    public var width: Int
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top; self.left = left; self.height = height; self.width = width
    }
}

/// Train-time random choices of one sample.
public struct TrainAugmentation: Equatable {
    public var crop: CropBox
    public var flip: Bool
}

/// torchvision `RandomResizedCrop.get_params`: up to 10 tries of a random area fraction in
/// `scale` and log-uniform aspect ratio in `ratio`, then the centre-crop fallback.
public func randomResizedCropBox(width: Int, height: Int, scale: (Double, Double) = ImageTransform.scaleRange,
                                 ratio: (Double, Double) = ImageTransform.ratioRange,
                                 rng: inout SplitMix64) -> CropBox {
    let area = Double(height * width)
    let logRatio = (log(ratio.0), log(ratio.1))
    for _ in 0..<10 {
        let targetArea = area * rng.uniform(scale.0, scale.1)
        let aspect = exp(rng.uniform(logRatio.0, logRatio.1))
        let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
        let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
        if w > 0 && w <= width && h > 0 && h <= height {
            let i = rng.int(below: height - h + 1)
            let j = rng.int(below: width - w + 1)
            return CropBox(top: i, left: j, height: h, width: w)
        }
    }
    let inRatio = Double(width) / Double(height)
    var w = width, h = height
    if inRatio < min(ratio.0, ratio.1) {
        w = width
        h = Int((Double(w) / min(ratio.0, ratio.1)).rounded(.toNearestOrEven))
    } else if inRatio > max(ratio.0, ratio.1) {
        h = height
        w = Int((Double(h) * max(ratio.0, ratio.1)).rounded(.toNearestOrEven))
    }
    return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
}

/// The random crop and flip of sample `index` in `epoch` under `seed` (independent of
/// thread scheduling and of the other samples).
public func trainAugmentation(width: Int, height: Int, seed: UInt64, epoch: Int, index: Int) -> TrainAugmentation {
    var rng = SplitMix64(keys: RandomDomain.trainTransform.rawValue, seed,
                         UInt64(bitPattern: Int64(epoch)), UInt64(bitPattern: Int64(index)))
    let box = randomResizedCropBox(width: width, height: height, rng: &rng)
    let flip = rng.uniform() < 0.5
    return TrainAugmentation(crop: box, flip: flip)
}

/// Per-thread buffers for decoding and transforming; reuse one per worker thread so the
/// hot path does not allocate. Not thread-safe.
public final class TransformWorkspace {
    var decoded = PixelBuffer()
    var resized = PixelBuffer()
    let scratch = ResampleScratch()
    /// Pass order of the resampler (Pillow ≤ 12.3 by default; see `ResampleOrder`).
    public var resampleOrder: ResampleOrder = .default

    public init() {}
    deinit { decoded.free(); resized.free() }

    /// Decodes the JPEG at `path` and applies the eval transform into `out` (3·224·224 floats).
    public func loadEval(path: String, into out: UnsafeMutablePointer<Float>) throws {
        let data = try readFileBytes(path)
        let (w, h) = try decodeJPEG(data: data, name: path, into: &decoded)
        evalTransform(src: UnsafePointer(decoded.pointer!), width: w, height: h, into: out)
    }

    /// Decodes the JPEG at `path` and applies the train transform of (seed, epoch, index).
    @discardableResult
    public func loadTrain(path: String, seed: UInt64, epoch: Int, index: Int,
                          into out: UnsafeMutablePointer<Float>) throws -> TrainAugmentation {
        let data = try readFileBytes(path)
        let (w, h) = try decodeJPEG(data: data, name: path, into: &decoded)
        let aug = trainAugmentation(width: w, height: h, seed: seed, epoch: epoch, index: index)
        trainTransform(src: UnsafePointer(decoded.pointer!), width: w, height: h, augmentation: aug, into: out)
        return aug
    }

    /// timm eval transform of an RGB buffer: Resize(248) bicubic, CenterCrop(224), normalise.
    func evalTransform(src: UnsafePointer<UInt8>, width: Int, height: Int, into out: UnsafeMutablePointer<Float>) {
        let c = ImageTransform.cropSize
        let (rw, rh) = ImageTransform.evalResizeSize(width: width, height: height)
        precondition(rw >= c && rh >= c, "resized image \(rw)x\(rh) is smaller than the crop")
        let top = ImageTransform.centerCropOffset(size: rh, crop: c)
        let left = ImageTransform.centerCropOffset(size: rw, crop: c)
        let dst = resized.reserve(c * c * 3)
        resampleBicubicWindow(src: src, width: width, height: height, srcStride: width * 3,
                              outWidth: rw, outHeight: rh, winX: left, winY: top, winW: c, winH: c,
                              dst: dst, scratch: scratch, order: resampleOrder)
        writeNormalizedCHW(UnsafePointer(dst), side: c, flip: false, into: out)
    }

    /// Train transform: integer crop, bicubic resize to 224×224, optional flip, normalise.
    func trainTransform(src: UnsafePointer<UInt8>, width: Int, height: Int, augmentation aug: TrainAugmentation,
                        into out: UnsafeMutablePointer<Float>) {
        let c = ImageTransform.cropSize
        let box = aug.crop
        precondition(box.top >= 0 && box.left >= 0 && box.width > 0 && box.height > 0 &&
                     box.top + box.height <= height && box.left + box.width <= width)
        let dst = resized.reserve(c * c * 3)
        resampleBicubicWindow(src: src + (box.top * width + box.left) * 3, width: box.width, height: box.height,
                              srcStride: width * 3, outWidth: c, outHeight: c, winX: 0, winY: 0, winW: c, winH: c,
                              dst: dst, scratch: scratch, order: resampleOrder)
        writeNormalizedCHW(UnsafePointer(dst), side: c, flip: aug.flip, into: out)
    }
}

/// HWC bytes (side × side × 3) → CHW floats (x/255 − 0.5)/0.5, optionally mirrored.
func writeNormalizedCHW(_ src: UnsafePointer<UInt8>, side: Int, flip: Bool, into out: UnsafeMutablePointer<Float>) {
    ImageTransform.normalizeTable.withUnsafeBufferPointer { table in
        let plane = side * side
        for y in 0..<side {
            let row = src + y * side * 3
            let o0 = out + y * side, o1 = o0 + plane, o2 = o1 + plane
            for x in 0..<side {
                let sx = flip ? side - 1 - x : x
                let p = row + sx * 3
                o0[x] = table[Int(p[0])]
                o1[x] = table[Int(p[1])]
                o2[x] = table[Int(p[2])]
            }
        }
    }
}

/// Mirrors `count` CHW images (`channels` planes of side × side floats) left to right, in
/// place: the eval transform's centre crop is symmetric, so this is the transform of the
/// mirrored photo up to a pixel of centring (flip test-time augmentation).
public func mirrorHorizontally(_ images: UnsafeMutablePointer<Float>, count: Int, channels: Int, side: Int) {
    for row in 0..<(count * channels * side) {
        let r = images + row * side
        var (i, j) = (0, side - 1)
        while i < j { (r[i], r[j]) = (r[j], r[i]); i += 1; j -= 1 }
    }
}

/// timm's eval transform of a decoded image into `out` (3·224·224 floats, CHW).
public func evalTransform(_ image: RGBImage, into out: UnsafeMutablePointer<Float>) {
    let ws = TransformWorkspace()
    image.pixels.withUnsafeBufferPointer { p in
        ws.evalTransform(src: p.baseAddress!, width: image.width, height: image.height, into: out)
    }
}

/// The train transform (RandomResizedCrop 224 + flip of (seed, epoch, index)) into `out`.
@discardableResult
public func trainTransform(_ image: RGBImage, seed: UInt64, epoch: Int, index: Int,
                           into out: UnsafeMutablePointer<Float>) -> TrainAugmentation {
    let ws = TransformWorkspace()
    let aug = trainAugmentation(width: image.width, height: image.height, seed: seed, epoch: epoch, index: index)
    image.pixels.withUnsafeBufferPointer { p in
        ws.trainTransform(src: p.baseAddress!, width: image.width, height: image.height, augmentation: aug, into: out)
    }
    return aug
}

/// Applies an explicit augmentation (crop box + flip) into `out`; for tests and tools.
public func trainTransform(_ image: RGBImage, augmentation: TrainAugmentation, into out: UnsafeMutablePointer<Float>) {
    let ws = TransformWorkspace()
    image.pixels.withUnsafeBufferPointer { p in
        ws.trainTransform(src: p.baseAddress!, width: image.width, height: image.height, augmentation: augmentation, into: out)
    }
}
