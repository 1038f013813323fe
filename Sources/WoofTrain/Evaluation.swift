import Foundation
import WoofCore
import WoofData
import WoofIO

/// What `woof-dist eval` evaluates and where its files go.
public struct EvalOptions {
    /// timm safetensors file; empty: the pretrained weights (`resolveWeights`).
    public var weights = ""
    /// Data root; empty: the default resolution (`resolveDataRoot`).
    public var data = ""
    public var split = "val"
    /// For a 1000-class model: score only the ten ImageWoof classes' ImageNet logits.
    public var zeroShot = false
    /// Score each image by the mean logits of it and its mirror (two forward passes).
    public var flipTTA = false
    /// Per-image predictions (CSV) and the summary (JSON), when set.
    public var predictions: String?
    public var summary: String?
    /// The first N images of the split (sorted path order).
    public var limit: Int?
    public var batchSize = 32
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    /// Rejects nonsense before any work starts; messages name the option.
    public func validate() throws {
        guard batchSize > 0 else { throw TrainError.invalidOption("--batch-size must be a positive integer") }
        if let l = limit, l <= 0 { throw TrainError.invalidOption("--limit must be positive") }
        guard threads > 0 else { throw TrainError.invalidOption("--threads must be positive") }
        // An output that is also the input would replace the model with a CSV or JSON.
        let input = (resolveWeights(explicit: weights.isEmpty ? nil : weights) as NSString).resolvingSymlinksInPath
        for (option, path) in [("--predictions", predictions), ("--summary", summary)] {
            if let path, (path as NSString).resolvingSymlinksInPath == input {
                throw TrainError.invalidOption("\(option) \(path) is the weights file being evaluated; choose another path")
            }
        }
        if let p = predictions, p == summary { throw TrainError.invalidOption("--predictions and --summary are the same file (\(p))") }
    }
}

/// `woof-dist eval`: evaluates a model on a split, writes the files asked for, and returns
/// the accuracy table (per class, confusion matrix) as text.
public func runEvaluation(_ o: EvalOptions, log: (String) -> Void) throws -> String {
    try o.validate()
    Parallel.configure(threads: o.threads)
    let root = resolveDataRoot(explicit: o.data.isEmpty ? nil : o.data)
    var set = try ImageFolder(root: root.path, split: o.split)
    if let l = o.limit { set = set.limited(to: l) }
    let path = resolveWeights(explicit: o.weights.isEmpty ? nil : o.weights)
    let model = try modelForEvaluation(weights: path)
    if o.zeroShot && model.config.numClasses != 1000 { throw TrainError.invalidOption("--zero-shot needs a 1000-class ImageNet model") }
    try checkClasses(of: path, classes: model.config.numClasses, against: set)
    log("evaluating \(path) (\(model.config.numClasses) classes\(o.zeroShot ? ", zero-shot on the ten ImageWoof classes" : "")\(o.flipTTA ? ", horizontal-flip TTA" : "")) on \(root.path)/\(o.split): \(set.count) images")
    let loader = BatchLoader(dataset: set, batchSize: o.batchSize, mode: .eval, workers: 2, prefetch: 2)
    let result = try evaluate(model: model, loader: loader, zeroShot: o.zeroShot, flipTTA: o.flipTTA, progress: Progress("eval", total: set.count))
    let names = ImageWoof.names(set.classes)
    if let p = o.predictions { try result.writePredictions(to: p); log("predictions: \(p)") }
    if let p = o.summary {
        try JSONFile.write(EvalSummary(result, weights: path, zeroShot: o.zeroShot, flipTTA: o.flipTTA, classNames: names), to: p)
        log("summary: \(p)")
    }
    return result.table(classNames: names)
}

/// A fine-tuned model is scored only on the classes it was trained on: the same count, and
/// when its `config.json` names them (timm's `label_names`), the same classes in the same order.
func checkClasses(of weights: String, classes: Int, against set: ImageFolder) throws {
    guard classes != 1000 else { return }   // an ImageNet head: the zero-shot or 1000-way scoring
    struct Labels: Decodable { var label_names: [String]? }
    let configPath = (weights as NSString).deletingLastPathComponent + "/config.json"
    let names = try JSONFile.readIfPresent(Labels.self, from: configPath)?.label_names
    let data = "\(set.root)/\(set.split)"
    guard classes == set.classes.count else {
        throw TrainError.invalidOption("\(weights): its head has \(classes) classes\(names.map { " (\($0.joined(separator: ", ")))" } ?? ""), the data \(data) has \(set.classes.count)")
    }
    if let names, names != set.classes {
        let i = zip(names, set.classes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
        throw TrainError.invalidOption("\(weights): class \(i) of the model is '\(names[i])' (\(configPath)), of the data \(data) '\(set.classes[i])'")
    }
}
