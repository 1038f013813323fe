import Foundation

/// Class-specific explanations of a ViT decision from its attention and the attention's
/// gradient (Chefer, Gur & Wolf, ICCV 2021, "Generic attention-model explainability").
///
/// Layout as in `AttentionAnalysis`: one image's attention (and its gradient) in one block
/// is `heads × T × T` floats, `[h][query][key]`; token 0 is the class token.
public enum AttentionRelevance {

    /// Ā = mean over heads of (∂y_c/∂A ⊙ A)⁺: the attention weighted by how much raising
    /// each weight raises the class score, negative parts dropped (T × T, row-major).
    public static func weightedAttention(_ attention: UnsafePointer<Float>, gradient: UnsafePointer<Float>,
                                         heads: Int, tokens t: Int) -> [Float] {
        precondition(heads > 0 && t > 1)
        var out = [Float](repeating: 0, count: t * t)
        let inv = 1 / Float(heads)
        for h in 0..<heads {
            let a = attention + h * t * t, g = gradient + h * t * t
            for i in 0..<(t * t) { out[i] += max(0, a[i] * g[i]) * inv }
        }
        return out
    }

    /// Chefer et al.'s relevance of the patches for the class token: R = I, then per block
    /// R ← R + Ā·R; the map is R[CLS, patches]. Only row 0 is needed, so it is carried as a
    /// vector from the last block down: r ← r + r·Ā_b (O(T²) per block instead of O(T³)).
    ///
    /// - Parameter weighted: Ā of each block (`weightedAttention`), first block first.
    /// - Returns: `T − 1` non-negative relevances (not normalised).
    public static func relevanceMap(_ weighted: [[Float]], tokens t: Int) -> [Float] {
        precondition(weighted.allSatisfy { $0.count == t * t }, "each block's Ā must be T × T")
        var r = [Double](repeating: 0, count: t)
        r[0] = 1
        for a in weighted.reversed() {
            var next = r
            for i in 0..<t where r[i] != 0 {
                let ri = r[i]
                for j in 0..<t { next[j] += ri * Double(a[i * t + j]) }
            }
            r = next
        }
        return r[1...].map { Float($0) }
    }

    /// The last block's gradient × attention alone: Ā[CLS, patches] of that block.
    public static func lastBlockMap(_ weighted: [Float], tokens t: Int) -> [Float] {
        precondition(weighted.count == t * t)
        return Array(weighted[1..<t])
    }
}
