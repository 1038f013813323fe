import Foundation
import WoofCore

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
