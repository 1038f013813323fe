import Foundation
import CBLAS

// Forward passes of the engine's ops. Each computes into arena memory and records a
// `TapeOp` when a gradient will be needed; the matching gradient rule is in Gradients.swift.
// Tensors are row-major with the feature dimension last; "rows" means all leading dims.

public extension Tape {
    /// `y = x Wᵀ + b` with `W` of shape [out, in] (torch.nn.Linear layout).
    func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
        let scope = ProfileScope(self, "linear"); defer { scope.end() }
        let m = x.rows, k = x.lastDim, n = w.shape[0]
        precondition(w.shape == [n, k], "linear: weight \(w.shape) does not take inputs of width \(k)")
        let y = tensor(Array(x.shape.dropLast()) + [n], requiresGrad: x.requiresGrad || w.requiresGrad || (b?.requiresGrad ?? false))
        fillRows(y.data, rows: m, bias: b?.data, width: n)
        pgemm(false, true, m, n, k, 1, x.data, k, w.data, k, b == nil ? 0 : 1, y.data, n)
        if y.requiresGrad { record(.linear(x: x, w: w, b: b, y: y)) }
        return y
    }

    /// LoRA linear: `y = x W0ᵀ + b + scale · (x Aᵀ) Bᵀ`, A [r, in], B [out, r].
    /// BA is never formed; `u = x Aᵀ` [rows, r] is kept for the backward.
    func loraLinear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, a: Tensor, bUp: Tensor, scale: Float) -> Tensor {
        let scope = ProfileScope(self, "loraLinear"); defer { scope.end() }
        let m = x.rows, k = x.lastDim, n = w.shape[0], r = a.shape[0]
        precondition(w.shape == [n, k] && a.shape == [r, k] && bUp.shape == [n, r], "loraLinear: shapes W\(w.shape) A\(a.shape) B\(bUp.shape) x\(x.shape)")
        let needs = x.requiresGrad || w.requiresGrad || a.requiresGrad || bUp.requiresGrad || (b?.requiresGrad ?? false)
        let y = tensor(Array(x.shape.dropLast()) + [n], requiresGrad: needs)
        // W0 + s·BA, one n×k×r product per call: the big products are then plain linears, and
        // the rank-r gemms that run slowly (K = r) are gone; only u = x·Aᵀ, which the backward
        // needs for dB, stays thin. (Rounding differs from x·W0ᵀ + s·(x·Aᵀ)·Bᵀ by ~1e-7.)
        let wEff = arena.floats(n * k)
        wEff.update(from: w.data, count: n * k)
        sgemm(false, false, n, k, r, scale, bUp.data, r, a.data, k, 1, wEff, k)
        let u = needs ? arena.floats(m * r) : nil
        // Row blocks, each worker running both gemms on its block while the block of x is in cache.
        let xp = x.data, yp = y.data, ap = a.data, bias = b?.data
        forRowBlocks(m) { lo, rows in
            let xb = xp + lo * k, yb = yp + lo * n
            if let bias { for i in 0..<rows { (yb + i * n).update(from: bias, count: n) } }
            sgemm(false, true, rows, n, k, 1, xb, k, wEff, k, bias == nil ? 0 : 1, yb, n)
            if let u { sgemm(false, true, rows, r, k, 1, xb, k, ap, k, 0, u + lo * r, r) }
        }
        if y.requiresGrad, let u { record(.loraLinear(x: x, w: w, b: b, a: a, bUp: bUp, scale: scale, u: u, wEff: wEff, y: y)) }
        return y
    }

    /// LayerNorm over the last dimension with affine `g`, `b`.
    func layerNorm(_ x: Tensor, _ g: Tensor, _ b: Tensor, eps: Float = 1e-6) -> Tensor {
        let scope = ProfileScope(self, "layerNorm"); defer { scope.end() }
        let m = x.rows, d = x.lastDim
        precondition(g.count == d && b.count == d, "layerNorm: affine size \(g.count) for width \(d)")
        let y = tensor(x.shape, requiresGrad: x.requiresGrad || g.requiresGrad || b.requiresGrad)
        let mean = arena.floats(m), rstd = arena.floats(m)
        let xp = x.data, yp = y.data, gp = g.data, bp = b.data
        Parallel.forRanges(m, grain: 64) { rows in
            for r in rows {
                let xr = xp + r * d, yr = yp + r * d
                let mu = rowSum(xr, d) / Float(d)
                for i in 0..<d { yr[i] = xr[i] - mu }          // centred, reused below
                let rs = 1 / (rowDot(yr, yr, d) / Float(d) + eps).squareRoot()
                mean[r] = mu; rstd[r] = rs
                for i in 0..<d { yr[i] = yr[i] * rs * gp[i] + bp[i] }
            }
        }
        if y.requiresGrad { record(.layerNorm(x: x, g: g, b: b, mean: mean, rstd: rstd, y: y)) }
        return y
    }

    /// GELU, exact form `x · Φ(x) = 0.5 x (1 + erf(x/√2))` (torch's default).
    func gelu(_ x: Tensor) -> Tensor {
        let scope = ProfileScope(self, "gelu"); defer { scope.end() }
        let y = tensor(x.shape, requiresGrad: x.requiresGrad)
        let xp = x.data, yp = y.data
        Parallel.forRanges(x.count, grain: 16384) { range in
            for i in range { let v = xp[i]; yp[i] = 0.5 * v * (1 + fastErf(v * 0.70710678118654752)) }
        }
        if y.requiresGrad { record(.gelu(x: x, y: y)) }
        return y
    }

    /// Elementwise `a + b` of equal shapes (residual connections).
    func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        let scope = ProfileScope(self, "add"); defer { scope.end() }
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        let y = tensor(a.shape, requiresGrad: a.requiresGrad || b.requiresGrad)
        let ap = a.data, bp = b.data, yp = y.data
        Parallel.forRanges(a.count, grain: 32768) { range in
            for i in range { yp[i] = ap[i] + bp[i] }
        }
        if y.requiresGrad { record(.add(a: a, b: b, y: y)) }
        return y
    }

    /// Softmax over the last dimension.
    func softmax(_ x: Tensor) -> Tensor {
        let scope = ProfileScope(self, "softmax"); defer { scope.end() }
        let y = tensor(x.shape, requiresGrad: x.requiresGrad)
        let n = x.lastDim, xp = x.data, yp = y.data
        Parallel.forRanges(x.rows, grain: 64) { rows in
            for r in rows { softmaxRow(xp + r * n, yp + r * n, n, scale: 1) }
        }
        if y.requiresGrad { record(.softmax(x: x, y: y)) }
        return y
    }

    /// Multi-head self-attention over timm's fused qkv layout.
    ///
    /// `qkv` is [B, T, 3·D] with q, k, v in consecutive thirds and heads of D/heads
    /// consecutive columns each; returns [B, T, D] (heads concatenated, ready for `proj`).
    /// The post-softmax probabilities [B, heads, T, T] are returned too (attention maps).
    func attention(_ qkv: Tensor, heads: Int) -> (out: Tensor, probs: Tensor) {
        let scope = ProfileScope(self, "attention"); defer { scope.end() }
        precondition(qkv.shape.count == 3 && qkv.shape[2] % (3 * heads) == 0, "attention: qkv shape \(qkv.shape) for \(heads) heads")
        let bsz = qkv.shape[0], t = qkv.shape[1], d = qkv.shape[2] / 3, hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        let y = tensor([bsz, t, d], requiresGrad: qkv.requiresGrad)
        let probs = tensor([bsz, heads, t, t], requiresGrad: false)
        // One (batch, head) pair per task: its gemms are small, so each runs single-threaded
        // and the pairs spread over the workers. Heads write disjoint columns of y.
        let qp = qkv.data, pp = probs.data, yp = y.data
        func pass(probabilities: Bool, output: Bool) {
            Parallel.forRanges(bsz * heads, grain: 1) { pairs in
                for bh in pairs {
                    let b = bh / heads, h = bh % heads
                    let q = qp + b * t * 3 * d + h * hd, k = q + d, v = q + 2 * d
                    let p = pp + bh * t * t
                    if probabilities {
                        sgemm(false, true, t, t, hd, scale, q, 3 * d, k, 3 * d, 0, p, t)
                        for r in 0..<t { softmaxRow(p + r * t, p + r * t, t, scale: 1) }
                    }
                    if output { sgemm(false, false, t, hd, t, 1, p, t, v, 3 * d, 0, yp + b * t * d + h * hd, d) }
                }
            }
        }
        // With a probe the probabilities are all made first, shown to it, then used.
        if let probe = attentionProbe {
            pass(probabilities: true, output: false)
            probe(probs)
            pass(probabilities: false, output: true)
        } else {
            pass(probabilities: true, output: true)
        }
        if y.requiresGrad { record(.attention(qkv: qkv, heads: heads, probs: probs, y: y)) }
        return (y, probs)
    }

    /// Patch embedding: a stride-`patch` convolution as im2col + one sgemm.
    /// `images` [B, C, H, W], `w` [D, C, P, P] → [B, (H/P)·(W/P), D].
    func patchEmbed(_ images: Tensor, _ w: Tensor, _ b: Tensor, patch: Int) -> Tensor {
        let scope = ProfileScope(self, "patchEmbed"); defer { scope.end() }
        let bsz = images.shape[0], c = images.shape[1], hgt = images.shape[2], wid = images.shape[3]
        let d = w.shape[0], gh = hgt / patch, gw = wid / patch, n = gh * gw, kk = c * patch * patch
        precondition(w.shape == [d, c, patch, patch] && hgt % patch == 0 && wid % patch == 0,
                     "patchEmbed: images \(images.shape), weight \(w.shape), patch \(patch)")
        let cols = arena.floats(bsz * n * kk)
        let ip = images.data
        Parallel.forRanges(bsz * n, grain: 64) { rows in
            for row in rows {
                let bi = row / n, pi = row % n, py = pi / gw, px = pi % gw
                var dst = cols + row * kk
                for ch in 0..<c {
                    for ky in 0..<patch {
                        let src = ip + ((bi * c + ch) * hgt + py * patch + ky) * wid + px * patch
                        dst.update(from: src, count: patch)
                        dst += patch
                    }
                }
            }
        }
        let y = tensor([bsz, n, d], requiresGrad: images.requiresGrad || w.requiresGrad || b.requiresGrad)
        fillRows(y.data, rows: bsz * n, bias: b.data, width: d)
        pgemm(false, true, bsz * n, d, kk, 1, cols, kk, w.data, kk, 1, y.data, d)
        if y.requiresGrad { record(.patchEmbed(images: images, w: w, b: b, cols: cols, patch: patch, y: y)) }
        return y
    }

    /// Prepends the class token to each sequence and adds the position embedding:
    /// `patches` [B, N, D], `cls` [1, 1, D], `pos` [1, N+1, D] → [B, N+1, D].
    func embedTokens(_ patches: Tensor, cls: Tensor, pos: Tensor) -> Tensor {
        let scope = ProfileScope(self, "embedTokens"); defer { scope.end() }
        let bsz = patches.shape[0], n = patches.shape[1], d = patches.shape[2], t = n + 1
        precondition(cls.count == d && pos.count == t * d, "embedTokens: cls \(cls.shape), pos \(pos.shape) for \(patches.shape)")
        let y = tensor([bsz, t, d], requiresGrad: patches.requiresGrad || cls.requiresGrad || pos.requiresGrad)
        let pp = patches.data, cp = cls.data, ep = pos.data, yp = y.data
        Parallel.forRanges(bsz * t, grain: 256) { rows in
            for row in rows {
                let bi = row / t, ti = row % t
                let dst = yp + row * d, pe = ep + ti * d
                let src = ti == 0 ? cp : pp + (bi * n + ti - 1) * d
                for i in 0..<d { dst[i] = src[i] + pe[i] }
            }
        }
        if y.requiresGrad { record(.embedTokens(patches: patches, cls: cls, pos: pos, y: y)) }
        return y
    }

    /// Token `index` of each sequence: [B, T, D] → [B, D] (class-token pooling).
    func selectToken(_ x: Tensor, index: Int) -> Tensor {
        let scope = ProfileScope(self, "selectToken"); defer { scope.end() }
        let bsz = x.shape[0], t = x.shape[1], d = x.shape[2]
        precondition(index >= 0 && index < t)
        let y = tensor([bsz, d], requiresGrad: x.requiresGrad)
        for b in 0..<bsz { (y.data + b * d).update(from: x.data + (b * t + index) * d, count: d) }
        if y.requiresGrad { record(.selectToken(x: x, index: index, y: y)) }
        return y
    }

    /// Mean cross-entropy of `logits` [B, C] against integer `labels`, optionally with label
    /// smoothing ε (target = (1-ε)·onehot + ε/C, as torch). Returns a scalar tensor.
    func crossEntropy(_ logits: Tensor, labels: [Int32], smoothing: Float = 0) -> Tensor {
        let scope = ProfileScope(self, "crossEntropy"); defer { scope.end() }
        let bsz = logits.rows, c = logits.lastDim
        precondition(labels.count == bsz, "crossEntropy: \(labels.count) labels for \(bsz) rows")
        let probs = arena.floats(bsz * c)
        let loss = tensor([1], requiresGrad: logits.requiresGrad)
        var total: Double = 0
        for r in 0..<bsz {
            let lr = logits.data + r * c, pr = probs + r * c
            var mx = -Float.infinity
            for i in 0..<c { mx = max(mx, lr[i]) }
            var s: Double = 0
            for i in 0..<c { s += exp(Double(lr[i] - mx)) }
            let lse = Double(mx) + log(s)
            for i in 0..<c { pr[i] = Float(exp(Double(lr[i]) - lse)) }
            let label = Int(labels[r])
            precondition(label >= 0 && label < c, "crossEntropy: label \(label) outside 0..<\(c)")
            var rowLoss = (lse - Double(lr[label])) * Double(1 - smoothing)
            if smoothing > 0 {
                var mean: Double = 0
                for i in 0..<c { mean += lse - Double(lr[i]) }
                rowLoss += Double(smoothing) * mean / Double(c)
            }
            total += rowLoss
        }
        loss.data[0] = Float(total / Double(bsz))
        if loss.requiresGrad { record(.crossEntropy(logits: logits, labels: labels, probs: probs, smoothing: smoothing, y: loss)) }
        return loss
    }
}

