import ArgumentParser
import Foundation
import WoofAnalysis
import WoofData
import WoofIO
import WoofTrain

/// Refuses an --out that already holds a model or is one of the inputs: nothing is overwritten.
private func checkFreshOutput(_ out: String, inputs: [String]) throws {
    let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
    if inputs.map(resolved).contains(resolved(out)) {
        throw TrainError.invalidOption("--out \(out) is one of the inputs; choose a new directory")
    }
    if FileManager.default.fileExists(atPath: out + "/model.safetensors") {
        throw TrainError.invalidOption("\(out)/model.safetensors exists; choose a new --out (nothing is overwritten)")
    }
}

/// The α values of an `--alphas` list; nil unless every comma-separated field is a finite
/// number (in [0, 1] when `unitInterval`).
func parseAlphas(_ list: String, unitInterval: Bool) -> [Double]? {
    let parts = list.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard !list.isEmpty, values.count == parts.count, values.allSatisfy(\.isFinite) else { return nil }
    return unitInterval && !values.allSatisfy({ $0 >= 0 && $0 <= 1 }) ? nil : values
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "WiSE-FT: write (1 − α)·FROM + α·TO as a timm model (model.safetensors + config.json).",
        discussion: """
            FROM and TO are run directories (model.safetensors, config.json and summary.json) or \
            `zero-shot`: the pretrained weights with the ImageNet head's rows of the ten classes. A LoRA \
            run's model has its update merged, so this interpolates ΔW = s·BA over the shared base. The \
            models must share tensor names, shapes, classes and pretrained file (its fingerprint).
            """)
    @Option(help: "The α = 0 end: a run directory or `zero-shot`.")
    var from = "zero-shot"
    @Option(help: "The α = 1 end: a run directory.")
    var to: String
    @Option(help: "Weight of --to (0 gives --from, 1 gives --to, bit for bit).")
    var alpha = 0.5
    @Option(help: "Directory for the interpolated model.")
    var out: String
    @Option(help: "Pretrained weights behind `zero-shot` (default: weights/ or ../shared/weights).")
    var weights: String?

    func run() throws {
        try reportingErrors {
            try checkFreshOutput(out, inputs: [from, to])
            let w = resolveWeights(explicit: weights)
            let a = try WeightSpace.load(from, weights: w), b = try WeightSpace.load(to, weights: w)
            let tensors = try WeightSpace.interpolate(from: a, to: b, alpha: alpha)
            let record = WeightSpace.Record(kind: "interpolate", inputs: [from, to], alpha: alpha, weightsFingerprint: a.start)
            try WeightSpace.write(tensors, labelNames: b.labelNames, record: record, to: out)
            logLine("wrote \(out)/model.safetensors = (1 − \(alpha))·\(from) + \(alpha)·\(to)")
        }
    }
}

struct Soup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Model soup: the uniform average of models fine-tuned from one start, as a timm model.",
        discussion: """
            RUN is a run directory (model.safetensors, config.json, summary.json), an earlier \
            interpolate/soup output, or `zero-shot`. LoRA runs are averaged as merged models, i.e. \
            their updates ΔW = s·BA are averaged. The models must share tensor names, shapes, \
            classes and pretrained file.

            --greedy: the greedy soup. Each run is scored alone on the selection split, then offered \
            best first; it joins if the soup's top-1 there does not drop. The selection split is the \
            training images the runs held out (`train --hold-out N`, the same N for all), so the \
            soup is never chosen on the val images it is reported on.
            """)
    @Argument(help: "The models to average.")
    var runs: [String]
    @Option(help: "Directory for the soup.")
    var out: String
    @Flag(help: "Greedy soup: keep a model only if it does not lower top-1 on the selection split.")
    var greedy = false
    @Option(help: "The greedy soup's selection split: train-holdout (the training images the runs held out).")
    var selectOn = "train-holdout"
    @Option(help: "Data root the runs trained on (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Pretrained weights behind `zero-shot` (default: weights/ or ../shared/weights).")
    var weights: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one model to average") }
        guard selectOn == "train-holdout" else {
            throw ValidationError("--select-on must be train-holdout: selecting on \(selectOn) and reporting on it would make the soup look better than it is")
        }
    }

    func run() throws {
        try reportingErrors {
            try checkFreshOutput(out, inputs: runs)
            let w = resolveWeights(explicit: weights)
            let models = try runs.map { try WeightSpace.load($0, weights: w) }
            guard greedy else {
                let record = WeightSpace.Record(kind: "uniform soup", inputs: runs, alpha: nil, weightsFingerprint: models[0].start)
                try WeightSpace.write(try WeightSpace.average(models), labelNames: models[0].labelNames, record: record, to: out)
                return logLine("wrote \(out)/model.safetensors = the mean of \(runs.count) models")
            }
            let root = resolveDataRoot(explicit: data).path
            let selection = try WeightSpace.selectionSplit(runs: runs, dataRoot: root)
            logLine("greedy soup: selecting on \(selection.count) held-out training images of \(root)/train")
            let (soup, steps) = try WeightSpace.greedySoup(models, score: { members in
                try WeightSpace.top1(WeightSpace.average(members), name: "soup of \(members.map(\.name))", on: selection).top1
            }, log: logLine)
            let record = WeightSpace.Record(kind: "greedy soup", inputs: soup.map(\.name), alpha: nil, weightsFingerprint: models[0].start,
                                            selectedOn: "\(selection.count) held-out images of \(root)/train", greedySteps: steps)
            try WeightSpace.write(try WeightSpace.average(soup), labelNames: models[0].labelNames, record: record, to: out)
            logLine("wrote \(out)/model.safetensors = the mean of \(soup.count) of \(runs.count) models (\(soup.map(\.name).joined(separator: ", ")))")
        }
    }
}

