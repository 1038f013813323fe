import Foundation
import WoofIO
import WoofTrain

/// The weight-space study's part of the paper's results (`woof-dist weight-space` wrote the
/// CSVs into output/weightspace): copied as `ws_*.csv`, and the `ws_*` numbers.
extension ReportData {
    /// (file in the study directory, its copy in the results directory).
    static let weightSpaceFiles = WeightSpaceStudy.tableFiles.map { ($0, "ws_" + $0) }
    /// The goal for the best weight-space model's val top-1.
    static let weightSpaceGoalTop1 = 0.953

    /// `results --weightspace-only`: replaces the weight-space section of `reportDir` from
    /// `dir` (output/weightspace), keeping every other result.
    public static func collectWeightSpace(dir: String, reportDir: String) throws -> [String] {
        let summaryPath = reportDir + "/summary.json"
        var s = try JSONFile.read(PaperNumbers.self, from: summaryPath, missing: "run `make publish-results` first")
        for k in Array(s.keys) where k.hasPrefix("ws_") { s.values[k] = nil }
        var written: [String] = []
        try weightSpaceNumbers(dir, into: &s) { name, text in
            try AtomicFile.write(Data(text.utf8), to: reportDir + "/" + name)
            written.append(reportDir + "/" + name)
        }
        try AtomicFile.write(try JSONFile.encoded(s), to: summaryPath)
        return written + [summaryPath]
    }

    /// In a full `results`: the section when `out/weightspace` has its tables; else the
    /// committed copies are kept (refused to drop) or, with `dropMissing`, removed.
    static func optionalWeightSpace(_ out: String, reportDir: String, dropMissing: Bool, into s: inout PaperNumbers,
                                    write: (String, String) throws -> Void, log: (String) -> Void) throws {
        let dir = out + "/weightspace"
        if FileManager.default.fileExists(atPath: dir + "/alpha_sweep.csv") { return try weightSpaceNumbers(dir, into: &s, write: write) }
        try refuseToDrop(reportDir + "/ws_alpha_sweep.csv", missing: dir + "/alpha_sweep.csv", unless: dropMissing)
        for (_, dst) in weightSpaceFiles { try? FileManager.default.removeItem(atPath: reportDir + "/" + dst) }
        log("\(dir): no alpha_sweep.csv (optional: make weightspace); the paper marks it pending")
    }

    /// Reads the study's tables, copies them and sets the `ws_*` numbers.
    static func weightSpaceNumbers(_ dir: String, into s: inout PaperNumbers, write: (String, String) throws -> Void) throws {
        var tables: [String: CSVTable] = [:]
        for (src, dst) in weightSpaceFiles {
            let t = try CSVTable.read(dir + "/" + src, missing: "woof-dist weight-space writes it")
            tables[src] = t
            try write(dst, t.text)
        }
        let sweep = tables["alpha_sweep.csv"]!
        guard !sweep.rows.isEmpty else { throw TrainError.io("\(dir)/alpha_sweep.csv: no rows") }
        s["ws_runs_count"] = Set(try sweep.rows.indices.map { try sweep.string($0, "run") }).count
        let alphas = Set(try sweep.rows.indices.map { try sweep.double($0, "alpha") }).sorted()
        s["ws_alphas_count"] = alphas.count
        s["ws_alphas"] = alphas.map { String(format: "%g", $0) }.joined(separator: ", ")
        if let z = try sweep.rows(where: ["alpha": "0.0"]).first {
            s["ws_zero_shot_top1"] = try sweep.double(z, "val_top1")
            s["ws_zero_shot_heldout_top1"] = try sweep.optionalDouble(z, "val_heldout_top1")
            s["ws_heldout_images"] = try sweep.double(z, "val_heldout_images")
            s["ws_select_images"] = try sweep.optionalDouble(z, "select_images")
        }
        var best: [(name: String, top1: Double, heldOut: Double?)] = []
        try weightSpaceGroupNumbers(tables["alpha_groups.csv"]!, tables["wise_chosen.csv"]!, into: &s, best: &best)
        try weightSpaceSoupNumbers(tables["soups.csv"]!, tables["greedy_steps.csv"]!, into: &s, best: &best)
        try weightSpaceFlipNumbers(tables["flip_tta.csv"]!, valImages: try sweep.double(0, "val_images"), into: &s)
        s["ws_available"] = true
        s["ws_goal_top1"] = weightSpaceGoalTop1
        if let top = best.max(by: { $0.top1 < $1.top1 }) {
            s["ws_best_group"] = top.name
            s["ws_best_top1"] = top.top1
            s["ws_best_heldout_top1"] = top.heldOut
            s["ws_goal_met_available"] = top.top1 > weightSpaceGoalTop1
        }
    }

