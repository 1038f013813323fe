import Foundation
import WoofTrain
import WoofCore
import WoofModel
import WoofIO

/// `woof-dist study`: collects the runs of a sweep (`scripts/sweep.sh`) into CSVs and plots.
///
/// Reads `<dir>/runs/<name>/summary.json` (and `linear_probe/summary.json` of LP-FT runs),
/// writes `runs.csv` (one row per run), `groups.csv` (runs that differ only in their seed,
/// named `<group>-s<seed>`, as mean ± std), `per_class.csv`, `groups_per_class.csv`, `ranks.csv` (the LoRA rank
/// sweep, with step times from `rank_bench.csv` if present). The paper and the HTML report
/// chart them.
public enum Study {
    /// One finished run, flattened from its summary.json.
    public struct Run {
        public var name: String
        public var group: String { Study.group(ofRun: name) }
        public var mode: String
        public var headInit: String
        public var lpEpochs: Int
        /// LP-FT: val top-1 of the head after the linear-probe phase (NaN otherwise).
        public var lpValTop1: Double = .nan
        public var loraRank: Int
        public var loraAlpha: Double
        public var loraTargets: String
        public var epochs: Int
        public var seed: Int
        public var lr: Double
        public var labelSmoothing: Double
        public var layerDecay: Double
        public var valTop1: Double
        public var bestValTop1: Double
        public var trainableParams: Int
        /// Bytes of gradient allreduced per optimizer step (float32 trainable gradients).
        public var gradBytesPerStep: Int { trainableParams * MemoryLayout<Float>.size }
        public var msPerStep: Double
        public var imagesPerSecond: Double
        /// Training time including the linear-probe phase of LP-FT runs (evaluation excluded).
        public var trainSeconds: Double
        public var peakRSSMiB: Double
        public var perClass: [Double]
    }

    /// `lora-imagenet-s2` → `lora-imagenet`: runs that differ only in their seed share a group.
    public static func group(ofRun name: String) -> String {
        guard let r = name.range(of: #"-s[0-9]+$"#, options: .regularExpression) else { return name }
        return String(name[..<r.lowerBound])
    }

    /// Parses one run's summary.json; `nil` when the run has not finished.
    public static func readRun(dir: String, name: String) throws -> Run? {
        let path = dir + "/summary.json"
        guard let s = try JSONFile.readIfPresent(RunSummary.self, from: path) else { return nil }
        let c = s.config
        var seconds = s.trainSeconds, lpTop1 = Double.nan
        if c.linearProbeEpochs > 0, let probe = try JSONFile.readIfPresent(RunSummary.self, from: dir + "/linear_probe/summary.json") {
            seconds += probe.trainSeconds
            lpTop1 = probe.finalValTop1 ?? .nan
        }
        let isLoRA = s.mode == "lora"
        return Run(name: name, mode: s.mode, headInit: c.headInit, lpEpochs: c.linearProbeEpochs, lpValTop1: lpTop1,
                   loraRank: isLoRA ? c.loraRank : 0, loraAlpha: isLoRA ? c.loraAlpha : 0,
                   loraTargets: isLoRA ? LoRAConfig.key(c.loraTargets) : "",
                   epochs: s.epochs, seed: Int(truncatingIfNeeded: c.seed), lr: s.learningRate,
                   labelSmoothing: c.labelSmoothing, layerDecay: c.layerDecay,
                   valTop1: try JSONFile.require(s.finalValTop1, "final_val_top1", in: path),
                   bestValTop1: s.bestValTop1 ?? .nan, trainableParams: s.trainableParams,
                   msPerStep: 1000 * s.trainSeconds / Double(max(s.steps, 1)), imagesPerSecond: s.trainImagesPerSecond,
                   trainSeconds: seconds, peakRSSMiB: s.peakRSSMiB, perClass: s.finalValPerClass ?? [])
    }

    /// Every finished run under `<dir>/runs`, sorted by name.
    public static func readRuns(dir: String) throws -> [Run] {
        let runsDir = dir + "/runs"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: runsDir) else {
            throw TrainError.io("\(runsDir): no such directory (run scripts/sweep.sh first)")
        }
        return try names.sorted().compactMap { try readRun(dir: runsDir + "/" + $0, name: $0) }
    }

