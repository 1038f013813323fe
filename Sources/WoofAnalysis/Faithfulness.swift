import Foundation
import WoofCore

/// How much a patch map explains a decision, by deleting patches in the map's order
/// (Samek et al. 2017; Chefer et al. 2021's perturbation test): at each step another 1/`steps`
/// of the patches is filled with the normalised mean (0) and the true class's probability
/// and the accuracy are recorded. Most relevant first, a faithful map makes the curve fall
/// fast (small area); least relevant first, it keeps the curve high (large area).
public enum Faithfulness {
    /// The patch geometry of a CHW image.
    public struct Geometry: Equatable {
        public var channels, side, patch: Int
        public init(channels: Int, side: Int, patch: Int) { self.channels = channels; self.side = side; self.patch = patch }
        public var grid: Int { side / patch }
        public var patches: Int { grid * grid }
        public var floatsPerImage: Int { channels * side * side }
    }

    /// The score of each image of a batch: the true class's probability and whether the
    /// prediction is right.
    public typealias Score = (probability: Double, correct: Bool)

    /// Sums over images of each step's score for one deletion order.
    public struct Tally: Equatable {
        public var probability: [Double]
        public var correct: [Int]
        public var images = 0
        public init(steps: Int) { probability = [Double](repeating: 0, count: steps + 1); correct = [Int](repeating: 0, count: steps + 1) }

        public var meanProbability: [Double] { probability.map { $0 / Double(max(images, 1)) } }
        public var accuracy: [Double] { correct.map { Double($0) / Double(max(images, 1)) } }
    }

    /// Patches deleted after step `k` of `steps`: round(k·n/steps).
    public static func deleted(step k: Int, steps: Int, patches n: Int) -> Int {
        Int((Double(k * n) / Double(steps)).rounded())
    }

    /// Patch indices by decreasing (or increasing) map value; ties in index order.
    public static func ranking(_ map: [Float], mostRelevantFirst: Bool) -> [Int] {
        map.indices.sorted { a, b in
            if map[a] != map[b] { return mostRelevantFirst ? map[a] > map[b] : map[a] < map[b] }
            return a < b
        }
    }

    /// A seeded random order of `n` patches (Fisher–Yates).
    public static func randomOrder(_ n: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return order
    }

    /// Fills `patches` of a CHW image with 0 (the normalised mean).
    public static func erase<S: Sequence>(_ image: UnsafeMutablePointer<Float>, patches: S, geometry g: Geometry) where S.Element == Int {
        for p in patches {
            let py = p / g.grid, px = p % g.grid
            for ch in 0..<g.channels {
                for row in 0..<g.patch {
                    (image + (ch * g.side + py * g.patch + row) * g.side + px * g.patch).update(repeating: 0, count: g.patch)
                }
            }
        }
    }

    /// The area under a curve sampled at `steps + 1` evenly spaced deletion fractions 0…1
    /// (trapezoid rule).
    public static func area(_ ys: [Double]) -> Double {
        guard ys.count > 1 else { return ys.first ?? 0 }
        let h = 1 / Double(ys.count - 1)
        return zip(ys, ys.dropFirst()).reduce(0) { $0 + ($1.0 + $1.1) * h / 2 }
    }

    /// Deletion curves of a batch for several orders. `orders[o][i]` is image `i`'s patch
    /// order for order `o`; `score(images, count)` scores a batch. The intact (step 0) and
    /// fully erased (last step) images are the same for every order and are scored once.
    /// Returns one tally per order, for this batch.
    public static func curves(images: UnsafePointer<Float>, count n: Int, geometry g: Geometry, orders: [[[Int]]],
                              steps: Int, score: (UnsafePointer<Float>, Int) -> [Score]) -> [Tally] {
        precondition(steps > 0 && orders.allSatisfy { $0.count == n })
        let per = g.floatsPerImage
        let work = UnsafeMutablePointer<Float>.allocate(capacity: n * per)
        defer { work.deallocate() }
        var tallies = [Tally](repeating: Tally(steps: steps), count: orders.count)
        func add(_ scores: [Score], step k: Int, to o: Int) {
            for s in scores { tallies[o].probability[k] += s.probability; tallies[o].correct[k] += s.correct ? 1 : 0 }
        }
        let intact = score(images, n)
        work.update(repeating: 0, count: n * per)
        let erased = score(work, n)
        for o in orders.indices {
            tallies[o].images = n
            add(intact, step: 0, to: o)
            add(erased, step: steps, to: o)
            for k in 1..<steps {
                work.update(from: images, count: n * per)
                let d = deleted(step: k, steps: steps, patches: g.patches)
                for i in 0..<n { erase(work + i * per, patches: orders[o][i].prefix(d), geometry: g) }
                add(score(work, n), step: k, to: o)
            }
        }
        return tallies
    }
}

extension Faithfulness.Tally {
    /// Adds another batch's sums.
    public mutating func merge(_ other: Faithfulness.Tally) {
        precondition(probability.count == other.probability.count)
        for k in probability.indices { probability[k] += other.probability[k]; correct[k] += other.correct[k] }
        images += other.images
    }
}