    /// Per recipe: the runs (α = 1), WiSE-FT at the α chosen on the held-out training images
    /// (mean ± std over seeds), and the best α of the val curve (an oracle, never reported as a result).
    static func weightSpaceGroupNumbers(_ groups: CSVTable, _ chosen: CSVTable, into s: inout PaperNumbers,
                                        best: inout [(name: String, top1: Double, heldOut: Double?)]) throws {
        let names = Set(try groups.rows.indices.map { try groups.string($0, "group") }).sorted()
        for g in names {
            let k = "ws_" + slug(g)
            let rows = try groups.rows(where: ["group": g])
            if let own = try rows.first(where: { try groups.string($0, "alpha") == "1.0" }) {
                s[k + "_seeds_count"] = try groups.double(own, "n")
                s[k + "_run_top1"] = try groups.double(own, "val_top1_mean")
                s[k + "_run_std_top1"] = try groups.double(own, "val_top1_std")
                s[k + "_run_heldout_top1"] = try groups.optionalDouble(own, "val_heldout_top1_mean")
            }
            if let oracle = try rows.max(by: { try groups.double($0, "val_top1_mean") < groups.double($1, "val_top1_mean") }) {
                s[k + "_oracle_alpha"] = try groups.double(oracle, "alpha")
                let top1 = try groups.double(oracle, "val_top1_mean")
                s[k + "_oracle_top1"] = top1
                s[k + "_oracle_below_goal_pp"] = 100 * (weightSpaceGoalTop1 - top1)
                if let run: Double = s[k + "_run_top1"] { s[k + "_oracle_gain_pp"] = 100 * (top1 - run) }
            }
            let picks = try chosen.rows(where: ["group": g])
            guard !picks.isEmpty else { continue }
            let top1 = Study.meanStd(try picks.map { try chosen.double($0, "val_top1") })
            let heldOut = try picks.compactMap { try chosen.optionalDouble($0, "val_heldout_top1") }
            let alphas = try picks.map { try chosen.double($0, "alpha") }
            s[k + "_wise_top1"] = top1.mean
            s[k + "_wise_std_top1"] = top1.std
            s[k + "_wise_heldout_top1"] = heldOut.isEmpty ? nil : Study.meanStd(heldOut).mean
            s[k + "_wise_alpha"] = (100 * alphas.reduce(0, +) / Double(alphas.count)).rounded() / 100
            if let run: Double = s[k + "_run_top1"] { s[k + "_wise_gain_pp"] = 100 * (top1.mean - run) }
            best.append(("WiSE-FT of \(g)", top1.mean, heldOut.isEmpty ? nil : Study.meanStd(heldOut).mean))
        }
        topOracle(names, into: &s)
        s["ws_seeds_available"] = try names.contains { g in
            try groups.rows(where: ["group": g]).contains { try groups.double($0, "n") > 1 }
        }
    }

    /// The recipe whose val curve reaches highest (`ws_top_oracle_*`): the bound the "why"
    /// sentence compares with the goal.
    static func topOracle(_ groups: [String], into s: inout PaperNumbers) {
        let peaks = groups.compactMap { g -> (String, Double)? in
            guard let top1: Double = s["ws_" + slug(g) + "_oracle_top1"] else { return nil }
            return (g, top1)
        }
        guard let (g, _) = peaks.max(by: { $0.1 < $1.1 }) else { return }
        s["ws_top_oracle_group"] = g
        for suffix in ["_alpha", "_top1", "_gain_pp", "_below_goal_pp"] { s.values["ws_top_oracle" + suffix] = s.values["ws_" + slug(g) + "_oracle" + suffix] }
    }

