import Foundation

/// A small, fast, seedable generator (SplitMix64) so every random choice in the project —
/// initialisation, shuffling, augmentation — is reproducible from a seed.
public struct SeededRNG: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    /// A generator for a sub-stream, e.g. (seed, epoch, index), independent of call order.
    public init(seed: UInt64, stream: UInt64...) {
        var s = seed
        for x in stream { var g = SeededRNG(seed: s ^ (x &* 0xD1B5_4A32_D192_ED03)); s = g.next() }
        state = s
    }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }
    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9007199254740992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9007199254740992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    /// Normal(0, std) truncated to [-2·std, 2·std] by resampling (timm's trunc_normal_ with
    /// its default bounds of ±2 absolute is wider than ±2·std for std = 0.02, so this is
    /// timm's behaviour for all practical purposes: at std .02 the bounds never bite).
    public mutating func truncatedNormal(std: Float, bound: Float = 2) -> Float {
        while true { let v = normal() * std; if abs(v) <= bound { return v } }
    }
}
