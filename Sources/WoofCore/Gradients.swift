import Foundation
import CBLAS

// Every gradient rule of the engine, one per op, in one place. Each rule accumulates
// (+=) into the gradients of the inputs that require one; inputs that do not (frozen
// weights, the image batch) get no work at all.

extension Tape {
    /// Applies `op`'s gradient rule: one small function per op (or op family) below.
    func applyGradient(_ op: TapeOp) {
        let scope = ProfileScope(self, op.name, backward: true); defer { scope.end() }
        switch op {
        case let .linear(x, w, b, fusion, y): linearGradient(x: x, w: w, b: b, fusion: fusion, y: y)
        case let .loraLinear(x, w, b, a, bUp, scale, u, wEff, fusion, y):
            loraLinearGradient(x: x, w: w, b: b, lora: LoRAFactors(a: a, bUp: bUp, scale: scale, u: u), wEff: wEff, fusion: fusion, y: y)
        case let .layerNorm(x, g, b, mean, rstd, y): layerNormGradient(x: x, g: g, b: b, mean: mean, rstd: rstd, y: y)
        case let .gelu(x, y): geluGradient(x: x, y: y)
        case let .add(a, b, y): addGradient(a: a, b: b, y: y)
        case let .softmax(x, y): softmaxGradient(x: x, y: y)
        case let .attention(qkv, heads, probs, y): attentionGradient(qkv: qkv, heads: heads, probs: probs, y: y)
        case let .patchEmbed(images, w, b, cols, patch, y):
            patchEmbedGradient(images: images, w: w, b: b, cols: cols, patch: patch, y: y)
        case let .embedTokens(patches, cls, pos, y): embedTokensGradient(patches: patches, cls: cls, pos: pos, y: y)
        case let .selectToken(x, index, y): selectTokenGradient(x: x, index: index, y: y)
        case let .crossEntropy(logits, labels, probs, smoothing, y):
            crossEntropyGradient(logits: logits, labels: labels, probs: probs, smoothing: smoothing, y: y)
        }
    }

    // MARK: Dense layers

    /// y = x Wᵀ + b (+ residual): dx = dy W, dW += dyᵀ x, db += Σ dy, dresidual += dy.
    private func linearGradient(x: Tensor, w: Tensor, b: Tensor?, fusion: LinearFusion, y: Tensor) {
        let m = x.rows, k = x.lastDim, n = w.shape[0], dy = gradOf(y)
        if let res = fusion.residual { passGradient(dy, to: res) }
        if fusion.geluInput {
            // GELU(x) and dy·W into transient buffers, each from one split gemm (per-row-block
            // gemms measured slower): dW += dyᵀ·GELU(x), dx = (dy W) ⊙ GELU′(x).
            let slot = x.requiresGrad ? gradSlot(x) : nil
            let mark = arena.mark(); defer { arena.rewind(to: mark) }
            if w.requiresGrad { pgemm(true, false, n, k, m, 1, dy, n, transientGELU(x), k, 1, w.grad!, k) }
            if let slot {
                let dg = arena.floats(m * k)
                pgemm(false, false, m, k, n, 1, dy, n, w.data, k, 0, dg, k)
                parallelGELUBackward(x: x.data, dy: dg, dx: slot.grad, m * k, accumulate: !slot.fresh)
            }
        } else {
            if x.requiresGrad {
                let (dx, fresh) = gradSlot(x)
                pgemm(false, false, m, k, n, 1, dy, n, w.data, k, fresh ? 0 : 1, dx, k)
            }
            if w.requiresGrad { pgemm(true, false, n, k, m, 1, dy, n, x.data, k, 1, w.grad!, k) }
        }
        if let b, b.requiresGrad { columnSums(dy, rows: m, width: n, into: b.grad!) }
    }

