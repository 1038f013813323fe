import Foundation
import WoofCore
import WoofData
import WoofIO
import WoofModel
import WoofTrain

/// One row of `attention_faithfulness.csv`: the deletion curve of one map under one model.
public struct FaithfulnessRow: Equatable {
    public var model: String
    /// `random`, `cls`, `cls_no_artifacts`, `rollout`, `gt`.
    public var map: String
    /// `most_relevant_first` (lower area = more faithful) or `least_relevant_first` (higher = better).
    public var order: String
    public var images: Int
    /// Mean true-class probability (ten-way softmax) and accuracy after each 10% step, from
    /// the intact image to all patches deleted.
    public var probability, accuracy: [Double]
    public var areaProbability: Double { Faithfulness.area(probability) }
    public var areaAccuracy: Double { Faithfulness.area(accuracy) }
}

/// The deletion test of `woof-dist attention` over a seeded choice of val images.
enum AttentionFaithfulness {
    static let steps = 10
    static let fileName = "attention_faithfulness.csv"
    static let maps = ["random", "cls", "cls_no_artifacts", "rollout", "gt"]
    static let orders = ["most_relevant_first", "least_relevant_first"]

    /// `count` val sample indices, a seeded shuffle of each class taken round-robin, so
    /// every class is represented equally (as far as it has images); sorted.
    static func selection(_ val: ImageFolder, count: Int, seed: UInt64) -> [Int] {
        var byClass = [[Int]](repeating: [], count: val.classes.count)
        for (i, s) in val.samples.enumerated() { byClass[s.label].append(i) }
        for c in byClass.indices {
            var rng = SplitMix64(keys: seed, UInt64(c))
            byClass[c].shuffle(using: &rng)
        }
        var chosen: [Int] = [], round = 0
        while chosen.count < min(count, val.samples.count) {
            for c in byClass.indices where round < byClass[c].count && chosen.count < count { chosen.append(byClass[c][round]) }
            round += 1
        }
        return chosen.sorted()
    }

    /// The ten-way true-class probability and correctness of each image of a batch.
    static func score(_ model: VisionTransformer, images: UnsafePointer<Float>, count: Int, labels: [Int],
                      classes: Int, tape: Tape) -> [Faithfulness.Score] {
        let c = model.config
        tape.reset()
        tape.isRecording = false
        let logits = model(tape, tape.input(images, shape: [count, c.inChans, c.imgSize, c.imgSize]))
        let rows = (0..<count).map { i -> [Float] in
            let row = UnsafeBufferPointer(start: logits.data + i * c.numClasses, count: c.numClasses)
            return (0..<classes).map { row[AttentionReport.outputIndex($0, model: model, classes: classes)] }
        }
        tape.reset()
        return zip(rows, labels).map { z, y in
            let m = z.max()!
            let e = z.map { Double(exp($0 - m)) }
            return (e[y] / e.reduce(0, +), z.indices.max { z[$0] < z[$1] }! == y)
        }
    }

    /// The patch orders of one image's maps: map name → (most first, least first).
    static func patchOrders(_ e: ExplanationMaps, image: Int, seed: UInt64, normThreshold: Double?) -> [String: [[Int]]] {
        let n = e.cls.count
        var rng = SplitMix64(keys: seed, UInt64(image), 0xFA17)
        let random = Faithfulness.randomOrder(n, seed: rng.next())
        var out: [String: [[Int]]] = ["random": [random, random.reversed()]]
        var named: [(String, [Float])] = [("cls", e.cls), ("rollout", e.rollout), ("gt", e.relevance!)]
        if let t = normThreshold {
            named.append(("cls_no_artifacts", AttentionArtifacts.excluding(e.cls, AttentionArtifacts.mask(e.patchNorms, threshold: t))))
        }
        for (name, map) in named {
            out[name] = [Faithfulness.ranking(map, mostRelevantFirst: true), Faithfulness.ranking(map, mostRelevantFirst: false)]
        }
        return out
    }

