import ArgumentParser
import Foundation
import WoofCore
import WoofData
import WoofModel
import WoofTrain
import WoofAnalysis
import WoofIO

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

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be a positive integer") }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        try reportingErrors {
            Parallel.configure(threads: threads)
            let root = resolveDataRoot(explicit: data)
            var set = try ImageFolder(root: root.path, split: split)
            if let l = limit { set = set.limited(to: l) }
            let path = resolveWeights(explicit: weights)
            let model = try modelForEvaluation(weights: path)
            logLine("evaluating \(path) (\(model.config.numClasses) classes\(zeroShot ? ", zero-shot on the ten ImageWoof classes" : "")) on \(root.path)/\(split): \(set.count) images")
            if zeroShot && model.config.numClasses != 1000 { throw ValidationError("--zero-shot needs a 1000-class ImageNet model") }
            let loader = BatchLoader(dataset: set, batchSize: batchSize, mode: .eval, workers: 2, prefetch: 2)
            let result = try evaluate(model: model, loader: loader, zeroShot: zeroShot, progress: Progress("eval", total: set.count))
            print(result.table(classNames: ImageWoof.names(set.classes)), terminator: "")
            if let p = predictions { try result.writePredictions(to: p); logLine("predictions: \(p)") }
            if let p = summary {
                try JSONFile.write(EvalSummary(result, weights: path, zeroShot: zeroShot, classNames: ImageWoof.names(set.classes)), to: p)
                logLine("summary: \(p)")
            }
        }
    }
}
