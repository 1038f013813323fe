import XCTest
import WoofTestSupport
import WoofCore
import WoofModel
import WoofData
import WoofViz
import WoofTrain
@testable import WoofAnalysis
import WoofIO

final class AttentionTests: XCTestCase {
    static let weights = "weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"

    /// A random row-stochastic attention tensor `heads × t × t` (softmax of normals).
    func randomAttention(heads: Int, tokens t: Int, rng: inout SplitMix64) -> [Float] {
        var a = [Float](repeating: 0, count: heads * t * t)
        for r in 0..<(heads * t) {
            let logits = (0..<t).map { _ in 2 * rng.normal() }
            let m = logits.max()!
            let e = logits.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<t { a[r * t + j] = e[j] / s }
        }
        return a
    }

    /// The bright corners of the original ViT's maps are its four corner patch tokens: on
    /// two real images and on a blank one (every pixel the mean) exactly those patches enter
    /// the last block with a norm far above the median, and they take a large share of the
    /// class token's attention — a property of the positions, not of the picture.
    func testTheHighNormPatchesOfThePretrainedViTAreItsFourCorners() throws {
        let model = try modelForEvaluation(weights: sharedPath(Self.weights))
        let io = try SafeTensorsFile(path: sharedPath("golden/vit_tiny_pretrained_io.safetensors"))
        let per = 3 * 224 * 224
        let images = Array(try io.tensor("input").data[0..<(2 * per)]) + [Float](repeating: 0, count: per)
        let maps = images.withUnsafeBufferPointer {
            ClassExplainer(model: model).explain(images: $0.baseAddress!, count: 3, targets: nil, tape: Tape(), rollout: false)
        }
        for (i, m) in maps.enumerated() {
            let median = m.patchNorms.sorted()[98]
            let flagged = AttentionArtifacts.mask(m.patchNorms, threshold: Double(AttentionArtifacts.defaultFactor) * Double(median))
            XCTAssertEqual(flagged.indices.filter { flagged[$0] }, [0, 13, 182, 195], "image \(i): norms \(m.patchNorms)")
            XCTAssertGreaterThan([0, 13, 182, 195].map { m.patchNorms[$0] }.min()!, 10 * median, "image \(i)")
            XCTAssertGreaterThan([0, 13, 182, 195].reduce(Float(0)) { $0 + m.cls[$1] }, 0.05, "image \(i): CLS share")
        }
    }