    /// y = x W0ᵀ + s·(x Aᵀ) Bᵀ + b (+ residual) with u = x Aᵀ and W_eff = W0 + s·BA saved by
    /// the forward: dx = dy W_eff (one plain gemm), dB += s·dyᵀ u, dA += s·(dy B)ᵀ x.
    private func loraLinearGradient(x: Tensor, w: Tensor, b: Tensor?, lora: LoRAFactors,
                                    wEff: UnsafeMutablePointer<Float>, fusion: LinearFusion, y: Tensor) {
        let dy = gradOf(y)
        if let res = fusion.residual { passGradient(dy, to: res) }
        loraBackward(x: x, geluInput: fusion.geluInput, weight: wEff, outWidth: w.shape[0], dy: dy,
                     dW: w.requiresGrad ? w.grad! : nil, lora: lora)
        if let b, b.requiresGrad { columnSums(dy, rows: x.rows, width: w.shape[0], into: b.grad!) }
    }

    /// A LoRA layer's backward. Per row block, while the block of dy is in cache: du = s·dy B
    /// and dx = dy·W_eff (times GELU′(x) when the layer read GELU(x)). Then dB += s·dyᵀu,
    /// dA += duᵀ·input and (if W trains) dW += dyᵀ·input as split gemms over all rows, the
    /// input being x or a transient GELU(x). (Summing per-block partials of these thin
    /// products instead was not faster in an A/B, and needs a small gemm call per block.)
    private func loraBackward(x: Tensor, geluInput: Bool, weight: UnsafePointer<Float>, outWidth n: Int,
                              dy: UnsafeMutablePointer<Float>, dW: UnsafeMutablePointer<Float>?,
                              lora: LoRAFactors) {
        let m = x.rows, k = x.lastDim, r = lora.a.shape[0], br = loraBlockRows
        let slot = x.requiresGrad ? gradSlot(x) : nil
        let dx = slot?.grad, fresh = slot?.fresh ?? true
        let dA = lora.a.requiresGrad ? lora.a.grad! : nil
        let mark = arena.mark(); defer { arena.rewind(to: mark) }
        let du = dA == nil ? nil : arena.floats(m * r)
        let dg = geluInput && dx != nil ? arena.floats(Parallel.threads * br * k) : nil
        let xp = x.data, bp = lora.bUp.data
        forRowBlocks(m) { w, lo, rows in
            let dyb = dy + lo * n
            if let du { sgemm(false, false, rows, r, n, lora.scale, dyb, n, bp, r, 0, du + lo * r, r) }
            guard let dx else { return }
            if let dg {
                let dgb = dg + w * br * k
                sgemm(false, false, rows, k, n, 1, dyb, n, weight, k, 0, dgb, k)
                geluBackwardRows(x: xp + lo * k, dy: dgb, dx: dx + lo * k, rows * k, accumulate: !fresh)
            } else {
                sgemm(false, false, rows, k, n, 1, dyb, n, weight, k, fresh ? 0 : 1, dx + lo * k, k)
            }
        }
        if lora.bUp.requiresGrad { pgemm(true, false, n, r, m, lora.scale, dy, n, lora.u, r, 1, lora.bUp.grad!, r) }
        guard du != nil || dW != nil else { return }
        let input = geluInput ? transientGELU(x) : xp
        if let du, let dA { pgemm(true, false, r, k, m, 1, du, r, input, k, 1, dA, k) }
        if let dW { pgemm(true, false, n, k, m, 1, dy, n, input, k, 1, dW, k) }
    }

    // MARK: Normalisation and elementwise

