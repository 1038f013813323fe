import Foundation
import WoofData
import WoofIO
import WoofModel
import WoofTrain

/// Weight-space combinations of models fine-tuned from one start: WiSE-FT's interpolation
/// (Wortsman et al., CVPR 2022) and the uniform model soup (Wortsman et al., ICML 2022).
///
/// Models are timm state dicts. A LoRA run exports W0 + s·BA, so interpolating or averaging
/// exported models over the shared base W0 is exactly interpolating or averaging the merged
/// updates ΔW = s·BA (never A and B separately), with the head treated like any tensor.
public enum WeightSpace {
    /// A model to combine: its tensors, its class list and the fingerprint of the pretrained
    /// file it started from.
    public struct Model {
        public var name: String
        public var tensors: [String: NamedTensor]
        public var labelNames: [String]
        public var start: String
        public init(name: String, tensors: [String: NamedTensor], labelNames: [String], start: String) {
            self.name = name; self.tensors = tensors; self.labelNames = labelNames; self.start = start
        }
    }

    /// θ(α) = (1−α)·θ_from + α·θ_to per element (in Double, rounded once): α = 0 and α = 1
    /// give the endpoints bit for bit.
    public static func interpolate(from a: Model, to b: Model, alpha: Double) throws -> [String: NamedTensor] {
        guard alpha.isFinite else { throw TrainError.invalidOption("--alpha must be a finite number, not \(alpha)") }
        try checkCompatible([a, b])
        var out: [String: NamedTensor] = [:]
        for (key, x) in a.tensors {
            let y = b.tensors[key]!.data
            out[key] = NamedTensor(shape: x.shape, data: (0..<x.count).map { Float((1 - alpha) * Double(x.data[$0]) + alpha * Double(y[$0])) })
        }
        return out
    }

    /// The uniform soup: the element-wise mean (summed in Double, rounded once), so a soup of
    /// one model is that model.
    public static func average(_ models: [Model]) throws -> [String: NamedTensor] {
        guard let first = models.first else { throw TrainError.invalidOption("a soup needs at least one model") }
        try checkCompatible(models)
        var out: [String: NamedTensor] = [:]
        for (key, t) in first.tensors {
            var sum = [Double](repeating: 0, count: t.count)
            for m in models { let d = m.tensors[key]!.data; for i in 0..<sum.count { sum[i] += Double(d[i]) } }
            out[key] = NamedTensor(shape: t.shape, data: sum.map { Float($0 / Double(models.count)) })
        }
        return out
    }

    /// Refuses models that do not share tensor names, shapes, classes and pretrained start,
    /// naming the model and the first difference.
    public static func checkCompatible(_ models: [Model]) throws {
        guard let ref = models.first else { return }
        for m in models.dropFirst() {
            func refuse(_ what: String) -> TrainError {
                TrainError.invalidOption("\(m.name) and \(ref.name) cannot be combined: \(what)")
            }
            if m.start != ref.start {
                throw refuse("they start from different pretrained files (fingerprints \(m.start) and \(ref.start))")
            }
            if let k = Set(ref.tensors.keys).symmetricDifference(m.tensors.keys).sorted().first {
                throw refuse("tensor '\(k)' is in \(ref.tensors[k] == nil ? m.name : ref.name) only")
            }
            if let k = ref.tensors.keys.sorted().first(where: { ref.tensors[$0]!.shape != m.tensors[$0]!.shape }) {
                throw refuse("'\(k)' has shape \(m.tensors[k]!.shape) in \(m.name) and \(ref.tensors[k]!.shape) in \(ref.name)")
            }
            if m.labelNames != ref.labelNames {
                throw refuse("their classes differ (\(m.labelNames.prefix(3).joined(separator: ", "))… and \(ref.labelNames.prefix(3).joined(separator: ", "))…)")
            }
        }
    }

    /// One step of a greedy soup: the model offered, the held-in top-1 of the soup with it,
    /// and whether it stayed.
    public struct GreedyStep: Codable, Equatable {
        public var model: String, heldInTop1: Double, kept: Bool
    }