    /// The last block's attention of the pretrained ViT on the golden input equals timm's
    /// `attn.blocks.11`, and so do the CLS→patch maps derived from it; the rollout over all
    /// twelve blocks is row-stochastic and its CLS row matches the cheap vector form.
    func testPretrainedLastBlockAttentionMatchesTimm() throws {
        let model = try modelForEvaluation(weights: sharedPath(Self.weights))
        let io = try SafeTensorsFile(path: sharedPath("golden/vit_tiny_pretrained_io.safetensors"))
        let input = try io.tensor("input"), ref = try io.tensor("attn.blocks.11").data
        let n = 2  // two of the eight golden images keep the test quick
        let per = 3 * 224 * 224, c = model.config
        let tape = Tape(); tape.isRecording = false
        let x = Tensor(Array(input.data[0..<(n * per)]), shape: [n, 3, 224, 224])
        let (_, attn) = model.forward(tape, images: x, captureAttention: Set(0..<c.depth))
        let hTT = c.numHeads * c.tokens * c.tokens
        let last = attn[c.depth - 1]!.array
        XCTAssertLessThan(relativeError(last, Array(ref[0..<(n * hTT)])), 1e-4, "attn.blocks.11")
        for i in 0..<n {
            let ours = Array(last[(i * hTT)..<((i + 1) * hTT)]), theirs = Array(ref[(i * hTT)..<((i + 1) * hTT)])
            let a = AttentionAnalysis.clsToPatch(ours, heads: 3, tokens: 197)
            let b = AttentionAnalysis.clsToPatch(theirs, heads: 3, tokens: 197)
            for h in 0..<3 {
                XCTAssertEqual(a[h].count, 196)
                XCTAssertEqual(a[h].reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertLessThan(relativeError(a[h], b[h]), 1e-4, "image \(i) head \(h)")
            }
            let m = AttentionAnalysis.clsToPatchMean(ours, heads: 3, tokens: 197)
            XCTAssertLessThan(relativeError(m, AttentionAnalysis.clsToPatchMean(theirs, heads: 3, tokens: 197)), 1e-4)
            XCTAssertEqual(m.reduce(0, +), 1, accuracy: 1e-5)
        }
        // Rollout of image 0 over the twelve real blocks.
        let blocks = (0..<c.depth).map { Array(attn[$0]!.array[0..<hTT]) }
        let r = AttentionAnalysis.rollout(blocks, heads: 3, tokens: 197)
        for i in 0..<197 {
            XCTAssertEqual(r[(i * 197)..<((i + 1) * 197)].reduce(0.0) { $0 + Double($1) }, 1, accuracy: 1e-5, "row \(i)")
        }
        let cls = AttentionAnalysis.rolloutCLSMap(blocks, heads: 3, tokens: 197)
        XCTAssertLessThan(relativeError(cls, AttentionAnalysis.normalizedDistribution(Array(r[1..<197]))), 1e-5)
    }

    /// Rollout rows sum to 1 on random attention, for one and several blocks, and row 0
    /// agrees with `rolloutCLSMap`; with one block it is (mean_h A + I) / 2.
    func testRolloutIsRowStochastic() {
        var rng = SplitMix64(seed: 7)
        let heads = 3, t = 17
        for depth in [1, 2, 5] {
            let blocks = (0..<depth).map { _ in randomAttention(heads: heads, tokens: t, rng: &rng) }
            let r = AttentionAnalysis.rollout(blocks, heads: heads, tokens: t)
            for i in 0..<t {
                XCTAssertEqual(r[(i * t)..<((i + 1) * t)].reduce(0.0) { $0 + Double($1) }, 1, accuracy: 1e-6)
                XCTAssertTrue(r[(i * t)..<((i + 1) * t)].allSatisfy { $0 >= 0 })
            }
            let cls = AttentionAnalysis.rolloutCLSMap(blocks, heads: heads, tokens: t)
            XCTAssertLessThan(relativeError(cls, AttentionAnalysis.normalizedDistribution(Array(r[1..<t]))), 1e-6)
            if depth == 1 {
                let a = blocks[0]
                for i in 0..<t { for j in 0..<t {
                    let mean = (0..<heads).reduce(Float(0)) { $0 + a[$1 * t * t + i * t + j] } / Float(heads)
                    XCTAssertEqual(r[i * t + j], (mean + (i == j ? 1 : 0)) / 2, accuracy: 1e-6)
                } }
            }
        }
    }

    /// The DINO mask keeps at least the requested mass with the fewest patches possible
    /// (brute force over all subsets of small random distributions, ties included).
    func testThresholdMaskIsSmallestSetWithEnoughMass() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<300 {
            let n = 1 + trial % 10
            let p: [Float] = (0..<n).map { _ in
                trial % 3 == 0 ? Float(1 + Int(rng.uniformFloat(0, 3))) : rng.uniformFloat(0, 1) * rng.uniformFloat(0, 1)
            }
            let threshold = trial % 50 == 0 ? 1 : rng.uniformFloat(0.01, 0.99)
            let (mask, mass) = AttentionAnalysis.thresholdMask(p, threshold: threshold)
            let q = AttentionAnalysis.normalizedDistribution(p)
            let kept = mask.indices.filter { mask[$0] }
            let keptMass = kept.reduce(0.0) { $0 + Double(q[$1]) }
            XCTAssertEqual(mass, keptMass, accuracy: 1e-9)
            XCTAssertGreaterThanOrEqual(mass + 1e-6, Double(threshold), "trial \(trial)")
            // Brute force: the smallest subset size reaching the threshold.
            var best = n
            for bits in 0..<(1 << n) {
                let size = bits.nonzeroBitCount
                if size >= best { continue }
                var m = 0.0
                for i in 0..<n where bits & (1 << i) != 0 { m += Double(q[i]) }
                if m >= Double(threshold) - 1e-6 { best = size }
            }
            XCTAssertEqual(kept.count, best, "trial \(trial): p \(p), threshold \(threshold)")
        }
        // DINO's default on a peaked map: the peak alone holds 70%.
        let (m, mass) = AttentionAnalysis.thresholdMask([0.7, 0.1, 0.1, 0.1], threshold: 0.6)
        XCTAssertEqual(m, [true, false, false, false])
        XCTAssertEqual(mass, 0.7, accuracy: 1e-6)
    }

