import XCTest
import WoofCore
import WoofData
import WoofIO
import WoofModel
import WoofTestSupport
import WoofTrain
@testable import WoofAnalysis

/// WiSE-FT interpolation and the uniform soup: endpoints and one-model soups are exact,
/// mismatched models are refused by name, and a combined model round-trips as a timm model.
final class WeightSpaceTests: XCTestCase {
    func model(_ name: String, seed: UInt64, start: String = "f00d", shapes: [String: [Int]] = ["a": [3, 4], "b": [5]],
               labels: [String] = ["x", "y"]) -> WeightSpace.Model {
        var rng = SplitMix64(seed: seed)
        let tensors = shapes.mapValues { s in NamedTensor(shape: s, data: (0..<s.reduce(1, *)).map { _ in rng.normal() }) }
        return WeightSpace.Model(name: name, tensors: tensors, labelNames: labels, start: start)
    }

    func testInterpolationEndpointsAndMidpoint() throws {
        let a = model("A", seed: 1), b = model("B", seed: 2)
        XCTAssertEqual(try WeightSpace.interpolate(from: a, to: b, alpha: 0)["a"]!.data, a.tensors["a"]!.data)
        XCTAssertEqual(try WeightSpace.interpolate(from: a, to: b, alpha: 1)["b"]!.data, b.tensors["b"]!.data)
        let mid = try WeightSpace.interpolate(from: a, to: b, alpha: 0.5)["a"]!
        for i in 0..<mid.count {
            XCTAssertEqual(mid.data[i], (a.tensors["a"]!.data[i] + b.tensors["a"]!.data[i]) / 2, accuracy: 1e-6)
        }
        XCTAssertThrowsError(try WeightSpace.interpolate(from: a, to: b, alpha: .nan))
    }

    func testSoupOfOneIsThatModelAndOfTwoIsTheMidpoint() throws {
        let a = model("A", seed: 1), b = model("B", seed: 2)
        let one = try WeightSpace.average([a])
        for k in a.tensors.keys { XCTAssertEqual(one[k]!.data, a.tensors[k]!.data, k) }
        let two = try WeightSpace.average([a, b]), mid = try WeightSpace.interpolate(from: a, to: b, alpha: 0.5)
        for k in a.tensors.keys { XCTAssertEqual(two[k]!.data, mid[k]!.data, k) }
        XCTAssertThrowsError(try WeightSpace.average([]))
    }

    func testMismatchedModelsAreRefusedByName() {
        let a = model("runs/A", seed: 1)
        let cases: [(WeightSpace.Model, String)] = [
            (model("runs/other-start", seed: 2, start: "beef"), "different pretrained files"),
            (model("runs/extra", seed: 2, shapes: ["a": [3, 4], "b": [5], "c": [1]]), "tensor 'c' is in runs/extra only"),
            (model("runs/reshaped", seed: 2, shapes: ["a": [4, 3], "b": [5]]), "'a' has shape [4, 3]"),
            (model("runs/classes", seed: 2, labels: ["x", "z"]), "their classes differ"),
        ]
        for (b, expected) in cases {
            XCTAssertThrowsError(try WeightSpace.average([a, b])) { error in
                let text = "\(error)"
                XCTAssert(text.contains(b.name) && text.contains("runs/A") && text.contains(expected), text)
            }
        }
    }

    /// Recipe 1 of the soups paper, with a score that is the mean of tensor "b": models are
    /// offered best first and one joins only if the soup's score does not drop.
    func testGreedySoupOffersBestFirstAndKeepsOnlyWhatDoesNotHurt() throws {
        func constant(_ name: String, _ v: Float) -> WeightSpace.Model {
            WeightSpace.Model(name: name, tensors: ["b": NamedTensor(shape: [2], data: [v, v])], labelNames: ["x"], start: "f00d")
        }
        // Alone: C 0.9 > A 0.8 > B 0.7 > D 0.1; every mix scores below C alone, so only C stays.
        let models = [constant("A", 0.8), constant("B", 0.7), constant("C", 0.9), constant("D", 0.1)]
        var offered: [String] = []
        let score: ([WeightSpace.Model]) throws -> Double = { members in
            offered.append(members.map(\.name).joined(separator: "+"))
            return Double(try WeightSpace.average(members)["b"]!.data[0])
        }
        let (soup, steps) = try WeightSpace.greedySoup(models, score: score, log: { _ in })
        XCTAssertEqual(steps.map(\.model), ["C", "A", "B", "D"])
        XCTAssertEqual(steps.map(\.kept), [true, false, false, false])
        XCTAssertEqual(soup.map(\.name), ["C"])
        XCTAssertEqual(offered, ["A", "B", "C", "D", "C+A", "C+B", "C+D"], "each model alone first, then each soup offered")
        // Equal scores join: a soup of two identical models does not drop.
        let (twin, twinSteps) = try WeightSpace.greedySoup([constant("A", 0.8), constant("A2", 0.8)], score: score, log: { _ in })
        XCTAssertEqual(twin.map(\.name), ["A", "A2"])
        XCTAssertEqual(twinSteps.last?.heldInTop1, Double(Float(0.8)))
        XCTAssertThrowsError(try WeightSpace.greedySoup([], score: score, log: { _ in }))
    }