    static func f(_ v: Double, _ digits: Int = 4) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "" }

    public static func runsCSV(_ runs: [Run]) -> String {
        var t = CSVTable(header: ["name", "group", "mode", "head_init", "lp_epochs", "lp_val_top1", "lora_rank", "lora_alpha",
                                  "lora_targets", "epochs", "seed", "lr", "label_smoothing", "layer_decay", "val_top1",
                                  "best_val_top1", "trainable_params", "grad_bytes_per_step", "ms_per_step", "img_per_s",
                                  "train_seconds", "peak_rss_mib"])
        for r in runs {
            t.append([r.name, r.group, r.mode, r.headInit, "\(r.lpEpochs)", f(r.lpValTop1, 5), "\(r.loraRank)", f(r.loraAlpha, 1), r.loraTargets,
                      "\(r.epochs)", "\(r.seed)", String(format: "%g", r.lr), f(r.labelSmoothing, 2), f(r.layerDecay, 2),
                      f(r.valTop1, 5), f(r.bestValTop1, 5), "\(r.trainableParams)", "\(r.gradBytesPerStep)",
                      f(r.msPerStep, 1), f(r.imagesPerSecond, 2), f(r.trainSeconds, 1), f(r.peakRSSMiB, 0)])
        }
        return t.text
    }

    /// Mean and sample standard deviation (n − 1; 0 for a single run).
    public static func meanStd(_ xs: [Double]) -> (mean: Double, std: Double) {
        let n = Double(xs.count)
        guard n > 0 else { return (.nan, .nan) }
        let mean = xs.reduce(0, +) / n
        guard n > 1 else { return (mean, 0) }
        return (mean, (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot())
    }

    /// Runs that share a group, with their mean and sample std of val top-1, sorted by name.
    struct Group {
        let name: String, runs: [Run], mean: Double, std: Double
        var first: Run { runs[0] }
    }

    static func groups(_ runs: [Run]) -> [Group] {
        Dictionary(grouping: runs, by: \.group).map { name, g in
            let (m, sd) = meanStd(g.map(\.valTop1))
            return Group(name: name, runs: g, mean: m, std: sd)
        }.sorted { $0.name < $1.name }
    }

    public static func groupsCSV(_ runs: [Run]) -> String {
        var t = CSVTable(header: ["group", "n", "seeds", "mode", "head_init", "lp_epochs", "lora_rank", "lora_targets", "epochs",
                                  "mean_top1", "std_top1", "min_top1", "max_top1", "trainable_params", "grad_bytes_per_step",
                                  "mean_train_seconds", "lr", "layer_decay", "label_smoothing"])
        for grp in groups(runs) {
            let g = grp.runs, r = grp.first, acc = g.map(\.valTop1)
            t.append([grp.name, "\(g.count)", g.map { "\($0.seed)" }.joined(separator: " "), r.mode, r.headInit, "\(r.lpEpochs)",
                      "\(r.loraRank)", r.loraTargets, "\(r.epochs)", f(grp.mean, 5), f(grp.std, 5), f(acc.min()!, 5), f(acc.max()!, 5),
                      "\(r.trainableParams)", "\(r.gradBytesPerStep)", f(meanStd(g.map(\.trainSeconds)).mean, 1),
                      String(format: "%g", r.lr), f(r.layerDecay, 2), f(r.labelSmoothing, 2)])
        }
        return t.text
    }

    /// Per-class val top-1 of each group: mean and sample std over its seeds.
    public static func groupsPerClassCSV(_ runs: [Run], classes: [String]) -> String {
        var t = CSVTable(header: ["group", "n", "class", "mean_top1", "std_top1"])
        for g in groups(runs) {
            let k = g.runs.map(\.perClass.count).min() ?? 0
            for i in 0..<k {
                let (m, sd) = meanStd(g.runs.map { $0.perClass[i] })
                t.append([g.name, "\(g.runs.count)", i < classes.count ? classes[i] : "\(i)", f(m, 5), f(sd, 5)])
            }
        }
        return t.text
    }

    /// The recipe of a run apart from its LoRA rank, alpha, targets and seed.
    static func recipeKey(_ r: Run) -> String {
        "\(r.mode) \(r.headInit) lp\(r.lpEpochs) ep\(r.epochs) lr\(r.lr) ls\(r.labelSmoothing) ld\(r.layerDecay)"
    }

    /// The rank sweep: the LoRA groups of the one recipe with the most distinct (rank, targets)
    /// points (ties: the recipe with more runs), all-layer points by rank first, then the smaller target sets; empty if no
    /// recipe has two or more points.
    static func rankSweep(_ groupList: [Group]) -> [Group] {
        let lora = groupList.filter { $0.first.mode == "lora" }
        let byRecipe = Dictionary(grouping: lora) { recipeKey($0.first) }
        guard let best = byRecipe.values.max(by: { a, b in
            (a.count, a.reduce(0) { $0 + $1.runs.count }, recipeKey(b[0].first)) < (b.count, b.reduce(0) { $0 + $1.runs.count }, recipeKey(a[0].first))
        }), best.count >= 2 else { return [] }
        let all = LoRAConfig.allTargetsKey
        return best.sorted { a, b in
            (a.first.loraTargets == all ? 0 : 1, a.first.loraTargets.count, a.first.loraRank)
                < (b.first.loraTargets == all ? 0 : 1, b.first.loraTargets.count, b.first.loraRank)
        }
    }

    /// `ranks.csv`: the rank sweep's accuracy, size and communication per point, and its step
    /// time from `rank_bench.csv` (`scripts/bench-ranks.sh`: every rank timed in one
    /// invocation on synthetic input) when given — a sweep run's own time shares the machine
    /// with evaluation and other work, so it is kept only as `run_ms_per_step`.
    public static func ranksCSV(_ runs: [Run], bench: CSVTable?) throws -> String {
        var t = CSVTable(header: ["group", "lora_rank", "lora_alpha", "lora_targets", "n", "mean_top1", "std_top1", "trainable_params",
                                  "grad_bytes_per_step", "bench_ms_per_step", "bench_img_per_s", "run_ms_per_step"])
        for g in rankSweep(groups(runs)) {
            let r = g.first
            var benchMs = "", benchRate = ""
            if let b = bench, let row = try b.rows(where: ["lora_rank": "\(r.loraRank)", "lora_targets": r.loraTargets]).first {
                benchMs = f(try b.double(row, "ms_per_step"), 1)
                benchRate = f(try b.double(row, "img_per_s"), 2)
            }
            t.append([g.name, "\(r.loraRank)", f(r.loraAlpha, 1), r.loraTargets, "\(g.runs.count)", f(g.mean, 5), f(g.std, 5),
                      "\(r.trainableParams)", "\(r.gradBytesPerStep)", benchMs, benchRate, f(meanStd(g.runs.map(\.msPerStep)).mean, 1)])
        }
        return t.text
    }

    public static func perClassCSV(_ runs: [Run], classes: [String]) -> String {
        var t = CSVTable(header: ["name", "class", "val_top1"])
        for r in runs {
            for (i, a) in r.perClass.enumerated() { t.append([r.name, i < classes.count ? classes[i] : "\(i)", f(a, 5)]) }
        }
        return t.text
    }

    /// Writes the CSVs into `dir` with the zero-shot summary at `baselinePath` (`woof-dist
    /// eval --summary`: its class names label per_class.csv; skipped if the file is missing).
    /// Returns a short text table of the groups.
    @discardableResult
    public static func write(dir: String, baselinePath: String) throws -> String {
        let baseline = try JSONFile.readIfPresent(EvalSummary.self, from: baselinePath)
        return try write(dir: dir, classes: baseline?.classes ?? [])
    }

    @discardableResult
    public static func write(dir: String, classes: [String]) throws -> String {
        let runs = try readRuns(dir: dir)
        guard !runs.isEmpty else { throw TrainError.io("\(dir)/runs: no finished run (no summary.json yet)") }
        for (name, text) in [("runs.csv", runsCSV(runs)), ("groups.csv", groupsCSV(runs)),
                             ("per_class.csv", perClassCSV(runs, classes: classes)),
                             ("groups_per_class.csv", groupsPerClassCSV(runs, classes: classes))] {
            try AtomicFile.write(Data(text.utf8), to: dir + "/" + name)
        }
        let benchPath = dir + "/rank_bench.csv"
        let bench = FileManager.default.fileExists(atPath: benchPath) ? try CSVTable.read(benchPath) : nil
        try bench?.require(["lora_rank", "lora_targets", "ms_per_step", "img_per_s"])
        try AtomicFile.write(Data(try ranksCSV(runs, bench: bench).utf8), to: dir + "/ranks.csv")

        let groupList = groups(runs)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        var text = pad("group", 30, left: true) + pad("n", 3) + pad("top-1 %", 10) + pad("± std", 8) + pad("trainable", 11) + pad("train min", 11) + "\n"
        for g in groupList {
            text += pad(g.name, 30, left: true) + pad("\(g.runs.count)", 3) + pad(f(100 * g.mean, 2), 10) + pad(f(100 * g.std, 2), 8)
                + pad("\(g.first.trainableParams)", 11) + pad(f(meanStd(g.runs.map(\.trainSeconds)).mean / 60, 1), 11) + "\n"
        }
        return text
    }
}