    /// JS is 0 for equal distributions, symmetric, at most ln 2 (reached by disjoint
    /// supports); IoU of identical masks is 1.
    func testJensenShannonAndIoU() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<50 {
            let p = AttentionAnalysis.normalizedDistribution((0..<196).map { _ in rng.uniformFloat(0, 1) })
            let q = AttentionAnalysis.normalizedDistribution((0..<196).map { _ in rng.uniformFloat(0, 1) * rng.uniformFloat(0, 1) })
            XCTAssertEqual(AttentionAnalysis.jensenShannon(p, p), 0, accuracy: 1e-12)
            let pq = AttentionAnalysis.jensenShannon(p, q), qp = AttentionAnalysis.jensenShannon(q, p)
            XCTAssertEqual(pq, qp, accuracy: 1e-12)
            XCTAssertGreaterThan(pq, 0)
            XCTAssertLessThanOrEqual(pq, log(2.0))
            let (mp, _) = AttentionAnalysis.thresholdMask(p)
            XCTAssertEqual(AttentionAnalysis.iou(mp, mp), 1)
        }
        XCTAssertEqual(AttentionAnalysis.jensenShannon([1, 0, 0, 0], [0, 0, 0.5, 0.5]), log(2.0), accuracy: 1e-9)
        XCTAssertEqual(AttentionAnalysis.iou([true, true, false, false], [false, true, true, false]), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(AttentionAnalysis.iou([false, false], [false, false]), 1)
        XCTAssertEqual(AttentionAnalysis.entropy([Float](repeating: 1, count: 196)), log(196.0), accuracy: 1e-5)
    }

    /// The report on two val images with the pretrained model as both A and B: PNGs that
    /// decode back with the reported sizes, the crop is the eval transform's 224 crop, and
    /// the identical pair has JS 0 and IoU 1 everywhere.
    func testReportOnTwoImagesWithIdenticalModels() throws {
        let data = sharedPath("data/imagewoof2-256")
        let out = NSTemporaryDirectory() + "woof-attn-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let images = [data + "/val/n02086240/ILSVRC2012_val_00002701.JPEG",
                      data + "/val/n02099601/ILSVRC2012_val_00001112.JPEG"]
        var o = AttentionOptions()
        o.models = ["pretrained", "pretrained"]
        o.weights = sharedPath(Self.weights)
        o.images = images
        o.data = data
        o.out = out
        o.metricImages = 1
        o.faithfulnessImages = 2
        o.showProgress = false
        let r = try AttentionReport.run(o, log: { _ in })

        // grid.json describes every file, and the files are images without text.
        let grid = try AttentionGrid.read(dir: out, missing: "test")
        XCTAssertEqual(grid, r.grid)
        XCTAssertEqual(grid.models.map(\.slug), ["pretrained", "pretrained_2"])
        XCTAssertEqual(grid.images.map(\.wnid), ["n02086240", "n02099601"])
        XCTAssertEqual(grid.images.map(\.className), ["Shih-Tzu", "golden retr."])
        XCTAssertEqual(grid.panelCaptions, ["head 0", "head 1", "head 2", "mean of heads", "mask: 60% of the mass", "rollout",
                                            "relevance for the true class (Chefer et al.)", "gradient × attention of the last block, true class",
                                            "relevance for the predicted class (Chefer et al.)"])
        for im in grid.images {
            XCTAssertEqual(try decodeJPEG(path: out + "/" + im.crop).width, 224)
            XCTAssertEqual(im.cells.count, 2)
            XCTAssertEqual(im.cells[0].predictedClass, im.cells[1].predictedClass, "identical models")
            XCTAssertEqual(im.cells[0].correct, im.cells[0].predictedClass == im.wnid)
            for c in im.cells {
                XCTAssertEqual(try decodeJPEG(path: out + "/" + c.map).height, 224)
                let panels = try RGBCanvas.readPNG(path: out + "/" + c.panels)
                XCTAssertEqual(panels.width, 9 * 224 + 10 * AttentionReport.padding, "3 heads, mean, mask, rollout, gt, gt_last, pred")
                XCTAssertEqual(Set(c.views?.keys ?? [:].keys), ["rollout", "gt", "gt_last", "pred"])
                for f in c.views?.values ?? [:].values { XCTAssertEqual(try decodeJPEG(path: out + "/" + f).width, 224) }
                XCTAssertEqual(panels.height, 224 + 2 * AttentionReport.padding)
                XCTAssertTrue((1...196).contains(c.maskPatches))
                XCTAssertGreaterThanOrEqual(c.maskMass, 0.6)
            }
        }
        XCTAssertTrue(grid.images[1].cells[1].panels.hasSuffix("_pretrained_2_panels.png"))

