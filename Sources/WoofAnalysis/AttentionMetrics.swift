import Foundation
import WoofTrain

/// Analysis of ViT attention probabilities: DINO-style CLS→patch maps, DINO's thresholded
/// mask, attention rollout (Abnar & Zuidema 2020) and two ways to compare maps
/// (Jensen–Shannon divergence, mask IoU). Pure functions over `[Float]`; no drawing.
///
/// Layout conventions: the attention of one image in one block is `heads × T × T` floats,
/// row-major (`[h][query][key]`), post-softmax, as `VisionTransformer.forward` captures it
/// (one image's slice of `[B, heads, T, T]`). Token 0 is the class token, tokens
/// `1..<T` are the patches in raster order (14 × 14 for ViT-Ti/16 at 224 px).
public enum AttentionAnalysis {

    /// The CLS→patch attention of every head: for head `h`, row 0 (the class token as query)
    /// without its first entry (attention to itself), renormalised to sum to 1 over the
    /// `T − 1` patches — DINO's `attn[0, :, 0, 1:]`, as a distribution.
    ///
    /// - Parameters:
    ///   - attention: one image's probabilities, `heads × tokens × tokens`.
    ///   - heads: number of heads.
    ///   - tokens: `T` (class token + patches).
    /// - Returns: `heads` arrays of `tokens − 1` non-negative values summing to 1.
    public static func clsToPatch(_ attention: [Float], heads: Int, tokens: Int) -> [[Float]] {
        precondition(heads > 0 && tokens > 1 && attention.count == heads * tokens * tokens,
                     "attention has \(attention.count) values, expected \(heads)×\(tokens)×\(tokens)")
        return (0..<heads).map { h in
            normalizedDistribution(Array(attention[(h * tokens * tokens + 1)..<(h * tokens * tokens + tokens)]))
        }
    }

    /// The head-averaged CLS→patch map: the heads' raw CLS rows (patch entries) averaged,
    /// then renormalised over the patches. Sums to 1.
    ///
    /// - Parameters: as `clsToPatch(_:heads:tokens:)`.
    public static func clsToPatchMean(_ attention: [Float], heads: Int, tokens: Int) -> [Float] {
        precondition(heads > 0 && tokens > 1 && attention.count == heads * tokens * tokens,
                     "attention has \(attention.count) values, expected \(heads)×\(tokens)×\(tokens)")
        var sum = [Float](repeating: 0, count: tokens - 1)
        for h in 0..<heads {
            let base = h * tokens * tokens
            for j in 1..<tokens { sum[j - 1] += attention[base + j] }
        }
        return normalizedDistribution(sum)
    }

    /// `values` divided by their sum (computed in `Double`); negative or non-finite entries
    /// count as 0. A zero or empty vector becomes the uniform distribution.
    public static func normalizedDistribution(_ values: [Float]) -> [Float] {
        guard !values.isEmpty else { return [] }
        let clean = values.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        let total = clean.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { return [Float](repeating: 1 / Float(values.count), count: values.count) }
        return clean.map { Float(Double($0) / total) }
    }

    /// DINO's thresholded attention mask: the smallest set of patches holding at least
    /// `threshold` of the map's mass.
    ///
    /// Sorts the values in descending order and keeps patches until the cumulative mass
    /// (as a fraction of the total, accumulated in `Double`) reaches `threshold` — the
    /// complement of DINO's `cumsum(sorted ascending) > 1 − threshold`. Among equal values
    /// the lower patch index is kept first. If rounding keeps the cumulative mass just
    /// below a `threshold` of 1, every patch is kept.
    ///
    /// - Parameters:
    ///   - map: non-negative weights (need not sum to 1; mass is relative to their sum).
    ///   - threshold: fraction of the mass to keep, in 0…1 (DINO's default 0.6).
    /// - Returns: `mask[i]` true for kept patches, and `mass`, the fraction of the total they
    ///   hold (≥ `threshold`; sums of Float values, so it may exceed 1 by rounding).
    public static func thresholdMask(_ map: [Float], threshold: Float = 0.6) -> (mask: [Bool], mass: Double) {
        precondition(threshold >= 0 && threshold <= 1, "threshold \(threshold) is outside 0…1")
        var mask = [Bool](repeating: false, count: map.count)
        let p = normalizedDistribution(map)
        guard !p.isEmpty, threshold > 0 else { return (mask, 0) }
        let order = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
        var kept = 0.0
        for i in order {
            mask[i] = true
            kept += Double(p[i])
            if kept >= Double(threshold) { break }
        }
        return (mask, kept)
    }

