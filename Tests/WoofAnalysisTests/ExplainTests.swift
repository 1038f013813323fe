import XCTest
import WoofTestSupport
import WoofCore
import WoofModel
@testable import WoofAnalysis
import WoofIO

/// The class-specific attention maps (Chefer et al. 2021), the deletion test and the
/// high-norm patch analysis, each against an independent computation.
final class ExplainTests: XCTestCase {
    /// A tiny frozen ViT whose weights are large enough that attention is far from uniform.
    func tinyModel() throws -> VisionTransformer {
        let m = try VisionTransformer(config: ViTConfig(imgSize: 32, patchSize: 8, embedDim: 24, depth: 2, numHeads: 3, numClasses: 5),
                                      mode: .frozen, seed: 11)
        for e in m.params.entries where e.name.hasSuffix("weight") && !e.name.contains("norm") {
            let t = m.params[e.name]
            for i in 0..<t.count { t.data[i] *= 15 }
        }
        return m
    }

    func randomImages(_ n: Int, side: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(n * 3 * side * side)).map { _ in rng.normal() }
    }

    /// ∂y_c/∂A that the backward pass keeps equals central differences of the class logit
    /// with one attention probability perturbed in the forward (through `attentionProbe`),
    /// for two images with different target classes and both blocks.
    func testAttentionGradientOfAClassLogitMatchesFiniteDifferences() throws {
        let model = try tinyModel()
        let c = model.config, t = c.tokens, heads = c.numHeads
        let images = randomImages(2, side: c.imgSize, seed: 5)
        let targets = [3, 1]
        let tape = Tape()
        tape.keepsAttentionGradients = true
        let x = images.withUnsafeBufferPointer { tape.input($0.baseAddress!, shape: [2, 3, c.imgSize, c.imgSize], requiresGrad: true) }
        let trace = model.trace(tape, images: x, attention: [0, 1])
        var seed = [Float](repeating: 0, count: 2 * c.numClasses)
        for (i, k) in targets.enumerated() { seed[i * c.numClasses + k] = 1 }
        tape.backward(from: trace.logits, seed: seed)
        let grads = [0, 1].map { trace.attention[$0]!.gradArray! }
        XCTAssertNil(model.params["blocks.0.attn.qkv.weight"].grad, "a frozen model gets no parameter gradient")

        /// The target logit of `image` with `delta` added to one probability of `block`.
        func logit(image: Int, block: Int, index: Int, delta: Float) -> Double {
            let probe = Tape()
            probe.isRecording = false
            var calls = 0
            probe.attentionProbe = { probs in
                if calls == block { probs.data[index] += delta }
                calls += 1
            }
            let xi = images.withUnsafeBufferPointer { probe.input($0.baseAddress!, shape: [2, 3, c.imgSize, c.imgSize]) }
            let logits = model(probe, xi)
            return Double(logits.data[image * c.numClasses + targets[image]])
        }
        var rng = SplitMix64(seed: 9)
        let eps: Float = 1e-2
        for block in 0..<2 {
            for image in 0..<2 {
                var num = 0.0, diff = 0.0
                for _ in 0..<25 {
                    let within = Int(rng.next() % UInt64(heads * t * t))
                    let index = image * heads * t * t + within
                    let numeric = (logit(image: image, block: block, index: index, delta: eps)
                                   - logit(image: image, block: block, index: index, delta: -eps)) / Double(2 * eps)
                    num += numeric * numeric
                    diff += (numeric - Double(grads[block][index])) * (numeric - Double(grads[block][index]))
                }
                XCTAssertGreaterThan(num, 1e-6, "block \(block) image \(image): the check would be vacuous")
                XCTAssertLessThan(diff.squareRoot() / num.squareRoot(), 1e-2, "block \(block) image \(image)")
            }
        }
    }

    /// One block: R = I + Ā, so the map is Ā[0, 1:], with Ā = mean over heads of (A ⊙ G)⁺ —
    /// worked by hand for T = 3 and two heads. Two blocks: row 0 of (I + Ā₂)(I + Ā₁) from
    /// full matrix products.
    func testRelevanceMatchesAHandComputation() {
        let a: [Float] = [0.5, 0.3, 0.2,  0.1, 0.8, 0.1,  0.3, 0.3, 0.4,     // head 0
                          0.2, 0.2, 0.6,  0.5, 0.25, 0.25, 0.1, 0.1, 0.8]   // head 1
        let g: [Float] = [1, 2, -1,  0, 1, 1,  3, -2, 1,
                          -1, 4, 0.5,  1, 1, -1,  2, 0, 1]
        let w = AttentionRelevance.weightedAttention(a, gradient: g, heads: 2, tokens: 3)
        // Row 0: head 0 (0.5, 0.6, 0), head 1 (0, 0.8, 0.3) → mean (0.25, 0.7, 0.15).
        XCTAssertEqual(w[0], 0.25, accuracy: 1e-6)
        XCTAssertEqual(w[1], 0.7, accuracy: 1e-6)
        XCTAssertEqual(w[2], 0.15, accuracy: 1e-6)
        let one = AttentionRelevance.relevanceMap([w], tokens: 3)
        XCTAssertEqual(one[0], 0.7, accuracy: 1e-6)
        XCTAssertEqual(one[1], 0.15, accuracy: 1e-6)
        XCTAssertEqual(AttentionRelevance.lastBlockMap(w, tokens: 3), [w[1], w[2]])

        let w2: [Float] = [0.1, 0.4, 0.2,  0.3, 0, 0.5,  0.6, 0.1, 0]
        func plusI(_ m: [Float]) -> [Double] { (0..<9).map { Double(m[$0]) + ($0 % 4 == 0 ? 1 : 0) } }
        let p1 = plusI(w), p2 = plusI(w2)
        var r = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { r[i * 3 + j] += p2[i * 3 + k] * p1[k * 3 + j] } } }
        let two = AttentionRelevance.relevanceMap([w, w2], tokens: 3)
        XCTAssertEqual(Double(two[0]), r[1], accuracy: 1e-6)
        XCTAssertEqual(Double(two[1]), r[2], accuracy: 1e-6)
    }

    /// The explainer on the tiny ViT: class maps differ between classes, the relevance of the
    /// last block alone equals gradient × attention, and the class-agnostic maps do not
    /// depend on the target.
    func testExplainerMapsDependOnTheClassOnly() throws {
        let model = try tinyModel()
        let c = model.config
        let images = randomImages(1, side: c.imgSize, seed: 8)
        let tape = Tape()
        let maps = images.withUnsafeBufferPointer { p in
            (0..<2).map { k in ClassExplainer(model: model).explain(images: p.baseAddress!, count: 1, targets: [k], tape: tape)[0] }
        }
        XCTAssertEqual(maps[0].cls, maps[1].cls)
        XCTAssertEqual(maps[0].rollout, maps[1].rollout)
        XCTAssertEqual(maps[0].logits, maps[1].logits)
        XCTAssertNotEqual(maps[0].relevance!, maps[1].relevance!)
        XCTAssertEqual(maps[0].relevance!.count, c.tokens - 1)
        XCTAssertTrue(maps[0].relevance!.allSatisfy { $0 >= 0 })
        XCTAssertEqual(maps[0].patchNorms.count, c.tokens - 1)
        XCTAssertFalse(tape.keepsAttentionGradients, "the tape is left as it was found")
    }

    /// A synthetic linear model whose true saliency is known: deleting the most salient
    /// patches first gives a monotone falling curve below random order, and least salient
    /// first stays above it.
    func testDeletionCurveOfTheTrueSaliencyIsMonotoneAndOrdered() {
        let g = Faithfulness.Geometry(channels: 1, side: 8, patch: 2)
        XCTAssertEqual((0...10).map { Faithfulness.deleted(step: $0, steps: 10, patches: 16) }, [0, 2, 3, 5, 6, 8, 10, 11, 13, 14, 16])
        XCTAssertEqual(Faithfulness.area([1, 1, 1]), 1, accuracy: 1e-12)
        XCTAssertEqual(Faithfulness.area((0...10).map { 1 - Double($0) / 10 }), 0.5, accuracy: 1e-12)
        var rng = SplitMix64(seed: 3)
        let weights = (0..<16).map { _ in Double(rng.uniformFloat(0.1, 2)) }
        let n = 12
        let images = (0..<(n * 64)).map { _ in rng.uniformFloat(0, 1) }
        func patchSum(_ img: UnsafePointer<Float>, _ p: Int) -> Double {
            let py = p / 4, px = p % 4
            var s = 0.0
            for r in 0..<2 { for c in 0..<2 { s += Double(img[(py * 2 + r) * 8 + px * 2 + c]) } }
            return s
        }
        func score(_ x: UnsafePointer<Float>, _ count: Int) -> [Faithfulness.Score] {
            (0..<count).map { i in
                let logit = (0..<16).reduce(0.0) { $0 + weights[$1] * patchSum(x + i * 64, $1) } - 8
                let p = 1 / (1 + Foundation.exp(-logit))
                return (p, p > 0.5)
            }
        }
        let tallies: [Faithfulness.Tally] = images.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            let saliency = (0..<n).map { i in (0..<16).map { Float(weights[$0] * patchSum(base + i * 64, $0)) } }
            let orders = [saliency.map { Faithfulness.ranking($0, mostRelevantFirst: true) },
                          (0..<n).map { Faithfulness.randomOrder(16, seed: UInt64($0)) },
                          saliency.map { Faithfulness.ranking($0, mostRelevantFirst: false) }]
            return Faithfulness.curves(images: base, count: n, geometry: g, orders: orders, steps: 10, score: score)
        }
        let most = tallies[0].meanProbability, random = tallies[1].meanProbability, least = tallies[2].meanProbability
        for k in 1..<most.count { XCTAssertLessThanOrEqual(most[k], most[k - 1] + 1e-12, "step \(k): \(most)") }
        XCTAssertEqual(most.first!, least.first!)
        XCTAssertEqual(most.last!, least.last!)
        XCTAssertLessThan(Faithfulness.area(most), Faithfulness.area(random))
        XCTAssertLessThan(Faithfulness.area(random), Faithfulness.area(least))
        XCTAssertEqual(tallies[0].images, n)
    }

    /// `erase` zeroes exactly the chosen patches in every channel.
    func testEraseZeroesOnlyThePatches() {
        let g = Faithfulness.Geometry(channels: 2, side: 4, patch: 2)
        var img = [Float](repeating: 1, count: g.floatsPerImage)
        img.withUnsafeMutableBufferPointer { Faithfulness.erase($0.baseAddress!, patches: [3], geometry: g) }
        for ch in 0..<2 { for y in 0..<4 { for x in 0..<4 {
            XCTAssertEqual(img[(ch * 4 + y) * 4 + x], y >= 2 && x >= 2 ? 0 : 1, "channel \(ch) (\(y), \(x))")
        } } }
        XCTAssertEqual(Set(Faithfulness.randomOrder(16, seed: 1)), Set(0..<16))
        XCTAssertEqual(Faithfulness.ranking([0.1, 0.5, 0.5, 0], mostRelevantFirst: true), [1, 2, 0, 3])
        XCTAssertEqual(Faithfulness.ranking([0.1, 0.5, 0.5, 0], mostRelevantFirst: false), [3, 0, 1, 2])
    }

    /// High-norm patches: one outlier in a corner of each image takes its attention share;
    /// removing it changes the change metrics as computed by hand.
    func testHighNormPatchesAreFoundAndTheirShareMeasured() {
        let grid = 4
        var norms = [[Float]](repeating: [Float](repeating: 1, count: 16), count: 2)
        norms[0][0] = 10; norms[1][15] = 10
        let cls: [[Float]] = [[0.5] + [Float](repeating: 0.5 / 15, count: 15),
                              [Float](repeating: 0.3 / 15, count: 15) + [0.7]]
        let row = AttentionArtifacts.row(model: "m", cls: cls, norms: norms, grid: grid, factor: 2)
        XCTAssertEqual(row.threshold, 2)
        XCTAssertEqual(row.patchesPerImage, 1)
        XCTAssertEqual(row.imagesWithArtifacts, 1)
        XCTAssertEqual(row.clsShare, 0.6, accuracy: 1e-6)
        XCTAssertEqual(row.uniformShare, 1.0 / 16, accuracy: 1e-12)
        XCTAssertEqual(row.borderShare, 1)
        XCTAssertEqual(row.cornerShare, 1)
        // Identical maps apart from the outlier: JS > 0 with it, 0 without it.
        let a: [Float] = [0.5] + [Float](repeating: 0.5 / 15, count: 15)
        let b: [Float] = [0.2] + [Float](repeating: 0.8 / 15, count: 15)
        let mask = [true] + [Bool](repeating: false, count: 15)
        let ch = AttentionArtifacts.change("a", "b", mapsA: [a], mapsB: [b], excludedA: [mask], excludedB: [[Bool](repeating: false, count: 16)],
                                           threshold: 0.6)
        XCTAssertGreaterThan(ch.js, 0.01)
        XCTAssertEqual(ch.jsExcluding, 0, accuracy: 1e-9)
        XCTAssertEqual(ch.iouExcluding, 1)
    }
}

