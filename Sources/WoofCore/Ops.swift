import Foundation
import CBLAS

// Forward passes of the engine's ops. Each computes into arena memory and records a
// `TapeOp` when a gradient will be needed; the matching gradient rule is in Gradients.swift.
// Tensors are row-major with the feature dimension last; "rows" means all leading dims.

public extension Tape {
    /// `y = x Wᵀ + b` with `W` of shape [out, in] (torch.nn.Linear layout), fused with its
    /// neighbours as `fusion` says (a GELU before it, a residual add after it).
    func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, fusion: LinearFusion = .none) -> Tensor {
        let scope = ProfileScope(self, "linear"); defer { scope.end() }
        let m = x.rows, k = x.lastDim, n = w.shape[0]
        precondition(w.shape == [n, k], "linear: weight \(w.shape) does not take inputs of width \(k)")
        let y = outputTensor(x, width: n, fusion: fusion, weights: [w] + (b.map { [$0] } ?? []))
        let beta = startOutput(y, bias: b, residual: fusion.residual)
        if fusion.geluInput {
            // GELU(x) into a transient buffer the arena takes back at once (nothing is kept for
            // the backward), then one split gemm (per-row-block gemms measured slower here).
            let mark = arena.mark(); defer { arena.rewind(to: mark) }
            let g = transientGELU(x)
            pgemm(false, true, m, n, k, 1, g, k, w.data, k, beta, y.data, n)
        } else {
            pgemm(false, true, m, n, k, 1, x.data, k, w.data, k, beta, y.data, n)
        }
        if y.requiresGrad { record(.linear(x: x, w: w, b: b, fusion: fusion, y: y)) }
        return y
    }

    /// LoRA linear: `y = x W0ᵀ + b + scale · (x Aᵀ) Bᵀ`, A [r, in], B [out, r], fused as `linear`.
    /// `u = x Aᵀ` [rows, r] is kept for the backward.
    func loraLinear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, a: Tensor, bUp: Tensor, scale: Float,
                    fusion: LinearFusion = .none) -> Tensor {
        let scope = ProfileScope(self, "loraLinear"); defer { scope.end() }
        let m = x.rows, k = x.lastDim, n = w.shape[0], r = a.shape[0]
        precondition(w.shape == [n, k] && a.shape == [r, k] && bUp.shape == [n, r], "loraLinear: shapes W\(w.shape) A\(a.shape) B\(bUp.shape) x\(x.shape)")
        let y = outputTensor(x, width: n, fusion: fusion, weights: [w, a, bUp] + (b.map { [$0] } ?? []))
        // W0 + s·BA, one n×k×r product per call: the big products are then plain linears, and
        // the rank-r gemms that run slowly (K = r) are gone; only u = x·Aᵀ, which the backward
        // needs for dB, stays thin. (Rounding differs from x·W0ᵀ + s·(x·Aᵀ)·Bᵀ by ~1e-7.)
        let wEff = arena.floats(n * k)
        wEff.update(from: w.data, count: n * k)
        sgemm(false, false, n, k, r, scale, bUp.data, r, a.data, k, 1, wEff, k)
        let u = y.requiresGrad ? arena.floats(m * r) : nil
        let beta = startOutput(y, bias: b, residual: fusion.residual)
        // Row blocks, each worker running both gemms on its block while the block of x is in cache.
        let yp = y.data, ap = a.data
        forInputBlocks(x, gelu: fusion.geluInput) { _, lo, rows, input in
            sgemm(false, true, rows, n, k, 1, input, k, wEff, k, beta, yp + lo * n, n)
            if let u { sgemm(false, true, rows, r, k, 1, input, k, ap, k, 0, u + lo * r, r) }
        }
        if y.requiresGrad, let u {
            record(.loraLinear(x: x, w: w, b: b, a: a, bUp: bUp, scale: scale, u: u, wEff: wEff, fusion: fusion, y: y))
        }
        return y
    }

    /// The output of a dense layer of width `n` over `x`: a gradient is needed if any input
    /// (or the fused residual) needs one.
    private func outputTensor(_ x: Tensor, width n: Int, fusion: LinearFusion, weights: [Tensor]) -> Tensor {
        let shape = Array(x.shape.dropLast()) + [n]
        if let res = fusion.residual { precondition(res.shape == shape, "linear: residual \(res.shape) for output \(shape)") }
        let needs = x.requiresGrad || weights.contains { $0.requiresGrad } || (fusion.residual?.requiresGrad ?? false)
        return tensor(shape, requiresGrad: needs)
    }

    /// Fills `y` with `residual + bias` (either may be absent) before the gemm adds `x Wᵀ`;
    /// returns the gemm's β (0 when there is nothing to add to).
    private func startOutput(_ y: Tensor, bias: Tensor?, residual: Tensor?) -> Float {
        let n = y.lastDim, yp = y.data
        switch (residual?.data, bias?.data) {
        case (nil, nil): return 0
        case let (nil, bp?): fillRows(yp, rows: y.rows, bias: bp, width: n)
        case let (rp?, nil): Parallel.forRanges(y.count, grain: 32768) { range in
            (yp + range.lowerBound).update(from: rp + range.lowerBound, count: range.count) }
        case let (rp?, bp?): Parallel.forRanges(y.rows, grain: 256) { rows in
            for r in rows { let yr = yp + r * n, rr = rp + r * n; for j in 0..<n { yr[j] = rr[j] + bp[j] } } }
        }
        return 1
    }

    /// GELU(x) in new arena memory, for the caller to rewind once used.
    func transientGELU(_ x: Tensor) -> UnsafeMutablePointer<Float> {
        let g = arena.floats(x.count)
        parallelGELU(x.data, g, x.count)
        return g
    }

    /// Runs `body(worker, firstRow, rowCount, input)` over row blocks of `x`, where `input` is
    /// the block of x itself or, with `gelu`, GELU(x) computed into the worker's scratch while
    /// the block is in cache (so GELU's output never goes through memory).
    func forInputBlocks(_ x: Tensor, gelu: Bool,
                        _ body: (_ worker: Int, _ lo: Int, _ rows: Int, _ input: UnsafeMutablePointer<Float>) -> Void) {
        let k = x.lastDim, xp = x.data
        guard gelu else { forRowBlocks(x.rows) { w, lo, rows in body(w, lo, rows, xp + lo * k) }; return }
        let mark = arena.mark(); defer { arena.rewind(to: mark) }
        let scratch = arena.floats(Parallel.threads * loraBlockRows * k)
        forRowBlocks(x.rows) { w, lo, rows in
            let g = scratch + w * loraBlockRows * k
            geluRows(xp + lo * k, g, rows * k)
            body(w, lo, rows, g)
        }
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
        parallelGELU(xp, yp, x.count)
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
    /// With `keepProbabilities` (or a probe, or kept attention gradients) the post-softmax
    /// probabilities [B, heads, T, T] are returned and saved; otherwise each (batch, head)'s
    /// block lives only in cache and the backward recomputes it (as flash attention does),
    /// which saves B·heads·T² floats per layer.
    func attention(_ qkv: Tensor, heads: Int, keepProbabilities: Bool = true) -> (out: Tensor, probs: Tensor?) {
        let scope = ProfileScope(self, "attention"); defer { scope.end() }
        precondition(qkv.shape.count == 3 && qkv.shape[2] % (3 * heads) == 0, "attention: qkv shape \(qkv.shape) for \(heads) heads")
        let bsz = qkv.shape[0], t = qkv.shape[1], d = qkv.shape[2] / 3
        let y = tensor([bsz, t, d], requiresGrad: qkv.requiresGrad)
        let keep = keepProbabilities || attentionProbe != nil || keepsAttentionGradients
        let probs = keep ? tensor([bsz, heads, t, t], requiresGrad: false) : nil
        let mark = arena.mark()
        let scratch = keep ? nil : arena.floats(Parallel.threads * t * t)
        // With a probe the probabilities are all made first, shown to it, then used.
        if let probe = attentionProbe, let probs {
            attentionPass(qkv, heads: heads, probs: probs.data, output: nil)
            probe(probs)
            attentionPass(qkv, heads: heads, probs: probs.data, output: y.data, probabilitiesReady: true)
        } else if let probs {
            attentionPass(qkv, heads: heads, probs: probs.data, output: y.data)
        } else if let scratch {
            attentionPass(qkv, heads: heads, scratch: scratch, output: y.data)
        }
        if scratch != nil { arena.rewind(to: mark) }
        if y.requiresGrad { record(.attention(qkv: qkv, heads: heads, probs: probs, y: y)) }
        return (y, probs)
    }

    /// One pass over the (batch, head) pairs: P = softmax(QKᵀ/√d) into `probs` (all pairs) or
    /// into the worker's `scratch` block, then O = P V into `output`. One pair per task: its
    /// gemms are small, so each runs single-threaded and the pairs spread over the workers.
    /// Heads write disjoint columns of the output.
    private func attentionPass(_ qkv: Tensor, heads: Int, probs: UnsafeMutablePointer<Float>? = nil,
                               scratch: UnsafeMutablePointer<Float>? = nil, output: UnsafeMutablePointer<Float>?,
                               probabilitiesReady: Bool = false) {
        let bsz = qkv.shape[0], t = qkv.shape[1], d = qkv.shape[2] / 3, hd = d / heads, qp = qkv.data
        Parallel.forChunks(bsz * heads, grain: 1) { w, pairs in
            for bh in pairs {
                let b = bh / heads, h = bh % heads
                let q = qp + b * t * 3 * d + h * hd, v = q + 2 * d
                let p = probs.map { $0 + bh * t * t } ?? scratch! + w * t * t
                if !probabilitiesReady { attentionProbabilities(q: q, rowStride: 3 * d, tokens: t, headDim: hd, into: p) }
                if let output { sgemm(false, false, t, hd, t, 1, p, t, v, 3 * d, 0, output + b * t * d + h * hd, d) }
            }
        }
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

/// Runs `body(worker, firstRow, rowCount)` over `0..<rows` in blocks of at most
/// `loraBlockRows` rows, the blocks split evenly over the workers.
@inline(__always)
func forRowBlocks(_ rows: Int, _ body: (Int, Int, Int) -> Void) {
    let blocks = max(1, (rows + loraBlockRows - 1) / loraBlockRows)
    Parallel.forChunks(blocks, grain: 1) { w, range in
        for blk in range {
            let lo = rows * blk / blocks, hi = rows * (blk + 1) / blocks
            if lo < hi { body(w, lo, hi - lo) }
        }
    }
}

/// Rows per block of the fused kernels: one block of a 768-wide activation is ~0.75 MB.
let loraBlockRows = 256

/// How a dense layer's gemm is fused with its neighbours, so that the activation around it
/// makes no separate trip through memory and is not stored for the backward.
public struct LinearFusion {
    /// The layer reads GELU(x), x being the pre-activation (fc2 after fc1): GELU runs per row
    /// block in cache, and the backward recomputes it instead of keeping [rows, in] floats.
    public var geluInput: Bool
    /// `y = residual + x Wᵀ + b` (proj and fc2 onto the residual stream): the layer's own
    /// output is never stored apart from the sum.
    public var residual: Tensor?
    public init(geluInput: Bool = false, residual: Tensor? = nil) { self.geluInput = geluInput; self.residual = residual }
    public static var none: LinearFusion { LinearFusion() }
}

/// GELU, exact form `x · Φ(x) = 0.5 x (1 + erf(x/√2))` (torch's default), of `count` floats.
@inline(__always)
func geluRows(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { let v = src[i]; dst[i] = 0.5 * v * (1 + fastErf(v * 0.70710678118654752)) }
}

/// `geluRows` over `count` floats, split over the workers.
func parallelGELU(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    Parallel.forRanges(count, grain: 16384) { r in geluRows(src + r.lowerBound, dst + r.lowerBound, r.count) }
}

/// One head's attention probabilities softmax(q kᵀ/√d) [t, t] into `p`; `q` points at the
/// head's query columns of a packed qkv row (keys follow `rowStride / 3` floats later).
@inline(__always)
func attentionProbabilities(q: UnsafePointer<Float>, rowStride: Int, tokens t: Int, headDim hd: Int,
                            into p: UnsafeMutablePointer<Float>) {
    let scale = 1 / Float(hd).squareRoot()
    sgemm(false, true, t, t, hd, scale, q, rowStride, q + rowStride / 3, rowStride, 0, p, t)
    for r in 0..<t { softmaxRow(p + r * t, p + r * t, t, scale: 1) }
}

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