    /// The soups: each recipe's seed soup, the soup of all runs, the greedy soup.
    static func weightSpaceSoupNumbers(_ soups: CSVTable, _ steps: CSVTable, into s: inout PaperNumbers,
                                       best: inout [(name: String, top1: Double, heldOut: Double?)]) throws {
        for r in soups.rows.indices {
            let name = try soups.string(r, "soup")
            let k = "ws_" + soupKey(name)
            s[k + "_top1"] = try soups.double(r, "val_top1")
            s[k + "_heldout_top1"] = try soups.optionalDouble(r, "val_heldout_top1")
            s[k + "_select_top1"] = try soups.optionalDouble(r, "select_top1")
            s[k + "_members_count"] = try soups.double(r, "n")
            // A seed soup against the mean of the seeds it averages.
            let group = name.replacingOccurrences(of: "seed soup ", with: "")
            if name.hasPrefix("seed soup "), let runs: Double = s["ws_" + slug(group) + "_run_top1"] {
                s[k + "_gain_pp"] = 100 * (try soups.double(r, "val_top1") - runs)
            }
            best.append((name, try soups.double(r, "val_top1"), try soups.optionalDouble(r, "val_heldout_top1")))
        }
        s["ws_soups_available"] = !soups.rows.isEmpty
        s["ws_greedy_available"] = try soups.rows(where: ["soup": "greedy soup"]).count == 1
        s["ws_greedy_offered_count"] = steps.rows.count
    }

    /// `greedy soup` → `greedy`, `soup of all runs` → `soup_all`, `seed soup best-lora` → `soup_best_lora`.
    static func soupKey(_ name: String) -> String {
        name == "greedy soup" ? "greedy" : name == "soup of all runs" ? "soup_all"
            : name == "zero-shot" ? "zero_shot" : "soup_" + slug(name.replacingOccurrences(of: "seed soup ", with: ""))
    }

    /// Flip TTA (`ws_flip_*`), apart from the weight-space results because it doubles the
    /// inference cost: each model's val and ImageNet-val top-1 with it, the change it makes,
    /// and the best model under it against the goal.
    static func weightSpaceFlipNumbers(_ flips: CSVTable, valImages: Double, into s: inout PaperNumbers) throws {
        var best: (name: String, top1: Double, heldOut: Double?)?
        for r in flips.rows.indices {
            let name = try flips.string(r, "model"), k = "ws_flip_" + soupKey(name)
            let top1 = try flips.double(r, "flip_val_top1"), heldOut = try flips.optionalDouble(r, "flip_val_heldout_top1")
            s[k + "_top1"] = top1
            s[k + "_heldout_top1"] = heldOut
            s[k + "_gain_pp"] = 100 * (top1 - (try flips.double(r, "val_top1")))
            if let h = heldOut, let plain = try flips.optionalDouble(r, "val_heldout_top1") { s[k + "_heldout_gain_pp"] = 100 * (h - plain) }
            if name != "zero-shot", best.map({ top1 > $0.top1 }) ?? true { best = (name, top1, heldOut) }
        }
        s["ws_flip_available"] = !flips.rows.isEmpty
        guard let best else { return }
        s["ws_flip_best_group"] = best.name
        s["ws_flip_best_top1"] = best.top1
        s["ws_flip_best_heldout_top1"] = best.heldOut
        s["ws_flip_goal_met_available"] = best.top1 > weightSpaceGoalTop1
        // How many more val images it would need to get right to pass the goal.
        let correct = (best.top1 * valImages).rounded(), needed = (weightSpaceGoalTop1 * valImages).rounded(.down) + 1
        s["ws_flip_best_short_images"] = max(0, needed - correct)
    }
}
