import ArgumentParser
import Foundation
import WoofTrain

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a timm ViT-Ti checkpoint (1000-class pretrained or a 10-class fine-tune) on ImageWoof.")

    @Option(help: "timm safetensors file (default: the pretrained ViT-Ti weights).")
    var weights: String?
    @Option(help: "Data root with train/ and val/ (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Split to evaluate.")
    var split: String = "val"
    @Flag(help: "For a 1000-class model: score only the ten ImageWoof classes' ImageNet logits.")
    var zeroShot = false
    @Flag(help: "Horizontal-flip test-time augmentation: score each image by the mean logits of it and its mirror (twice the inference cost).")
    var flipTta = false
    @Option(help: "Write per-image predictions as CSV (path,label,pred).")
    var predictions: String?
    @Option(help: "Write accuracy, per-class accuracy and the confusion matrix as JSON.")
    var summary: String?
    @Option(help: "Evaluate the first N images of the split (sorted path order).")
    var limit: Int?
    @Option(help: "Images per forward pass.")
    var batchSize: Int = 32
    @Option(help: "Compute threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    var options: EvalOptions {
        var o = EvalOptions()
        o.weights = weights ?? ""; o.data = data ?? ""; o.split = split; o.zeroShot = zeroShot; o.flipTTA = flipTta
        o.predictions = predictions; o.summary = summary; o.limit = limit; o.batchSize = batchSize; o.threads = threads
        return o
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        try reportingErrors { print(try runEvaluation(options, log: logLine), terminator: "") }
    }
}