    /// Row-wise layer norm with saved mean and rstd; the affine gradients go through
    /// per-worker partials so the rows can be split over threads.
    private func layerNormGradient(x: Tensor, g: Tensor, b: Tensor, mean: UnsafeMutablePointer<Float>,
                                   rstd: UnsafeMutablePointer<Float>, y: Tensor) {
        let m = x.rows, d = x.lastDim, dy = gradOf(y)
        let slot = x.requiresGrad ? gradSlot(x) : nil
        let dx = slot?.grad, dxFresh = slot?.fresh ?? false
        let wantAffine = g.requiresGrad || b.requiresGrad
        let workers = Parallel.threads
        let partial = wantAffine ? arena.zeros(workers * 2 * d) : nil
        let xp = x.data, gp = g.data
        Parallel.forChunks(m, grain: 64) { w, rows in
            let pg = partial.map { $0 + w * 2 * d }, pb = partial.map { $0 + w * 2 * d + d }
            for r in rows {
                let xr = xp + r * d, dyr = dy + r * d, mu = mean[r], rs = rstd[r]
                // Σ dx̂ and Σ dx̂·x̂ with dx̂ = dy⊙g and x̂ = (x − μ)·rstd.
                let sumDxhat = rowDot(dyr, gp, d)
                let sumDxhatXhat = rs * (rowDot3(dyr, gp, xr, d) - mu * sumDxhat)
                if let pg, let pb {
                    for i in 0..<d { pg[i] += dyr[i] * ((xr[i] - mu) * rs); pb[i] += dyr[i] }
                }
                if let dx {
                    let dxr = dx + r * d, m1 = sumDxhat / Float(d), m2 = sumDxhatXhat / Float(d)
                    if dxFresh { for i in 0..<d { dxr[i] = rs * (dyr[i] * gp[i] - m1 - (xr[i] - mu) * rs * m2) } }
                    else { for i in 0..<d { dxr[i] += rs * (dyr[i] * gp[i] - m1 - (xr[i] - mu) * rs * m2) } }
                }
            }
        }
        if let partial {
            for w in 0..<workers {
                let pg = partial + w * 2 * d, pb = pg + d
                if g.requiresGrad { for i in 0..<d { g.grad![i] += pg[i] } }
                if b.requiresGrad { for i in 0..<d { b.grad![i] += pb[i] } }
            }
        }
    }

    /// dx = dy ⊙ gelu'(x).
    private func geluGradient(x: Tensor, y: Tensor) {
        guard x.requiresGrad else { return }
        let dy = gradOf(y), (dx, fresh) = gradSlot(x)
        parallelGELUBackward(x: x.data, dy: dy, dx: dx, x.count, accumulate: !fresh)
    }

    /// y = a + b (same shapes): both inputs receive dy.
    private func addGradient(a: Tensor, b: Tensor, y: Tensor) {
        let dy = gradOf(y)
        passGradient(dy, to: a)
        passGradient(dy, to: b)
    }

    /// `t`'s gradient receives `dy` unchanged (t was an addend).
    private func passGradient(_ dy: UnsafeMutablePointer<Float>, to t: Tensor) {
        guard t.requiresGrad else { return }
        let (dt, fresh) = gradSlot(t)
        Parallel.forRanges(t.count, grain: 32768) { range in
            if fresh { (dt + range.lowerBound).update(from: dy + range.lowerBound, count: range.count) }
            else { for i in range { dt[i] += dy[i] } }
        }
    }

    /// Softmax over the last dimension.
    private func softmaxGradient(x: Tensor, y: Tensor) {
        guard x.requiresGrad else { return }
        let n = x.lastDim, dy = gradOf(y), (dx, fresh) = gradSlot(x), yp = y.data
        Parallel.forRanges(x.rows, grain: 64) { rows in
            for r in rows { softmaxBackwardRow(yp + r * n, dy + r * n, dx + r * n, n, scale: 1, accumulate: !fresh) }
        }
    }

    // MARK: Attention