/// Runs `body(firstRow, rowCount)` over `0..<rows` in blocks of about `loraBlockRows` rows,
/// the blocks split evenly over the workers.
@inline(__always)
func forRowBlocks(_ rows: Int, _ body: (Int, Int) -> Void) {
    let blocks = max(1, (rows + loraBlockRows - 1) / loraBlockRows)
    Parallel.forRanges(blocks, grain: 1) { range in
        for blk in range {
            let lo = rows * blk / blocks, hi = rows * (blk + 1) / blocks
            if lo < hi { body(lo, hi - lo) }
        }
    }
}

/// Rows per block of the fused LoRA kernels: one block of a 768-wide activation is ~0.75 MB.
let loraBlockRows = 256

/// Sets each of `rows` rows of width `width` to `bias` (or leaves it for a beta=0 gemm).
@inline(__always)
func fillRows(_ y: UnsafeMutablePointer<Float>, rows: Int, bias: UnsafeMutablePointer<Float>?, width: Int) {
    guard let bias else { return }
    Parallel.forRanges(rows, grain: 256) { range in
        for r in range { (y + r * width).update(from: bias, count: width) }
    }
}

/// Numerically stable softmax of one row (`src` may equal `dst`).
@inline(__always)
func softmaxRow(_ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
    let mx = rowMax(src, n)
    for i in 0..<n { dst[i] = fastExp((src[i] - mx) * scale) }
    let inv = 1 / rowSum(dst, n)
    for i in 0..<n { dst[i] *= inv }
}