    /// The greedy soup (Wortsman et al., ICML 2022, recipe 1): models ranked by their own
    /// held-in top-1, the best first; each next one joins the soup only if the soup's held-in
    /// top-1 does not drop. `score` gives the held-in top-1 of the uniform soup of its models
    /// (one model: that model), on the selection split, never the reported one.
    public static func greedySoup(_ models: [Model], score: ([Model]) throws -> Double,
                                  log: (String) -> Void) throws -> (soup: [Model], steps: [GreedyStep]) {
        try checkCompatible(models)
        var alone: [(model: Model, top1: Double)] = []
        for m in models {
            let top1 = try score([m])
            log(String(format: "greedy soup: %@ alone %.2f%% held-in", m.name, 100 * top1))
            alone.append((m, top1))
        }
        // Stable order on ties: the order given.
        let ranked = alone.enumerated().sorted { ($0.element.top1, -$0.offset) > ($1.element.top1, -$1.offset) }.map(\.element)
        guard let best = ranked.first else { throw TrainError.invalidOption("a soup needs at least one model") }
        var soup = [best.model], soupTop1 = best.top1
        var steps = [GreedyStep(model: best.model.name, heldInTop1: best.top1, kept: true)]
        for next in ranked.dropFirst() {
            let top1 = try score(soup + [next.model])
            let kept = top1 >= soupTop1
            if kept { soup.append(next.model); soupTop1 = top1 }
            log(String(format: "greedy soup: + %@ → %.2f%% held-in, %@", next.model.name, 100 * top1, kept ? "kept" : "left out"))
            steps.append(GreedyStep(model: next.model.name, heldInTop1: top1, kept: kept))
        }
        return (soup, steps)
    }

    /// The selection split of a greedy soup over `runs`: the training images every run held
    /// out (`train --hold-out N`, the same N for all). Refuses a model that is not such a run,
    /// and a run whose training list differs from the rest of `root`'s train split (so the
    /// selection images could have been trained on).
    public static func selectionSplit(runs: [String], dataRoot root: String) throws -> ImageFolder {
        var perClass: Int?
        let train = try ImageFolder(root: root, split: "train")
        for run in runs {
            guard let summary = try JSONFile.readIfPresent(RunSummary.self, from: run + "/summary.json") else {
                throw TrainError.invalidOption("\(run): not a training run (no summary.json); a greedy soup selects on the training images its runs held out")
            }
            guard let n = summary.config.holdOut else {
                throw TrainError.invalidOption("\(run): trained on every training image (no --hold-out), so there is nothing to select on that it has not seen; retrain with --hold-out N")
            }
            if let p = perClass, p != n { throw TrainError.invalidOption("\(run): held out \(n) images per class, \(runs[0]) \(p): a greedy soup needs one selection split") }
            perClass = n
            let kept = try train.holdingOut(perClass: n).kept
            var trained = kept
            if let l = summary.config.limit { trained = kept.limited(to: l) }
            if let fp = summary.config.dataFingerprint, fp != Fingerprint.list(trained.samples.map(\.relativePath)) {
                throw TrainError.invalidOption("\(run): trained on another image list than \(root)/train less its held-out images (data fingerprint \(fp)); evaluate on the data it trained on")
            }
        }
        guard let n = perClass else { throw TrainError.invalidOption("a greedy soup needs at least one run") }
        return try train.holdingOut(perClass: n).heldOut
    }

    /// Images and correct predictions among `result`'s files from ImageNet's val split.
    public static func imageNetValCounts(_ result: EvalResult) -> (images: Int, correct: Int) {
        let held = result.predictions.filter { ReportData.isFromImageNetVal($0.path) }
        return (held.count, held.filter { $0.label == $0.pred }.count)
    }

    /// Top-1 of a timm state dict made in memory on `set` (`name` labels errors), with
    /// horizontal-flip test-time augmentation when `flipTTA`.
    public static func top1(_ tensors: [String: NamedTensor], name: String, on set: ImageFolder, flipTTA: Bool = false) throws -> EvalResult {
        let model = try modelForEvaluation(SafeTensorsFile(path: name, bytes: SafeTensorsFile.encode(tensors)))
        return try evaluate(model: model, loader: BatchLoader(dataset: set, batchSize: 32, mode: .eval), flipTTA: flipTTA)
    }

    /// Where a combined model came from (`weight_space.json` beside its model.safetensors):
    /// read back when the combined model is itself combined.
    public struct Record: Codable, Equatable {
        public var kind: String
        public var inputs: [String]
        public var alpha: Double?
        public var weightsFingerprint: String
        /// A greedy soup's selection split and every model offered, in order.
        public var selectedOn: String?
        public var greedySteps: [GreedyStep]?
        enum CodingKeys: String, CodingKey {
            case kind, inputs, alpha, weightsFingerprint = "weights_fingerprint", selectedOn = "selected_on", greedySteps = "greedy_steps"
        }
        public init(kind: String, inputs: [String], alpha: Double?, weightsFingerprint: String,
                    selectedOn: String? = nil, greedySteps: [GreedyStep]? = nil) {
            self.kind = kind; self.inputs = inputs; self.alpha = alpha; self.weightsFingerprint = weightsFingerprint
            self.selectedOn = selectedOn; self.greedySteps = greedySteps
        }
    }

