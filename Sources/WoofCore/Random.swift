import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014), the project's one random generator: every random
/// choice — initialisation, shuffling, augmentation, synthetic data — is reproducible from a
/// seed. Streams are derived from keys such as (seed, epoch, index), so results do not
/// depend on threads.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// A generator seeded directly (model initialisation, synthetic data).
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// A generator for a sub-stream, e.g. (seed, epoch, index), independent of call order.
    /// (An older derivation than `init(keys:)`, kept because the model's initial weights
    /// depend on it.)
    public init(seed: UInt64, stream: UInt64...) {
        var s = seed
        for x in stream { var g = SplitMix64(seed: s ^ (x &* 0xD1B5_4A32_D192_ED03)); s = g.next() }
        self.init(state: s)
    }

    /// A generator whose stream is a hash of the keys (order matters).
    public init(keys: UInt64...) { self.init(keys: keys) }

    public init(keys: [UInt64]) {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for k in keys { h = SplitMix64.mix((h &+ 0x9E37_79B9_7F4A_7C15) ^ k) }
        state = h
    }

    /// The SplitMix64 output function (a bijective 64-bit finaliser).
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * uniform()
    }

    /// Uniform integer in 0..<n (n > 0), by the multiply-high method.
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        return Int(UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// Uniform in [0, 1) with 24 random bits, as a Float.
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }
    public mutating func uniformFloat(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniformFloat() }

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