    /// Multi-head self-attention from the packed qkv [B, T, 3D] and the saved probabilities,
    /// or, when the forward did not keep them, each pair's recomputed in cache.
    private func attentionGradient(qkv: Tensor, heads: Int, probs: Tensor?, y: Tensor) {
        guard qkv.requiresGrad else { return }
        let bsz = qkv.shape[0], t = qkv.shape[1], d = qkv.shape[2] / 3, hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        // Each (batch, head) writes its own q, k and v columns once, so together the
        // pairs cover dqkv exactly: a fresh buffer is stored into with β 0.
        let dy = gradOf(y), (dqkv, fresh) = gradSlot(qkv), beta: Float = fresh ? 0 : 1
        let keptDP = keepsAttentionGradients ? probs.map { gradOf($0) } : nil
        let perWorker = probs == nil ? 2 * t * t : t * t
        let mark = arena.mark(); defer { arena.rewind(to: mark) }
        let scratch = arena.floats(Parallel.threads * perWorker)
        let qp = qkv.data, pp = probs?.data
        Parallel.forChunks(bsz * heads, grain: 1) { w, pairs in
            let dp = scratch + w * perWorker
            for bh in pairs {
                let b = bh / heads, h = bh % heads
                let off = b * t * 3 * d + h * hd
                let q = qp + off, k = q + d, v = q + 2 * d
                let dq = dqkv + off, dk = dq + d, dv = dq + 2 * d
                let p = pp.map { $0 + bh * t * t } ?? dp + t * t
                if pp == nil { attentionProbabilities(q: q, rowStride: 3 * d, tokens: t, headDim: hd, into: p) }
                let dout = dy + b * t * d + h * hd
                sgemm(false, true, t, t, hd, 1, dout, d, v, 3 * d, 0, dp, t)        // dP = dO Vᵀ
                if let keptDP { (keptDP + bh * t * t).update(from: dp, count: t * t) }
                sgemm(true, false, t, hd, t, 1, p, t, dout, d, beta, dv, 3 * d)     // dV += Pᵀ dO
                for r in 0..<t {                                                    // dS = P ⊙ (dP − Σ dP⊙P)
                    softmaxBackwardRow(p + r * t, dp + r * t, dp + r * t, t, scale: 1, accumulate: false)
                }
                sgemm(false, false, t, hd, t, scale, dp, t, k, 3 * d, beta, dq, 3 * d) // dQ += s dS K
                sgemm(true, false, t, hd, t, scale, dp, t, q, 3 * d, beta, dk, 3 * d)  // dK += s dSᵀ Q
            }
        }
    }

    // MARK: Embedding

    /// Patch embedding as a GEMM over the saved im2col `cols`.
    private func patchEmbedGradient(images: Tensor, w: Tensor, b: Tensor, cols: UnsafeMutablePointer<Float>,
                                    patch: Int, y: Tensor) {
        let bsz = images.shape[0], c = images.shape[1], hgt = images.shape[2], wid = images.shape[3]
        let d = w.shape[0], gw = wid / patch, n = (hgt / patch) * gw, kk = c * patch * patch
        let dy = gradOf(y)
        if w.requiresGrad { pgemm(true, false, d, kk, bsz * n, 1, dy, d, cols, kk, 1, w.grad!, kk) }
        if b.requiresGrad { columnSums(dy, rows: bsz * n, width: d, into: b.grad!) }
        guard images.requiresGrad else { return }
        let dcols = arena.floats(bsz * n * kk)
        pgemm(false, false, bsz * n, kk, d, 1, dy, d, w.data, kk, 0, dcols, kk)
        let di = gradOf(images)
        // Patches do not overlap (stride = kernel), so rows scatter to disjoint pixels.
        Parallel.forRanges(bsz * n, grain: 64) { rows in
            for row in rows {
                let bi = row / n, pi = row % n, py = pi / gw, px = pi % gw
                var src = dcols + row * kk
                for ch in 0..<c {
                    for ky in 0..<patch {
                        let dst = di + ((bi * c + ch) * hgt + py * patch + ky) * wid + px * patch
                        for i in 0..<patch { dst[i] += src[i] }
                        src += patch
                    }
                }
            }
        }
    }

    /// y = [cls; patches] + pos: token 0 of each image to cls, the rest to the patches.
    private func embedTokensGradient(patches: Tensor, cls: Tensor, pos: Tensor, y: Tensor) {
        let bsz = patches.shape[0], n = patches.shape[1], d = patches.shape[2], t = n + 1
        let dy = gradOf(y)
        if patches.requiresGrad {
            let (dp, fresh) = gradSlot(patches)
            Parallel.forRanges(bsz * n, grain: 256) { rows in
                for row in rows {
                    let bi = row / n, pi = row % n
                    let src = dy + (bi * t + pi + 1) * d, dst = dp + row * d
                    if fresh { dst.update(from: src, count: d) } else { for i in 0..<d { dst[i] += src[i] } }
                }
            }
        }
        if cls.requiresGrad {
            let dc = cls.grad!
            for bi in 0..<bsz { let src = dy + bi * t * d; for i in 0..<d { dc[i] += src[i] } }
        }
        if pos.requiresGrad { columnSums(dy, rows: bsz, width: t * d, into: pos.grad!) }
    }