/// The deletion test and the class-specific maps in the paper's tables and figure.
final class ReportAttentionTests: XCTestCase {
    func testFaithfulnessTableHasEveryMapAndBothOrders() throws {
        var t = CSVTable(header: ["model", "map", "order", "images", "auc_probability", "auc_accuracy"])
        for m in ["pretrained", "lora_model"] {
            for (k, map) in ["random", "cls", "gt"].enumerated() {
                t.append([m, map, "most_relevant_first", "4", String(0.5 - 0.1 * Double(k)), "0"])
                t.append([m, map, "least_relevant_first", "4", String(0.5 + 0.1 * Double(k)), "0"])
            }
        }
        let tex = try ReportTeX.faithfulnessTable(t)
        XCTAssertTrue(tex.contains("\\multicolumn{2}{c}{original} & \\multicolumn{2}{c}{LoRA}"), tex)
        XCTAssertTrue(tex.contains("relevance (true class) & 0.300 & 0.700 & 0.300 & 0.700 \\\\"), tex)
        XCTAssertTrue(tex.contains("random order & 0.500 & 0.500"), tex)
        XCTAssertFalse(tex.contains("rollout"), "a map without rows is left out")
    }

    func testAttentionFigureWithRelevanceSpansEachModelOverItsViews() throws {
        var t = CSVTable(header: ["row", "image", "class", "model", "label", "view", "file", "prediction", "correct"])
        for row in 0..<7 {
            t.append(["\(row)", "a/b.JPEG", "beagle", "image", "image", "image", "attention/\(row)_image.jpg", "", ""])
            for m in ["pretrained", "lora_model"] {
                for v in ["cls", "gt"] { t.append(["\(row)", "a/b.JPEG", "beagle", m, m == "pretrained" ? "original ViT" : "LoRA", v, "attention/\(row)_\(m)_\(v).jpg", "beagle", "1"]) }
            }
        }
        let tex = try ReportTeX.attentionFigure(t)
        XCTAssertTrue(tex.contains("image & \\multicolumn{2}{c}{original ViT} & \\multicolumn{2}{c}{LoRA}"), tex)
        XCTAssertTrue(tex.contains(" & attention & relevance & attention & relevance"), tex)
        XCTAssertTrue(tex.contains("{ccccc}"), "one group of five columns")
        XCTAssertEqual(tex.components(separatedBy: "includegraphics").count - 1, 5 * ReportTeX.attentionRowsWithRelevance)
    }
}