struct AlphaSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "WiSE-FT curves: top-1 of (1 − α)·FROM + α·RUN for each RUN and α, on a split and on its held-out images.",
        discussion: """
            Each interpolated model is built in memory and evaluated; nothing but the CSV is written \
            (run, alpha, images, top1, heldout_images, heldout_top1). Held-out images are the split's \
            files from ImageNet's val split (ILSVRC2012_val_*), which the pretrained model never trained on.
            """)
    @Argument(help: "Run directories (the α = 1 ends).")
    var runs: [String]
    @Option(help: "The α = 0 end: a run directory or `zero-shot`.")
    var from = "zero-shot"
    @Option(help: "Comma-separated α values.")
    var alphas = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1"
    @Option(help: "CSV to write.")
    var out: String
    @Option(help: "Data root with the split (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Split to evaluate on.")
    var split = "val"
    @Option(help: "Evaluate the first N images of the split only (sorted path order).")
    var limit: Int?
    @Option(help: "Pretrained weights behind `zero-shot` (default: weights/ or ../shared/weights).")
    var weights: String?

    var alphaValues: [Double] { parseAlphas(alphas, unitInterval: false) ?? [] }

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
        guard parseAlphas(alphas, unitInterval: false) != nil else {
            throw ValidationError("--alphas must be comma-separated numbers, not '\(alphas)'")
        }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        try reportingErrors {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw TrainError.invalidOption("\(out) exists; choose a new --out (nothing is overwritten)")
            }
            let w = resolveWeights(explicit: weights)
            let start = try WeightSpace.load(from, weights: w)
            let models = try runs.map { try WeightSpace.load($0, weights: w) }
            var set = try ImageFolder(root: resolveDataRoot(explicit: data).path, split: split)
            if let limit { set = set.limited(to: limit) }
            let points = try WeightSpace.sweep(from: start, to: models, alphas: alphaValues, on: set, log: logLine)
            var table = CSVTable(header: WeightSpace.SweepPoint.csvColumns)
            for p in points { table.append(p.csvRow) }
            try table.write(to: out)
            logLine("wrote \(out): \(points.count) points")
        }
    }
}

struct WeightSpaceStudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weight-space",
        abstract: "The weight-space study: WiSE-FT curves, seed soups and the greedy soup over a sweep's finished runs.",
        discussion: """
            Reads DIR/runs/<name> (scripts/sweep.sh study/weightspace.grid --out DIR). For every run and α, \
            (1 − α)·zero-shot + α·run is scored on val and on the training images the runs held out \
            (--hold-out); each run's α is chosen on the latter. Then the uniform soup of each recipe's \
            seeds, of all runs, and the greedy soup. Scores are cached in DIR/scores.json as they come, \
            so a stopped study resumes. Writes alpha_sweep.csv, alpha_groups.csv, wise_chosen.csv, \
            soups.csv, greedy_steps.csv and flip_tta.csv into DIR (--flip-tta: the zero-shot model and \
            the soups also scored on val with horizontal-flip test-time augmentation, reported apart).
            """)
    @Option(help: "The sweep directory holding runs/<name>.")
    var dir = "output/weightspace"
    @Option(help: "Comma-separated α values.")
    var alphas = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1"
    @Option(help: "Data root the runs trained on (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Evaluate on the first N images of each split only (a quick check, not a result).")
    var limit: Int?
    @Option(help: "Pretrained weights behind `zero-shot` (default: weights/ or ../shared/weights).")
    var weights: String?
    @Flag(help: "Also score the zero-shot model and every soup on val with horizontal-flip TTA (twice the inference cost).")
    var flipTta = false

    func validate() throws {
        guard parseAlphas(alphas, unitInterval: true) != nil else {
            throw ValidationError("--alphas must be comma-separated numbers in [0, 1], not '\(alphas)'")
        }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let study = try WeightSpaceStudy(dir: dir, weights: resolveWeights(explicit: weights), dataRoot: resolveDataRoot(explicit: data).path)
            study.alphas = parseAlphas(alphas, unitInterval: true) ?? []
            study.limit = limit
            study.flipTTA = flipTta
            try study.run(log: logLine)
            logLine("wrote \(WeightSpaceStudy.tableFiles.map { dir + "/" + $0 }.joined(separator: ", "))")
        }
    }
}