    /// y = x[:, index]: dy lands on that token's rows.
    private func selectTokenGradient(x: Tensor, index: Int, y: Tensor) {
        guard x.requiresGrad else { return }
        let bsz = x.shape[0], t = x.shape[1], d = x.shape[2], dy = gradOf(y), dx = gradOf(x)
        for b in 0..<bsz {
            let dst = dx + (b * t + index) * d, src = dy + b * d
            for i in 0..<d { dst[i] += src[i] }
        }
    }

    // MARK: Loss

    /// Mean label-smoothed cross-entropy with the saved softmax `probs`.
    private func crossEntropyGradient(logits: Tensor, labels: [Int32], probs: UnsafeMutablePointer<Float>,
                                      smoothing: Float, y: Tensor) {
        guard logits.requiresGrad else { return }
        let bsz = logits.rows, c = logits.lastDim, (dl, fresh) = gradSlot(logits)
        let g = gradOf(y)[0] / Float(bsz)
        for r in 0..<bsz {
            let pr = probs + r * c, dr = dl + r * c
            for i in 0..<c {
                let target = (i == Int(labels[r]) ? 1 - smoothing : 0) + smoothing / Float(c)
                dr[i] = (fresh ? 0 : dr[i]) + g * (pr[i] - target)
            }
        }
    }

    /// `out[j] += Σ_r src[r, j]`, split over row blocks with per-worker partials.
    func columnSums(_ src: UnsafeMutablePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let workers = Parallel.threads
        let partial = arena.zeros(workers * width)
        Parallel.forChunks(rows, grain: max(1, 65536 / max(width, 1))) { w, range in
            let acc = partial + w * width
            for r in range { let s = src + r * width; for j in 0..<width { acc[j] += s[j] } }
        }
        for w in 0..<workers { let acc = partial + w * width; for j in 0..<width { out[j] += acc[j] } }
    }
}

/// The parts of a LoRA layer its backward needs: the factors, the scale and u = x Aᵀ.
struct LoRAFactors {
    let a: Tensor, bUp: Tensor, scale: Float, u: UnsafeMutablePointer<Float>
}

/// `dx (+)= dy ⊙ gelu′(x)` over `count` floats.
@inline(__always)
func geluBackwardRows(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                      _ count: Int, accumulate: Bool) {
    if accumulate { for i in 0..<count { dx[i] += dy[i] * geluDerivative(x[i]) } }
    else { for i in 0..<count { dx[i] = dy[i] * geluDerivative(x[i]) } }
}

/// `geluBackwardRows` over `count` floats, split over the workers.
func parallelGELUBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                          _ count: Int, accumulate: Bool) {
    Parallel.forRanges(count, grain: 16384) { r in
        let lo = r.lowerBound
        geluBackwardRows(x: x + lo, dy: dy + lo, dx: dx + lo, r.count, accumulate: accumulate)
    }
}

/// d/dx of x·Φ(x): Φ(x) + x·φ(x).
@inline(__always)
func geluDerivative(_ v: Float) -> Float {
    let cdf = 0.5 * (1 + fastErf(v * 0.70710678118654752))
    let pdf = fastExp(-0.5 * v * v) * 0.39894228040143268
    return cdf + v * pdf
}

/// Softmax backward for one row: `dx = y ⊙ (dy − Σ dy⊙y)` (times `scale`). With
/// `accumulate` false, `dx` may alias `dy` and is overwritten.
@inline(__always)
func softmaxBackwardRow(_ y: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                        _ dx: UnsafeMutablePointer<Float>, _ n: Int, scale: Float, accumulate: Bool) {
    let dot = rowDot(dy, y, n)
    if accumulate { for i in 0..<n { dx[i] += scale * y[i] * (dy[i] - dot) } }
    else { for i in 0..<n { dx[i] = scale * y[i] * (dy[i] - dot) } }
}