    /// Runs the deletion test for every unique model over `count` val images.
    /// `normThresholds[model]` (from the change metrics' pass) enables `cls_no_artifacts`.
    static func run(_ o: AttentionOptions, val: ImageFolder, models loaded: [VisionTransformer], entries: [AttentionReport.ModelEntry],
                    normThresholds: [Double]?, tape: Tape, log: (String) -> Void) throws -> [FaithfulnessRow] {
        let chosen = Set(selection(val, count: o.faithfulnessImages, seed: o.faithfulnessSeed))
        let subset = val.filtered { chosen.contains($0) }
        let cfg = loaded[0].config
        let g = Faithfulness.Geometry(channels: cfg.inChans, side: cfg.imgSize, patch: cfg.patchSize)
        let names = maps.filter { $0 != "cls_no_artifacts" || normThresholds != nil }
        var tallies = [[Faithfulness.Tally]](repeating: [Faithfulness.Tally](repeating: .init(steps: steps), count: names.count * 2),
                                             count: loaded.count)
        let loader = BatchLoader(dataset: subset, batchSize: o.batchSize, mode: .eval, workers: 2, prefetch: 2)
        let progress = Progress("deletion test", total: subset.count * loaded.count)
        progress.enabled = o.showProgress
        loader.startEpoch(0)
        var seen = 0
        while let batch = try loader.next() {
            let labels = (0..<batch.count).map { Int(batch.labels[$0]) }
            for (m, model) in loaded.enumerated() {
                let targets = labels.map { AttentionReport.outputIndex($0, model: model, classes: val.classes.count) }
                let maps = ClassExplainer(model: model).explain(images: batch.images, count: batch.count, targets: targets, tape: tape)
                let perImage = maps.enumerated().map { patchOrders($1, image: seen + $0, seed: o.faithfulnessSeed,
                                                               normThreshold: normThresholds?[m]) }
                let all = names.flatMap { name in (0..<2).map { d in perImage.map { $0[name]![d] } } }
                let batchTallies = Faithfulness.curves(images: batch.images, count: batch.count, geometry: g, orders: all, steps: steps) {
                    score(model, images: $0, count: $1, labels: labels, classes: val.classes.count, tape: tape)
                }
                for k in batchTallies.indices { tallies[m][k].merge(batchTallies[k]) }
                progress.advance(by: batch.count)
            }
            seen += batch.count
        }
        progress.finish()
        loader.stop()
        var rows: [FaithfulnessRow] = []
        for e in entries {
            for (j, name) in names.enumerated() {
                for d in 0..<2 {
                    let t = tallies[e.unique][j * 2 + d]
                    rows.append(.init(model: e.slug, map: name, order: orders[d], images: t.images,
                                      probability: t.meanProbability, accuracy: t.accuracy))
                }
            }
        }
        log("deletion test: \(subset.count) val images × \(loaded.count) models × \(names.count) maps, both orders")
        return rows
    }

    /// The rows of `attention_faithfulness.csv`: areas, then the curves.
    static func table(_ rows: [FaithfulnessRow]) -> CSVTable {
        let k = rows.first?.probability.count ?? steps + 1
        var t = CSVTable(header: ["model", "map", "order", "images", "auc_probability", "auc_accuracy"]
                         + (0..<k).map { "p_\($0 * 10)" } + (0..<k).map { "acc_\($0 * 10)" })
        for r in rows {
            t.append([r.model, r.map, r.order, "\(r.images)", String(format: "%.6f", r.areaProbability), String(format: "%.6f", r.areaAccuracy)]
                     + (r.probability + r.accuracy).map { String(format: "%.6f", $0) })
        }
        return t
    }

    /// The printed summary: areas under the probability curves.
    static func text(_ rows: [FaithfulnessRow]) -> String {
        guard let n = rows.first?.images else { return "" }
        var s = "Deletion test, \(n) val images: area under the true-class probability curve "
            + "(most relevant first: lower = more faithful; least relevant first: higher = better)\n"
        s += "model          map                most first  least first\n"
        var seen = Set<String>()
        for r in rows where seen.insert(r.model + "/" + r.map).inserted {
            let least = rows.first { $0.model == r.model && $0.map == r.map && $0.order == orders[1] }
            s += r.model.padding(toLength: 15, withPad: " ", startingAt: 0) + r.map.padding(toLength: 19, withPad: " ", startingAt: 0)
                + String(format: "%-12.4f%.4f\n", r.areaProbability, least?.areaProbability ?? .nan)
        }
        return s
    }
}
