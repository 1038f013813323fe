import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator. Streams are
/// derived from keys such as (seed, epoch, index) so results do not depend on threads.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

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
}

/// Stream tags, so different uses of the same (seed, epoch, …) never share a stream.
enum RandomDomain: UInt64 {
    case permutation = 0x5045_524D   // "PERM"
    case trainTransform = 0x5452_4E53 // "TRNS"
}

/// The epoch's order of `count` samples: a Fisher–Yates shuffle keyed by (seed, epoch).
/// Deterministic: the same (count, seed, epoch) always gives the same permutation.
public func epochPermutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var order = Array(0..<count)
    var rng = SplitMix64(keys: RandomDomain.permutation.rawValue, seed, UInt64(bitPattern: Int64(epoch)))
    if count > 1 {
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = rng.int(below: i + 1)
            if i != j { order.swapAt(i, j) }
        }
    }
    return order
}

/// Rank `rank`'s share of `items` among `n` ranks: every n-th element starting at `rank`.
/// The shards of ranks 0..<n are disjoint and together cover `items`.
public func shard<T>(_ items: [T], rank: Int, of n: Int) -> [T] {
    precondition(n > 0 && rank >= 0 && rank < n, "rank \(rank) is not in 0..<\(n)")
    return Array(stride(from: rank, to: items.count, by: n).map { items[$0] })
}
