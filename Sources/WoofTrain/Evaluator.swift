import Foundation
import WoofCore
import WoofModel
import WoofData
import WoofDist
import WoofIO

/// The outcome of evaluating a model on a split.
public struct EvalResult: Codable {
    public var images: Int
    public var correct: Int
    public var classes: [String]
    /// confusion[label][prediction] over the ImageWoof classes (prediction outside them —
    /// a 1000-class argmax that is not a dog of the ten — is counted in `otherPredictions`).
    public var confusion: [[Int]]
    public var otherPredictions: Int
    /// Images per label (the denominators of per-class accuracy; with a 1000-class model
    /// they include images predicted outside the ten classes).
    public var labelCounts: [Int] = []
    public var seconds: Double
    /// Per-image (relative path, label, prediction).
    public var predictions: [Prediction]

    public struct Prediction: Codable { public var path: String; public var label: Int; public var pred: Int }

    public var top1: Double { images > 0 ? Double(correct) / Double(images) : 0 }
    public var perClass: [Double] {
        confusion.enumerated().map { (i, row) in
            let n = i < labelCounts.count ? labelCounts[i] : row.reduce(0, +)
            return n > 0 ? Double(row[i]) / Double(n) : 0
        }
    }
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }

    /// Accuracy, per-class accuracy and the confusion matrix as text.
    public func table(classNames: [String]? = nil) -> String {
        let names = classNames ?? classes
        var s = String(format: "top-1 %.2f%% (%d/%d), %.1f images/s\n", 100 * top1, correct, images, imagesPerSecond)
        s += "per class:\n"
        for (i, acc) in perClass.enumerated() {
            s += "  \(i) \(names[i].padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(format: "%6.2f%%", 100 * acc))\n"
        }
        s += "confusion (rows = label, columns = prediction):\n      " + (0..<classes.count).map { String(format: "%5d", $0) }.joined() + "\n"
        for (i, row) in confusion.enumerated() { s += String(format: "  %2d  ", i) + row.map { String(format: "%5d", $0) }.joined() + "\n" }
        if otherPredictions > 0 { s += "predictions outside the ten classes: \(otherPredictions)\n" }
        return s
    }

    /// Writes `path,label,pred` rows (atomically).
    public func writePredictions(to path: String) throws {
        var csv = CSVTable(header: ["path", "label", "pred"])
        for p in predictions { csv.append([p.path, "\(p.label)", "\(p.pred)"]) }
        try csv.write(to: path)
    }
}

/// Runs a model over an eval loader. For a 1000-class model `zeroShot` restricts the logits
/// to the ImageWoof classes' ImageNet indices; without it the 1000-way argmax is reported
/// (`pred` is then an ImageNet index and counts as correct when it is the label's index).
/// With `flipTTA`, each image is scored by the mean of its logits and its mirror's (two
/// forward passes). With `comm`, each rank evaluates its shard of the split and the counts are summed over
/// ranks (per-image predictions stay local). With `tape` (a training step's), the forward
/// passes reuse its arena instead of allocating their own.
public func evaluate(model: VisionTransformer, loader: BatchLoader, zeroShot: Bool = false, flipTTA: Bool = false,
                     progress: Progress? = nil, comm: Communicator? = nil, tape: Tape = Tape()) throws -> EvalResult {
    let nc = model.config.numClasses
    let k = loader.dataset.classes.count
    let imagenet = nc == 1000 && k == ImageWoof.imageNetIndices.count
    let step = GradientStep(model: model, tape: tape)
    var result = EvalResult(images: 0, correct: 0, classes: loader.dataset.classes,
                            confusion: Array(repeating: Array(repeating: 0, count: k), count: k),
                            otherPredictions: 0, labelCounts: Array(repeating: 0, count: k), seconds: 0, predictions: [])
    let t0 = Date()
    loader.startEpoch(0)
    while let batch = try loader.next() {
        let logits = flipTTA ? flipAveragedLogits(step, batch) : step.logits(images: batch.images, count: batch.count)
        for i in 0..<batch.count {
            let row = Array(logits[(i * nc)..<((i + 1) * nc)])
            let label = Int(batch.labels[i])
            var pred: Int, woof: Int?
            if imagenet && zeroShot {
                woof = (0..<k).max { row[ImageWoof.imageNetIndices[$0]] < row[ImageWoof.imageNetIndices[$1]] }!
                pred = woof!
            } else if imagenet {
                pred = (0..<nc).max { row[$0] < row[$1] }!
                woof = ImageWoof.imageNetIndices.firstIndex(of: pred)
            } else {
                pred = (0..<nc).max { row[$0] < row[$1] }!
                woof = pred < k ? pred : nil
            }
            if let w = woof { result.confusion[label][w] += 1; if w == label { result.correct += 1 } }
            else { result.otherPredictions += 1 }
            result.images += 1
            result.labelCounts[label] += 1
            result.predictions.append(.init(path: loader.dataset.samples[batch.sampleIndices[i]].relativePath, label: label, pred: pred))
        }
        progress?.advance(by: batch.count)
    }
    if let comm, comm.size > 1 {
        let flat = [Int64(result.images), Int64(result.correct), Int64(result.otherPredictions)]
            + result.confusion.flatMap { $0.map(Int64.init) } + result.labelCounts.map(Int64.init)
        let sum = comm.allreduceSum(flat)
        result.images = Int(sum[0]); result.correct = Int(sum[1]); result.otherPredictions = Int(sum[2])
        for i in 0..<k { for j in 0..<k { result.confusion[i][j] = Int(sum[3 + i * k + j]) } }
        for i in 0..<k { result.labelCounts[i] = Int(sum[3 + k * k + i]) }
    }
    result.seconds = Date().timeIntervalSince(t0)
    progress?.finish()
    return result
}

/// Flip test-time augmentation: the mean of the logits of the batch and of its mirror
/// image (the batch's images are mirrored in place; the loader refills them).
func flipAveragedLogits(_ step: GradientStep, _ batch: Batch) -> [Float] {
    let c = step.model.config
    var logits = step.logits(images: batch.images, count: batch.count)
    mirrorHorizontally(batch.images, count: batch.count, channels: c.inChans, side: c.imgSize)
    let mirrored = step.logits(images: batch.images, count: batch.count)
    for i in logits.indices { logits[i] = 0.5 * (logits[i] + mirrored[i]) }
    return logits
}