    /// Per-block head average with the residual added: `(mean_h A_h + I)` with each row
    /// renormalised to sum 1 (Abnar & Zuidema 2020, eq. "0.5·W_att + 0.5·I").
    ///
    /// - Parameters: `attention` is one block's `heads × tokens × tokens` probabilities.
    /// - Returns: `tokens × tokens`, row-stochastic.
    public static func residualAttention(_ attention: [Float], heads: Int, tokens: Int) -> [Float] {
        precondition(heads > 0 && attention.count == heads * tokens * tokens,
                     "attention has \(attention.count) values, expected \(heads)×\(tokens)×\(tokens)")
        let tt = tokens * tokens
        var a = [Double](repeating: 0, count: tt)
        for h in 0..<heads { for k in 0..<tt { a[k] += Double(attention[h * tt + k]) } }
        var out = [Float](repeating: 0, count: tt)
        for i in 0..<tokens {
            var rowSum = 0.0
            for j in 0..<tokens {
                a[i * tokens + j] /= Double(heads)
                if i == j { a[i * tokens + j] += 1 }
                rowSum += a[i * tokens + j]
            }
            for j in 0..<tokens { out[i * tokens + j] = Float(a[i * tokens + j] / rowSum) }
        }
        return out
    }

    /// Attention rollout (Abnar & Zuidema 2020): `R = Â_L · … · Â_2 · Â_1` with
    /// `Â_l = residualAttention(block l)`, the first block first in `blocks`. Every row of
    /// `R` sums to 1 (a product of row-stochastic matrices); row 0 is how the class token's
    /// output mixes the input tokens.
    ///
    /// - Parameters:
    ///   - blocks: each block's `heads × tokens × tokens` probabilities of one image, in
    ///     depth order.
    /// - Returns: `R`, `tokens × tokens`, row-major (accumulated in `Double`).
    public static func rollout(_ blocks: [[Float]], heads: Int, tokens: Int) -> [Float] {
        precondition(!blocks.isEmpty, "rollout needs at least one block")
        let n = tokens
        // R_1 = Â_1; R_l = Â_l · R_{l−1}.
        var r = residualAttention(blocks[0], heads: heads, tokens: tokens).map(Double.init)
        var next = [Double](repeating: 0, count: n * n)
        for b in blocks.dropFirst() {
            let a = residualAttention(b, heads: heads, tokens: tokens)
            r.withUnsafeBufferPointer { rp in
                next.withUnsafeMutableBufferPointer { np in
                    for i in 0..<n {
                        for j in 0..<n { np[i * n + j] = 0 }
                        for k in 0..<n {
                            let aik = Double(a[i * n + k])
                            if aik == 0 { continue }
                            for j in 0..<n { np[i * n + j] += aik * rp[k * n + j] }
                        }
                    }
                }
            }
            swap(&r, &next)
        }
        return r.map { Float($0) }
    }

    /// The class token's row of the rollout restricted to the patches and renormalised:
    /// `R[0, 1:] / sum` — the rollout map shown next to the last block's CLS attention.
    /// Computed as a row vector times each `Â_l` (from the last block down to the first),
    /// which equals row 0 of `rollout(_:heads:tokens:)` at a fraction of the cost.
    public static func rolloutCLSMap(_ blocks: [[Float]], heads: Int, tokens: Int) -> [Float] {
        precondition(!blocks.isEmpty, "rollout needs at least one block")
        let n = tokens
        var v = [Double](repeating: 0, count: n)
        v[0] = 1
        for b in blocks.reversed() {
            let a = residualAttention(b, heads: heads, tokens: tokens)
            var w = [Double](repeating: 0, count: n)
            for k in 0..<n where v[k] != 0 {
                let vk = v[k]
                for j in 0..<n { w[j] += vk * Double(a[k * n + j]) }
            }
            v = w
        }
        return normalizedDistribution(v.dropFirst().map { Float($0) })
    }

    /// Jensen–Shannon divergence between two distributions, in **nats** (natural log):
    /// `JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m)`, `m = (p + q) / 2`, with 0·log 0 = 0.
    /// Symmetric, 0 iff p = q, at most ln 2 ≈ 0.693 (disjoint supports). Inputs are
    /// renormalised first (`normalizedDistribution`); they must have the same length.
    public static func jensenShannon(_ p: [Float], _ q: [Float]) -> Double {
        precondition(p.count == q.count, "distributions of different lengths: \(p.count) vs \(q.count)")
        let a = normalizedDistribution(p), b = normalizedDistribution(q)
        var js = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            let m = 0.5 * (x + y)
            if x > 0 { js += 0.5 * x * log(x / m) }
            if y > 0 { js += 0.5 * y * log(y / m) }
        }
        return min(max(js, 0), log(2.0))
    }

    /// Shannon entropy in nats of a distribution (renormalised first; 0·log 0 = 0).
    /// ln(196) ≈ 5.28 for the uniform map over ViT-Ti's 196 patches.
    public static func entropy(_ p: [Float]) -> Double {
        var h = 0.0
        for x in normalizedDistribution(p) where x > 0 { h -= Double(x) * log(Double(x)) }
        return h
    }

    /// Intersection over union of two masks of equal length; 1 when both are empty.
    public static func iou(_ a: [Bool], _ b: [Bool]) -> Double {
        precondition(a.count == b.count, "masks of different lengths: \(a.count) vs \(b.count)")
        var inter = 0, union = 0
        for i in a.indices {
            if a[i] && b[i] { inter += 1 }
            if a[i] || b[i] { union += 1 }
        }
        return union == 0 ? 1 : Double(inter) / Double(union)
    }
}
