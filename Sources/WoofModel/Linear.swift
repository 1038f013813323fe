import WoofCore

/// A dense layer `y = x Wᵀ + b` over parameters of a `ParameterStore`, optionally wrapped
/// with a LoRA adapter: `y = x W0ᵀ + b + (α/r) · B A x` with A [r, in] and B [out, r]
/// (W0 and b frozen, A and B trainable). After `merge`, (α/r)·BA lives in W0 and the
/// adapter path is skipped.
public struct Linear {
    public let name: String
    public let weight: Tensor
    public let bias: Tensor?
    public let loraA: Tensor?
    public let loraB: Tensor?
    public let scale: Float

    public var hasAdapter: Bool { loraA != nil }

    /// `merged`: the adapter has been folded into W0 and must not be applied again.
    /// `fusion`: a GELU before the layer or a residual add after it, fused into its gemms.
    public func callAsFunction(_ tape: Tape, _ x: Tensor, merged: Bool = false, fusion: LinearFusion = .none) -> Tensor {
        if let a = loraA, let b = loraB, !merged {
            return tape.loraLinear(x, weight, bias, a: a, bUp: b, scale: scale, fusion: fusion)
        }
        return tape.linear(x, weight, bias, fusion: fusion)
    }

    /// Folds `sign · (α/r)·BA` into W0 (`sign` −1 undoes a merge).
    func foldAdapter(sign: Float) { addLowRankUpdate(times: sign, into: weight.data) }

    /// Adds `factor · (α/r)·BA` to the out × in matrix at `w`: the one implementation of
    /// LoRA's merge (in place, or into a copy for export).
    func addLowRankUpdate(times factor: Float = 1, into w: UnsafeMutablePointer<Float>) {
        guard let a = loraA, let b = loraB else { return }
        let out = weight.shape[0], inp = weight.shape[1], r = a.shape[0]
        sgemm(false, false, out, inp, r, factor * scale, b.data, r, a.data, inp, 1, w, inp)
    }
}
