import Foundation
import WoofIO

/// High-norm patch tokens (Darcet et al., ICLR 2024, "Vision transformers need registers"):
/// patches whose token entering the last block has a norm far above the model's typical
/// patch, and how much of the class token's attention they take.
public struct ArtifactRow: Equatable {
    public var model: String
    public var images: Int
    /// Median and 99th percentile of the patch-token norms over all images and patches.
    public var normMedian, normP99: Double
    /// A patch is high-norm above this norm (`factor` × the median).
    public var threshold: Double
    public var patchesPerImage: Double
    /// Fraction of images with at least one high-norm patch.
    public var imagesWithArtifacts: Double
    /// Mean share of the last block's mean-head CLS attention on high-norm patches, and the
    /// share they would get from uniform attention (their share of the patches).
    public var clsShare, uniformShare: Double
    /// Fraction of the high-norm patches on the grid's outer ring (52 of 196 patches: 0.265
    /// if they fell anywhere), and in its four 3 × 3 corners (36 of 196: 0.184).
    public var borderShare, cornerShare: Double
}

/// The change metrics between two models with and without the high-norm patches.
public struct ArtifactChangeRow: Equatable {
    public var modelA, modelB: String
    public var images: Int
    public var js, jsExcluding, iou, iouExcluding: Double
}

public enum AttentionArtifacts {
    /// The default multiple of the median norm above which a patch is high-norm.
    public static let defaultFactor = 2.0

    /// The high-norm patches of one image.
    public static func mask(_ norms: [Float], threshold: Double) -> [Bool] { norms.map { Double($0) > threshold } }

