import Foundation
import WoofData
import WoofIO
import WoofTrain

/// `woof-dist weight-space`: the weight-space study over a sweep directory
/// (`scripts/sweep.sh study/weightspace.grid --out output/weightspace`).
///
/// For every finished run: WiSE-FT's θ(α) from the zero-shot model, scored on val and on the
/// training images the runs held out (`--hold-out`). α is chosen per run on the held-out
/// training images, never on val. Then the uniform soup of each recipe's seeds, the uniform
/// soup of all runs and the greedy soup (selected on the held-out training images). Every
/// score is cached in `scores.json` as soon as it exists, so a stopped study resumes; a
/// retrained run has a new fingerprint, so its old scores are not reused. Writes
/// `alpha_sweep.csv`, `alpha_groups.csv`, `wise_chosen.csv`, `soups.csv`, `greedy_steps.csv` and
/// `flip_tta.csv` (with `flipTTA`: the zero-shot model and the soups under flip test-time augmentation).
public final class WeightSpaceStudy {
    /// One evaluation: a model (named by what it is and by its inputs' fingerprints) on a split.
    public struct Score: Codable, Equatable {
        public var model: String
        public var inputs: [String]
        public var split: String
        public var images: Int, correct: Int, heldOutImages: Int, heldOutCorrect: Int
        public var top1: Double { Double(correct) / Double(max(images, 1)) }
        /// Top-1 on the split's ImageNet-val images (`ReportData.isFromImageNetVal`), nil when it has none.
        public var heldOutTop1: Double? { heldOutImages > 0 ? Double(heldOutCorrect) / Double(heldOutImages) : nil }
    }

    /// A finished run of the sweep.
    struct Run {
        var name: String, group: String, mode: String, seed: UInt64, fingerprint: String, model: WeightSpace.Model
    }

    public let dir: String
    public var alphas = (0...10).map { Double($0) / 10 }
    let weights: String, dataRoot: String
    /// Evaluate on the first N images of each split only (tests).
    public var limit: Int?
    /// Also score the zero-shot model and each soup on val with horizontal-flip test-time
    /// augmentation (twice the inference cost); without it only flip scores already cached are tabled.
    public var flipTTA = false
    private(set) var scores: [Score] = []
    var cachePath: String { dir + "/scores.json" }

    public init(dir: String, weights: String, dataRoot: String) throws {
        self.dir = dir; self.weights = weights; self.dataRoot = dataRoot
        scores = try JSONFile.readIfPresent([Score].self, from: cachePath) ?? []
    }

    /// Scores `key` on `set` (named `split`), from the cache when it holds it.
    func score(_ key: String, inputs: [String], on set: ImageFolder, split: String,
               tensors: () throws -> [String: NamedTensor], log: (String) -> Void) throws -> Score {
        if let s = cached(key, inputs: inputs, on: set, split: split) { return s }
        let result = try WeightSpace.top1(try tensors(), name: key, on: set, flipTTA: split.hasSuffix(Self.flipSuffix))
        let held = WeightSpace.imageNetValCounts(result)
        let s = Score(model: key, inputs: inputs, split: split, images: result.images, correct: result.correct,
                      heldOutImages: held.images, heldOutCorrect: held.correct)
        scores.append(s)
        try JSONFile.write(scores, to: cachePath)
        log(String(format: "%@ on %@: top-1 %.2f%% (%d images)%@", key, split, 100 * s.top1, s.images,
                   s.heldOutTop1.map { String(format: ", ImageNet-val images %.2f%% (%d)", 100 * $0, s.heldOutImages) } ?? ""))
        return s
    }

    /// The split name under which flip-TTA scores of `split` are cached.
    static let flipSuffix = "+flip"

    func cached(_ key: String, inputs: [String], on set: ImageFolder, split: String) -> Score? {
        scores.first { $0.model == key && $0.inputs == inputs && $0.split == split && $0.images == set.count }
    }

    /// The finished runs (a summary.json), seed 0 of every recipe before any seed 1.
    func finishedRuns() throws -> [Run] {
        let runsDir = dir + "/runs"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDir)) ?? []
        var runs: [Run] = []
        for name in names.sorted() {
            guard let s = try JSONFile.readIfPresent(RunSummary.self, from: "\(runsDir)/\(name)/summary.json") else { continue }
            let path = "\(runsDir)/\(name)"
            runs.append(Run(name: name, group: Study.group(ofRun: name), mode: s.mode, seed: s.config.seed,
                            fingerprint: try Fingerprint.content(path + "/model.safetensors"), model: try WeightSpace.load(path, weights: weights)))
        }
        guard !runs.isEmpty else {
            throw TrainError.invalidOption("\(runsDir): no finished runs; run scripts/sweep.sh study/weightspace.grid --out \(dir) first")
        }
        return runs.sorted { ($0.seed, $0.name) < ($1.seed, $1.name) }
    }

    func split(_ name: String) throws -> ImageFolder {
        let set = try ImageFolder(root: dataRoot, split: name)
        return limit.map { set.limited(to: $0) } ?? set
    }
}
