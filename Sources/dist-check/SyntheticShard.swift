import Foundation
import WoofCore
import WoofModel
import WoofTrain

/// A deterministic synthetic training set in memory, sharded like the real loader: rank r
/// of n takes the global batch's elements r, r+n, r+2n, …, so the union over ranks of one
/// step's batches is exactly the single-process batch.
final class SyntheticShard: BatchSource {
    let perImage: Int, globalBatch: Int, rank: Int, ranks: Int, count: Int, seed: UInt64
    let buffer: UnsafeMutablePointer<Float>
    var cursor = 0
    var epochOrder: [Int] = []

    init(config: ViTConfig, count: Int, globalBatch: Int, rank: Int, ranks: Int, seed: UInt64 = 11) {
        perImage = config.inChans * config.imgSize * config.imgSize
        self.globalBatch = globalBatch; self.rank = rank; self.ranks = ranks; self.count = count; self.seed = seed
        buffer = .allocate(capacity: (globalBatch / ranks) * perImage)
    }
    deinit { buffer.deallocate() }

    var batchesPerEpoch: Int { count / globalBatch }
    var skippedImages: Int { 0 }

    func startEpoch(_ epoch: Int, fromBatch: Int) {
        var rng = SplitMix64(seed: seed, stream: UInt64(epoch))
        epochOrder = Array(0..<count).shuffled(using: &rng)
        cursor = fromBatch
    }

    /// Image `i`: noise plus a class-dependent offset, label i mod 10.
    func fill(_ dst: UnsafeMutablePointer<Float>, index i: Int) -> Int32 {
        var rng = SplitMix64(seed: seed, stream: 0xDA7A, UInt64(i))
        let label = i % 10
        for c in 0..<perImage { dst[c] = rng.normal() * 0.5 + (c % 10 == label ? 1 : 0) }
        return Int32(label)
    }

    func nextBatch() throws -> (images: UnsafeMutablePointer<Float>, labels: [Int32])? {
        guard cursor < batchesPerEpoch else { return nil }
        let local = globalBatch / ranks
        var labels: [Int32] = []
        for k in 0..<local {
            let i = epochOrder[cursor * globalBatch + rank + k * ranks]
            labels.append(fill(buffer + k * perImage, index: i))
        }
        cursor += 1
        return (buffer, labels)
    }
}

