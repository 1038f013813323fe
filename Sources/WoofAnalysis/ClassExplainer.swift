import Foundation
import WoofCore
import WoofModel

/// Every map the attention analysis draws or scores, for one image under one model; patch
/// maps have `T − 1` entries in raster order.
public struct ExplanationMaps {
    /// The last block's class-token attention, mean over heads (a distribution).
    public var cls: [Float]
    /// The last block's class-token attention of each head (distributions).
    public var heads: [[Float]]
    /// Attention rollout's class-token row (Abnar & Zuidema 2020); empty when not asked for.
    public var rollout: [Float]
    /// Chefer et al.'s gradient-weighted relevance for `target` (nil when not asked for).
    public var relevance: [Float]?
    /// The last block's gradient × attention alone for `target`.
    public var lastBlockGradient: [Float]?
    /// The model's logits for the image.
    public var logits: [Float]
    /// Norm of each patch token entering the last block (the registers check).
    public var patchNorms: [Float]
}

/// Runs a frozen ViT on a batch and derives the class-agnostic maps (attention, rollout) and,
/// through the engine's backward pass, the class-specific ones: the images are marked as
/// needing a gradient so the ops record, the class logit of each image is seeded with 1, and
/// the attention ops keep ∂y_c/∂A. No parameter gets a gradient.
public struct ClassExplainer {
    public let model: VisionTransformer
    public init(model: VisionTransformer) { self.model = model }

    /// Maps for `count` images at `images` (normalised CHW); `targets[i]` is the output
    /// index whose logit image `i`'s gradient maps explain, nil for no gradient maps.
    public func explain(images: UnsafePointer<Float>, count: Int, targets: [Int]?, tape: Tape,
                        rollout: Bool = true) -> [ExplanationMaps] {
        let c = model.config, t = c.tokens, heads = c.numHeads, last = c.depth - 1
        precondition(targets == nil || targets!.count == count, "one target per image")
        tape.reset()
        tape.isRecording = targets != nil
        tape.keepsAttentionGradients = targets != nil
        defer { tape.reset(); tape.keepsAttentionGradients = false; tape.isRecording = false }
        let x = tape.input(images, shape: [count, c.inChans, c.imgSize, c.imgSize], requiresGrad: targets != nil)
        let wanted = rollout || targets != nil ? Set(0..<c.depth) : [last]
        let trace = model.trace(tape, images: x, attention: wanted, blockInputs: [last])
        let nc = c.numClasses
        if let targets {
            var seed = [Float](repeating: 0, count: count * nc)
            for (i, k) in targets.enumerated() { seed[i * nc + k] = 1 }
            tape.backward(from: trace.logits, seed: seed)
        }
        let hTT = heads * t * t
        return (0..<count).map { i in
            let lastA = Array(UnsafeBufferPointer(start: trace.attention[last]!.data + i * hTT, count: hTT))
            let blocks = rollout ? (0..<c.depth).map { b in Array(UnsafeBufferPointer(start: trace.attention[b]!.data + i * hTT, count: hTT)) } : []
            var m = ExplanationMaps(cls: AttentionAnalysis.clsToPatchMean(lastA, heads: heads, tokens: t),
                                    heads: AttentionAnalysis.clsToPatch(lastA, heads: heads, tokens: t),
                                    rollout: rollout ? AttentionAnalysis.rolloutCLSMap(blocks, heads: heads, tokens: t) : [],
                                    relevance: nil, lastBlockGradient: nil,
                                    logits: Array(UnsafeBufferPointer(start: trace.logits.data + i * nc, count: nc)),
                                    patchNorms: Self.patchNorms(trace.blockInputs[last]!, image: i))
            if targets != nil {
                let weighted = (0..<c.depth).map { b -> [Float] in
                    let a = trace.attention[b]!
                    return AttentionRelevance.weightedAttention(a.data + i * hTT, gradient: a.grad! + i * hTT, heads: heads, tokens: t)
                }
                m.relevance = AttentionRelevance.relevanceMap(weighted, tokens: t)
                m.lastBlockGradient = AttentionRelevance.lastBlockMap(weighted[last], tokens: t)
            }
            return m
        }
    }

    /// The L2 norm of each patch token (not the class token) of image `i` in `tokens` [B, T, D].
    static func patchNorms(_ tokens: Tensor, image i: Int) -> [Float] {
        let t = tokens.shape[1], d = tokens.shape[2]
        let base = tokens.data + i * t * d
        return (1..<t).map { j in
            var s: Float = 0
            for k in 0..<d { s += base[j * d + k] * base[j * d + k] }
            return s.squareRoot()
        }
    }
}