    /// A greedy soup selects only on images its runs never trained on: a run without
    /// --hold-out, or with another N than the rest, is refused by name.
    func testSelectionSplitNeedsRunsThatHeldOutTheSameImages() throws {
        let data = ScratchDir("select-data")
        for c in ["n1", "n2"] { for i in 0..<5 { data.write("train/\(c)/i\(i).JPEG", Data([0xFF])) } }
        let runs = ScratchDir("select-runs")
        func run(_ name: String, holdOut: Int) throws -> String {
            var summary = RunSummary.fixture()
            summary.config.holdOut = holdOut == 0 ? nil : holdOut
            let train = try ImageFolder(root: data.path, split: "train")
            summary.config.dataFingerprint = Fingerprint.list(try train.holdingOut(perClass: holdOut).kept.samples.map(\.relativePath))
            try FileManager.default.createDirectory(atPath: runs.path + "/" + name, withIntermediateDirectories: true)
            try JSONFile.write(summary, to: runs.path + "/\(name)/summary.json")
            return runs.path + "/" + name
        }
        let a = try run("a", holdOut: 2), b = try run("b", holdOut: 2)
        let split = try WeightSpace.selectionSplit(runs: [a, b], dataRoot: data.path)
        XCTAssertEqual(split.count, 4)
        XCTAssertEqual(split.samples, try ImageFolder(root: data.path, split: "train").holdingOut(perClass: 2).heldOut.samples)
        let all = try run("all", holdOut: 0), other = try run("other", holdOut: 1)
        for (bad, needle) in [(all, "no --hold-out"), (other, "held out 1 images per class"), (runs.path + "/none", "no summary.json")] {
            XCTAssertThrowsError(try WeightSpace.selectionSplit(runs: [a, bad], dataRoot: data.path)) { error in
                XCTAssert("\(error)".contains(bad) && "\(error)".contains(needle), "\(error)")
            }
        }
        data.write("train/n1/i9.JPEG", Data([0xFF]))   // the data changed since the runs trained
        XCTAssertThrowsError(try WeightSpace.selectionSplit(runs: [a], dataRoot: data.path)) { error in
            XCTAssert("\(error)".contains("another image list"), "\(error)")
        }
    }

    /// The zero-shot model written as α = 0 reads back bit for bit, with its start recorded,
    /// as a ViT-Ti the rest of the tools load.
    func testCombinedModelRoundTripsAsATimmModel() throws {
        let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights), "no pretrained weights at \(weights)")
        let zero = try WeightSpace.load("zero-shot", weights: weights)
        XCTAssertEqual(zero.tensors["head.weight"]?.shape, [10, 192])
        let dir = ScratchDir("weight-space")
        let record = WeightSpace.Record(kind: "interpolate", inputs: ["zero-shot", "zero-shot"], alpha: 0, weightsFingerprint: zero.start)
        try WeightSpace.write(try WeightSpace.interpolate(from: zero, to: zero, alpha: 0), labelNames: zero.labelNames,
                              record: record, to: dir.path)
        let back = try WeightSpace.load(dir.path, weights: weights)
        XCTAssertEqual(back.start, zero.start)
        XCTAssertEqual(back.labelNames, zero.labelNames)
        XCTAssertEqual(Set(back.tensors.keys), Set(zero.tensors.keys))
        for (k, t) in zero.tensors { XCTAssertEqual(back.tensors[k]!.data, t.data, k) }
        let model = try modelForEvaluation(weights: dir.path + "/model.safetensors")
        XCTAssertEqual(model.config.numClasses, 10)
        XCTAssertThrowsError(try WeightSpace.load(dir.path + "/missing", weights: weights)) {
            XCTAssert("\($0)".contains("missing/model.safetensors"), "\($0)")
        }
    }

    /// The α sweep scores each point over the split and counts its ImageNet-val images apart.
    /// From zero-shot to zero-shot every α is the same model, so every point agrees.
    func testSweepScoresEachAlphaAndItsHeldOutImages() throws {
        let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights) && FileManager.default.fileExists(atPath: TestPaths.sharedData + "/val"),
                          "no pretrained weights or shared data")
        // The first 24 val images (sorted paths): a class folder lists its ILSVRC2012_val_* files first.
        let set = try ImageFolder(root: TestPaths.sharedData, split: "val").limited(to: 24)
        let zero = try WeightSpace.load("zero-shot", weights: weights)
        let points = try WeightSpace.sweep(from: zero, to: [zero], alphas: [0, 0.5, 1],
                                           on: set, log: { _ in })
        XCTAssertEqual(points.map(\.alpha), [0, 0.5, 1])
        let heldOut = set.samples.filter { ReportData.isFromImageNetVal($0.relativePath) }.count
        XCTAssert(heldOut > 0 && heldOut < set.count, "both kinds of image: \(heldOut) of \(set.count) held out")
        for p in points {
            XCTAssertEqual(p.images, set.count)
            XCTAssertEqual(p.heldOutImages, heldOut)
            XCTAssertEqual(p.correct, points[0].correct)
            XCTAssertEqual(p.heldOutCorrect, points[0].heldOutCorrect)
        }
        XCTAssertGreaterThan(points[0].correct, set.count / 2, "the zero-shot head knows these dogs")
        XCTAssertEqual(WeightSpace.SweepPoint.csvColumns.count, points[0].csvRow.count)
    }
}