        // The crop drawn is the model's 224 crop (Resize 248 bicubic + CenterCrop 224).
        let img = try decodeJPEG(path: images[1])
        let (rw, rh) = ImageTransform.evalResizeSize(width: img.width, height: img.height)
        let resized = resizeBicubic(img, width: rw, height: rh)
        let expected = crop(resized, left: ImageTransform.centerCropOffset(size: rw, crop: 224),
                            top: ImageTransform.centerCropOffset(size: rh, crop: 224), width: 224, height: 224)
        var chw = [Float](repeating: 0, count: 3 * 224 * 224)
        chw.withUnsafeMutableBufferPointer { evalTransform(img, into: $0.baseAddress!) }
        let drawn = chw.withUnsafeBufferPointer { AttentionReport.cropCanvas($0.baseAddress!, side: 224) }
        XCTAssertEqual(drawn.pixels, expected.pixels)

        // One pair × (3 heads + mean) × (10 classes + all); identical models: JS 0, IoU 1.
        XCTAssertEqual(r.rows.count, 4 * 11)
        for row in r.rows {
            XCTAssertEqual(row.js, 0, accuracy: 1e-12, "\(row)")
            XCTAssertEqual(row.iou, 1, "\(row)")
        }
        let all = r.rows.filter { $0.wnid == "all" }
        XCTAssertEqual(all.map(\.images), [10, 10, 10, 10])
        let csv = try String(contentsOfFile: r.csvPath, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "model_a,model_b,head,class,class_name,images,js_mean,iou_mean")
        XCTAssertEqual(csv.count, 1 + 44)
        XCTAssertTrue(csv.contains("pretrained,pretrained_2,mean,all,all,10,0.000000,1.000000"), "\(csv.suffix(2))")
        XCTAssertTrue(r.table.contains("pretrained_2"))

        // The deletion test: 2 models × 5 maps × 2 orders; the intact and fully deleted ends
        // are shared by every map, the identical models agree, and the file has every row.
        XCTAssertEqual(r.faithfulness.count, 20)
        for f in r.faithfulness {
            XCTAssertEqual(f.images, 2)
            XCTAssertEqual(f.probability.count, 11)
            XCTAssertEqual(f.probability.first, r.faithfulness[0].probability.first)
            XCTAssertEqual(f.probability.last, r.faithfulness[0].probability.last)
            XCTAssertTrue(f.accuracy.allSatisfy { (0...1).contains($0) })
        }
        XCTAssertEqual(r.faithfulness.filter { $0.model == "pretrained" }.map(\.probability),
                       r.faithfulness.filter { $0.model == "pretrained_2" }.map(\.probability))
        let faith = try CSVTable.read(out + "/attention_faithfulness.csv")
        XCTAssertEqual(faith.rows.count, 20)
        XCTAssertEqual(r.artifacts.map(\.model), ["pretrained", "pretrained_2"])
        XCTAssertEqual(r.artifactChange.first?.jsExcluding ?? 1, 0, accuracy: 1e-12)
    }

    /// A missing trained model fails with the command that produces it.
    func testMissingModelNamesTheMakeTarget() {
        var o = AttentionOptions()
        o.models = ["pretrained", "/nonexistent/full_model", "/nonexistent/lora_model"]
        o.weights = sharedPath(Self.weights)
        XCTAssertThrowsError(try AttentionReport.run(o, log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("make full"), "\(e)")
        }
        o.models = ["pretrained", "/nonexistent/lora_model"]
        XCTAssertThrowsError(try AttentionReport.run(o, log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("make lora"), "\(e)")
        }
    }

    /// The CSVs go through `CSVTable`: a class name holding a comma is quoted and reads back whole.
    func testCSVsQuoteAClassNameWithAComma() throws {
        let change = AttentionChangeRow(modelA: "pretrained", modelB: "lora", head: "mean", wnid: "n1",
                                        className: "terrier, Border", images: 3, js: 0.5, iou: 0.25)
        let text = AttentionReport.changeTable([change]).text
        XCTAssertEqual(text, "model_a,model_b,head,class,class_name,images,js_mean,iou_mean\n"
                       + "pretrained,lora,mean,n1,\"terrier, Border\",3,0.500000,0.250000\n")
        XCTAssertEqual(try CSVTable(text: text, path: "attention_change.csv").string(0, "class_name"), "terrier, Border")
        let stats = AttentionStatsRow(model: "lora", head: "0", wnid: "n1", className: "terrier, Border", images: 3,
                                      maskPatches: 7.25, entropy: 2.5, accuracy: 1)
        let stext = AttentionReport.statsTable([stats]).text
        XCTAssertEqual(stext, "model,head,class,class_name,images,mask_patches_mean,entropy_mean,accuracy\n"
                       + "lora,0,n1,\"terrier, Border\",3,7.250,2.500000,1.000000\n")
    }
}