    /// The `q` quantile (0…1) of `values` (nearest rank).
    static func quantile(_ sorted: [Float], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))])
    }

    /// `map` with the `excluded` patches set to 0, renormalised.
    public static func excluding(_ map: [Float], _ excluded: [Bool]) -> [Float] {
        AttentionAnalysis.normalizedDistribution(zip(map, excluded).map { $1 ? 0 : $0 })
    }

    /// Per model's threshold: `factor` × its median patch norm over `norms[image]`.
    public static func threshold(_ norms: [[Float]], factor: Double) -> (threshold: Double, median: Double, p99: Double) {
        let all = norms.flatMap { $0 }.sorted()
        let median = quantile(all, 0.5)
        return (factor * median, median, quantile(all, 0.99))
    }

    /// One row per model: where the high-norm patches are and how much CLS attention they take.
    /// `cls[image]` is the model's mean-head CLS map, `norms[image]` its patch norms.
    public static func row(model: String, cls: [[Float]], norms: [[Float]], grid: Int, factor: Double) -> ArtifactRow {
        let (thr, median, p99) = threshold(norms, factor: factor)
        var flagged = 0, withAny = 0, onBorder = 0, inCorner = 0
        var share = 0.0
        for (map, n) in zip(cls, norms) {
            let m = mask(n, threshold: thr)
            let k = m.filter { $0 }.count
            flagged += k
            if k > 0 { withAny += 1 }
            for (p, f) in m.enumerated() where f {
                share += Double(map[p])
                let r = p / grid, c = p % grid
                if r == 0 || c == 0 || r == grid - 1 || c == grid - 1 { onBorder += 1 }
                if (r < 3 || r >= grid - 3) && (c < 3 || c >= grid - 3) { inCorner += 1 }
            }
        }
        let n = Double(max(cls.count, 1)), patches = Double(grid * grid)
        return ArtifactRow(model: model, images: cls.count, normMedian: median, normP99: p99, threshold: thr,
                           patchesPerImage: Double(flagged) / n, imagesWithArtifacts: Double(withAny) / n,
                           clsShare: share / n, uniformShare: Double(flagged) / n / patches,
                           borderShare: flagged > 0 ? Double(onBorder) / Double(flagged) : 0,
                           cornerShare: flagged > 0 ? Double(inCorner) / Double(flagged) : 0)
    }

    /// JS divergence and IoU of the `threshold`-mass masks between two models' mean-head
    /// maps, as measured and with the patches high-norm in either model removed.
    public static func change(_ a: String, _ b: String, mapsA: [[Float]], mapsB: [[Float]],
                              excludedA: [[Bool]], excludedB: [[Bool]], threshold: Float) -> ArtifactChangeRow {
        var js = 0.0, jsx = 0.0, iou = 0.0, ioux = 0.0
        for i in mapsA.indices {
            let ex = zip(excludedA[i], excludedB[i]).map { $0 || $1 }
            let pa = excluding(mapsA[i], ex), pb = excluding(mapsB[i], ex)
            js += AttentionAnalysis.jensenShannon(mapsA[i], mapsB[i])
            jsx += AttentionAnalysis.jensenShannon(pa, pb)
            iou += AttentionAnalysis.iou(AttentionAnalysis.thresholdMask(mapsA[i], threshold: threshold).mask,
                                         AttentionAnalysis.thresholdMask(mapsB[i], threshold: threshold).mask)
            ioux += AttentionAnalysis.iou(AttentionAnalysis.thresholdMask(pa, threshold: threshold).mask,
                                          AttentionAnalysis.thresholdMask(pb, threshold: threshold).mask)
        }
        let n = Double(max(mapsA.count, 1))
        return ArtifactChangeRow(modelA: a, modelB: b, images: mapsA.count, js: js / n, jsExcluding: jsx / n,
                                 iou: iou / n, iouExcluding: ioux / n)
    }

    static func table(_ rows: [ArtifactRow]) -> CSVTable {
        var t = CSVTable(header: ["model", "images", "norm_median", "norm_p99", "threshold", "artifact_patches_per_image",
                                  "images_with_artifacts", "cls_share", "uniform_share", "border_share", "corner_share"])
        for r in rows {
            t.append([r.model, "\(r.images)"] + [r.normMedian, r.normP99, r.threshold].map { String(format: "%.3f", $0) }
                     + [r.patchesPerImage, r.imagesWithArtifacts, r.clsShare, r.uniformShare, r.borderShare, r.cornerShare]
                        .map { String(format: "%.6f", $0) })
        }
        return t
    }

    static func changeTable(_ rows: [ArtifactChangeRow]) -> CSVTable {
        var t = CSVTable(header: ["model_a", "model_b", "images", "js_mean", "js_mean_excluding", "iou_mean", "iou_mean_excluding"])
        for r in rows {
            t.append([r.modelA, r.modelB, "\(r.images)"] + [r.js, r.jsExcluding, r.iou, r.iouExcluding].map { String(format: "%.6f", $0) })
        }
        return t
    }

    /// The printed summary.
    static func text(_ rows: [ArtifactRow], _ change: [ArtifactChangeRow], factor: Double) -> String {
        var s = "High-norm patch tokens entering the last block (norm > \(String(format: "%.1f", factor)) x the model's median):\n"
        s += "model          median   p99      per image  imgs with  CLS share (uniform)  on border  in corners\n"
        for r in rows {
            s += r.model.padding(toLength: 15, withPad: " ", startingAt: 0)
                + String(format: "%-9.1f%-9.1f%-11.2f%-11.3f%.3f (%.3f)        %-11.3f%.3f\n", r.normMedian, r.normP99, r.patchesPerImage,
                         r.imagesWithArtifacts, r.clsShare, r.uniformShare, r.borderShare, r.cornerShare)
        }
        s += "Change metrics (mean of heads) with the high-norm patches of either model removed:\n"
        for c in change {
            s += String(format: "%@ -> %@: JS %.4f -> %.4f, IoU %.3f -> %.3f\n", c.modelA, c.modelB, c.js, c.jsExcluding, c.iou, c.iouExcluding)
        }
        return s
    }
}
