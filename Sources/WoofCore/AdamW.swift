import Foundation

/// AdamW exactly as `torch.optim.AdamW`: decoupled weight decay `p -= lr·wd·p`, then the
/// Adam update with bias correction. Works on the flat trainable prefix of a
/// `ParameterStore`; weight decay applies to `0..<decayCount` only.
public final class AdamW {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    public let m: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>
    public let count: Int
    /// Optional per-element learning-rate multipliers (layer-wise lr decay); nil = all 1.
    public var lrScales: UnsafeMutablePointer<Float>?

    public init(count: Int, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.05) {
        self.count = count; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = .allocate(capacity: max(count, 1)); m.initialize(repeating: 0, count: max(count, 1))
        v = .allocate(capacity: max(count, 1)); v.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { m.deallocate(); v.deallocate(); lrScales?.deallocate() }

    /// Sets the learning-rate multiplier of `range` (allocating the multipliers on first use).
    public func setLearningRateScale(_ scale: Float, for range: Range<Int>) {
        if lrScales == nil {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 1, count: max(count, 1)); lrScales = p
        }
        (lrScales! + range.lowerBound).update(repeating: scale, count: range.count)
    }

    /// Restores the optimizer state (for resuming from a checkpoint).
    public func restore(step: Int, m: [Float], v: [Float]) {
        precondition(m.count == count && v.count == count)
        self.step = step
        m.withUnsafeBufferPointer { self.m.update(from: $0.baseAddress!, count: count) }
        v.withUnsafeBufferPointer { self.v.update(from: $0.baseAddress!, count: count) }
    }

    /// One update of `params[0..<count]` from `grads[0..<count]` at learning rate `lr`.
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, decayCount: Int, lr: Float) {
        step += 1
        let bc1 = 1 - pow(Double(beta1), Double(step)), bc2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(lr) / bc1), bc2Sqrt = Float(bc2.squareRoot())
        let (b1, b2, eps, decayFactor) = (beta1, beta2, self.eps, 1 - lr * weightDecay)
        let (m, v) = (self.m, self.v)
        if let scales = lrScales {
            let wd = lr * weightDecay
            Parallel.forRanges(count, grain: 65536) { range in
                for i in range {
                    if i < decayCount { params[i] *= 1 - wd * scales[i] }
                    let g = grads[i]
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    params[i] -= stepSize * scales[i] * m[i] / (v[i].squareRoot() / bc2Sqrt + eps)
                }
            }
            return
        }
        Parallel.forRanges(count, grain: 65536) { range in
            for i in range {
                if i < decayCount { params[i] *= decayFactor }
                let g = grads[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                params[i] -= stepSize * m[i] / (v[i].squareRoot() / bc2Sqrt + eps)
            }
        }
    }

    /// Updates the trainable parameters of `store` from its gradients.
    public func update(_ store: ParameterStore, lr: Float) {
        precondition(store.trainableCount == count)
        update(params: store.values, grads: store.grads, decayCount: store.decayCount, lr: lr)
    }
}