    /// `zero-shot`: the pretrained weights with the ImageNet head's rows of the ten classes
    /// (WiSE-FT's θ_zero-shot). Otherwise a directory holding model.safetensors and config.json
    /// and either a run's summary.json or a combination's weight_space.json (for the start).
    public static func load(_ spec: String, weights: String) throws -> Model {
        if spec == "zero-shot" {
            let model = try pretrainedForFineTuning(weights: weights, mode: .full, classes: ImageWoof.breeds.count, seed: 0, headInit: "imagenet")
            return Model(name: "zero-shot (\(weights))", tensors: model.timmStateDict(), labelNames: ImageWoof.breeds.map(\.wnid),
                         start: try weightsFingerprint(weights))
        }
        let file = try SafeTensorsFile(path: spec + "/model.safetensors")
        let labels = try JSONFile.read(TimmLabels.self, from: spec + "/config.json", missing: "not a model directory").labelNames
        let start: String
        if let record = try JSONFile.readIfPresent(Record.self, from: spec + "/weight_space.json") {
            start = record.weightsFingerprint
        } else {
            let summary = try JSONFile.read(RunSummary.self, from: spec + "/summary.json",
                                            missing: "cannot tell which pretrained file \(spec) started from")
            guard let fp = summary.config.weightsFingerprint else {
                throw TrainError.invalidOption("\(spec)/summary.json: records no weights fingerprint (a run from before they were recorded)")
            }
            start = fp
        }
        var tensors: [String: NamedTensor] = [:]
        for n in file.names { tensors[n] = file[n]! }
        return Model(name: spec, tensors: tensors, labelNames: labels, start: start)
    }

    /// Writes `tensors` as a timm model (model.safetensors + config.json) and the record.
    public static func write(_ tensors: [String: NamedTensor], labelNames: [String], record: Record, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let model = try VisionTransformer(config: .vitTiny(numClasses: labelNames.count), mode: .full, seed: 0)
        for e in model.params.entries where tensors[e.name]?.shape != e.shape {
            throw TrainError.invalidOption("\(dir): the combined model has no \(e.shape) tensor '\(e.name)' of a ViT-Ti")
        }
        if let extra = tensors.keys.sorted().first(where: { !model.params.contains($0) }) {
            throw TrainError.invalidOption("\(dir): the combined model has a tensor '\(extra)' a ViT-Ti does not")
        }
        try SafeTensorsFile.write(tensors, metadata: ["format": "pt"], to: dir + "/model.safetensors")
        try JSONFile.write(TimmConfig(model.config, classNames: labelNames), to: dir + "/config.json")
        try JSONFile.write(record, to: dir + "/weight_space.json")
    }

    /// One point of an α sweep: top-1 on the split, and on its images that come from
    /// ImageNet's val split (unseen when the pretrained model was trained; see
    /// `ReportData.isFromImageNetVal`): a gain only on the others would be leakage.
    public struct SweepPoint: Equatable {
        public var run: String, alpha: Double
        public var images: Int, correct: Int, heldOutImages: Int, heldOutCorrect: Int
        public static let csvColumns = ["run", "alpha", "images", "top1", "heldout_images", "heldout_top1"]
        public var csvRow: [String] {
            [run, String(alpha), String(images), String(Double(correct) / Double(max(images, 1))),
             String(heldOutImages), heldOutImages == 0 ? "" : String(Double(heldOutCorrect) / Double(heldOutImages))]
        }
    }

    /// Evaluates θ(α) = (1−α)·`from` + α·run for every run and α, each model built in memory
    /// and scored on `set`.
    public static func sweep(from: Model, to runs: [Model], alphas: [Double], on set: ImageFolder,
                             log: (String) -> Void) throws -> [SweepPoint] {
        var points: [SweepPoint] = []
        for run in runs {
            for alpha in alphas {
                let tensors = try interpolate(from: from, to: run, alpha: alpha)
                let result = try top1(tensors, name: "\(run.name) at α \(alpha)", on: set)
                let held = imageNetValCounts(result)
                let p = SweepPoint(run: run.name, alpha: alpha, images: result.images, correct: result.correct,
                                   heldOutImages: held.images, heldOutCorrect: held.correct)
                log(String(format: "%@ α %.2f: top-1 %.2f%% (%d images), held-out %d/%d", run.name, alpha,
                           100 * Double(p.correct) / Double(max(p.images, 1)), p.images, p.heldOutCorrect, p.heldOutImages))
                points.append(p)
            }
        }
        return points
    }

    /// The class list of a timm config.json.
    struct TimmLabels: Decodable {
        let labelNames: [String]
        enum CodingKeys: String, CodingKey { case labelNames = "label_names" }
    }
}
