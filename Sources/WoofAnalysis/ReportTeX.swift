import Foundation
import WoofTrain
import WoofCore
import WoofModel
import WoofIO

/// `woof-dist results`, second half: LaTeX and the README's results table made from the
/// files in `report/results/` alone (so `make report` needs no `output/`). Every function
/// here is a pure function of those files' text.
public enum ReportTeX {
    /// How a value prints, chosen by the suffix of its key in summary.json.
    enum Format: Equatable {
        case percentOfFraction(Int)  // 0.942 → "94.20"
        case fixed(Int)
        case grouped                 // 5526346 → "5{,}526{,}346"
        case integer
        case general                 // %g
        case text
        case flag                    // \newif
    }

    /// Suffix rules, most specific first. A key matching none is an error, so every new
    /// number gets a deliberate format.
    static let rules: [(String, Format)] = [
        ("_available", .flag),
        ("_wilson_low_top1", .percentOfFraction(1)), ("_wilson_high_top1", .percentOfFraction(1)),  // interval ends
        ("_top1", .percentOfFraction(2)), ("_pp", .fixed(2)), ("_eff_pct", .fixed(1)), ("_pct", .fixed(2)),
        ("_percent", .fixed(0)),
        ("_params", .grouped), ("_bytes", .grouped), ("_images", .grouped), ("_steps", .grouped),
        ("_mb", .fixed(2)), ("_mib", .fixed(0)), ("_gib", .fixed(1)), ("_img_per_s", .fixed(1)), ("_gflop_per_s", .fixed(0)), ("_ms", .fixed(2)),
        ("_min", .fixed(1)), ("_s", .fixed(2)), ("_speedup", .fixed(2)), ("_ratio", .fixed(1)),
        ("_js", .fixed(3)), ("_auc", .fixed(3)), ("_iou", .fixed(3)), ("_nats", .fixed(2)), ("_patches", .fixed(1)), ("_loss", .fixed(3)),
        ("_count", .integer), ("_epochs", .integer), ("_epoch", .integer), ("_rank", .integer), ("_cores", .integer),
        ("_dim", .integer), ("_depth", .integer), ("_heads", .integer), ("_nodes", .integer), ("_batch", .integer),
        ("_size", .integer), ("_seed", .integer), ("_mbit", .fixed(0)),
        ("_alpha", .general), ("_lr", .general), ("_decay", .general), ("_scale", .general), ("_us", .general),
        ("_smoothing", .general),
        ("_commit", .text), ("_cpu", .text), ("_targets", .text), ("_group", .text), ("_ranks", .text),
        ("_dataset", .text), ("_class", .text), ("_caps", .text), ("_alphas", .text),
    ]

    /// Every flag the paper tests (`\ifStudyAvailable` …), one list: numbers.tex always
    /// defines each of them (false unless summary.json says true), so the paper builds in
    /// every state of the results, and a flag the list lacks is an error.
    public static let flags = [
        "attn_artifacts_available", "attn_faithfulness_available", "bench_available", "bench_roofline_available", "heldout_available", "net_available",
        "proj_calibrated_available",
        "study_available", "study_best_recipes_available", "study_best_spread_available", "study_final_available",
        "study_final_seeds_vary_available", "study_rank_grid_available", "study_ranks_available", "study_ranks_timed_available",
        "study_recipes_available", "study_seeds_available",
        "ws_available", "ws_flip_available", "ws_flip_goal_met_available", "ws_goal_met_available", "ws_greedy_available", "ws_seeds_available", "ws_soups_available",
    ]

    static func format(for key: String) throws -> Format {
        guard let f = rules.first(where: { key.hasSuffix($0.0) })?.1 else {
            throw TrainError.io("summary.json: no format rule for key '\(key)' (ReportTeX.rules)")
        }
        return f
    }

    static let ones = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
                       "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"]
    static let tens = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]

    /// 64 → "SixtyFour" (0–999; larger numbers digit by digit), for macro names.
    static func words(_ digits: String) -> String {
        guard let n = Int(digits), n < 1000, digits.count < 4 else { return digits.map { words(String($0)) }.joined() }
        if n < 20 { return ones[n] }
        if n < 100 { return tens[n / 10] + (n % 10 == 0 ? "" : ones[n % 10]) }
        return ones[n / 100] + "Hundred" + (n % 100 == 0 ? "" : words(String(n % 100)))
    }

    /// `zero_shot_top1` → `ZeroShotTopOne`: LaTeX macro names allow letters only.
    public static func macroName(_ key: String) -> String {
        key.split(separator: "_").map { part -> String in
            var out = "", run = ""
            for ch in part {
                if ch.isNumber { run.append(ch); continue }
                if !run.isEmpty { out += words(run); run = "" }
                out += out.isEmpty ? ch.uppercased() : String(ch)
            }
            if !run.isEmpty { out += words(run) }
            return out.prefix(1).uppercased() + out.dropFirst()
        }.joined()
    }

    /// Escapes text for LaTeX.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\\": out += "\\textbackslash{}"
            case "&", "%", "$", "#", "_", "{", "}": out += "\\" + String(ch)
            case "~": out += "\\textasciitilde{}"
            case "^": out += "\\textasciicircum{}"
            default: out.append(ch)
            }
        }
        return out
    }

    static func grouped(_ v: Int, separator: String) -> String {
        let digits = String(abs(v))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += separator }
            out.append(ch)
        }
        return (v < 0 ? "-" : "") + out
    }

    static func fixed(_ v: Double, _ places: Int) -> String {
        let s = String(format: "%.\(places)f", v)
        return s == "-" + String(format: "%.\(places)f", 0.0) ? String(s.dropFirst()) : s
    }

    /// The printed form of one value (without LaTeX math for a minus sign).
    static func render(_ value: PaperValue, key: String) throws -> String {
        let f = try format(for: key)
        if f == .text {
            guard case .text(let s) = value else { throw TrainError.io("summary.json: '\(key)' should be text") }
            return escape(s)
        }
        if f == .flag {
            guard case .flag(let b) = value else { throw TrainError.io("summary.json: '\(key)' should be true or false") }
            return b ? "true" : "false"
        }
        guard let v = value.double else { throw TrainError.io("summary.json: '\(key)' should be a number") }
        guard v.isFinite else { throw TrainError.io("summary.json: '\(key)' is not finite") }
        switch f {
        case .percentOfFraction(let p): return fixed(100 * v, p)
        case .fixed(let p): return fixed(v, p)
        case .grouped: return grouped(Int(v.rounded()), separator: "{,}")
        case .integer: return String(Int(v.rounded()))
        case .general: return String(format: "%g", v)
        case .flag, .text: return ""
        }
    }

    /// The paper's numbers from the text of a summary.json (`path` names it in errors).
    static func parseSummary(_ data: Data, path: String = "summary.json") throws -> PaperNumbers {
        try JSONFile.decode(PaperNumbers.self, from: data, path: path)
    }

    /// numbers.tex from the text of a summary.json.
    public static func macros(summaryJSON data: Data) throws -> String { try macros(try parseSummary(data)) }

    /// numbers.tex: one `\newcommand` per key of summary.json, and a `\newif` for every
    /// name in `flags` (false when summary.json lacks it).
    public static func macros(_ numbers: PaperNumbers) throws -> String {
        var o = numbers
        for key in o.keys where try format(for: key) == .flag && !flags.contains(key) {
            throw TrainError.io("summary.json: flag '\(key)' is not in ReportTeX.flags")
        }
        for key in flags where !o.has(key) { o[key] = false }
        var s = "% Generated by `woof-dist results` from report/results/summary.json. Do not edit.\n"
        var seen: [String: String] = [:]
        for key in o.keys.sorted() {
            let name = macroName(key)
            if let other = seen[name] { throw TrainError.io("summary.json: keys '\(other)' and '\(key)' both give \\\(name)") }
            seen[name] = key
            let v = try render(o.values[key]!, key: key)
            if try format(for: key) == .flag {
                s += "\\newif\\if\(name)\\\(name)\(v)\n"
            } else {
                let tex = v.hasPrefix("-") ? "\\ensuremath{-}" + v.dropFirst() : v
                s += "\\newcommand{\\\(name)}{\(tex)}\n"
            }
        }
        return s
    }

    // MARK: Tables (booktabs fragments) and derived CSVs

    static func read(_ dir: String, _ name: String) throws -> CSVTable {
        try CSVTable.read(dir + "/" + name, missing: "run `make publish-results`")
    }

    static func pct(_ v: Double, _ p: Int = 1) -> String { fixed(100 * v, p) }

    /// Per-class top-1 of the three methods; the best of each row in bold.
    /// Per-class top-1 of the main runs, and optionally of study groups (mean over their seeds,
    /// from study_per_class.csv) as extra columns headed by `extra`'s labels.
    static func perClassTable(_ t: CSVTable, extra: [(label: String, group: String)] = [], study: CSVTable? = nil) throws -> String {
        let methods = ["zero_shot_top1", "full_top1", "lora_top1"]
        try t.require(["class", "images"] + methods)
        var s = "\\begin{tabular}{@{}lrrrr" + String(repeating: "r", count: extra.count) + "@{}}\n\\toprule\n"
        s += "class & images & zero-shot & full FT & LoRA" + extra.map { " & " + $0.label }.joined() + " \\\\\n\\midrule\n"
        let k = methods.count + extra.count
        var total = 0.0, correct = [Double](repeating: 0, count: k)
        for r in t.rows.indices {
            let n = try t.double(r, "images")
            let name = try t.string(r, "class")
            var v = try methods.map { try t.double(r, $0) }
            for e in extra {
                guard let study, let row = try study.rows(where: ["group": e.group, "class": name]).first else {
                    throw TrainError.io("study_per_class.csv: no row for group \(e.group), class \(name)")
                }
                v.append(try study.double(row, "mean_top1"))
            }
            total += n
            for i in 0..<k { correct[i] += v[i] * n }
            s += escape(try t.string(r, "class")) + " & " + grouped(Int(n), separator: "{,}") + cells(v) + " \\\\\n"
        }
        s += "\\midrule\nall & " + grouped(Int(total), separator: "{,}") + cells(correct.map { $0 / total }) + " \\\\\n\\bottomrule\n\\end{tabular}\n"
        return s
    }

    /// Percent cells with the row maximum (at the printed precision) in bold.
    static func cells(_ v: [Double]) -> String {
        let printed = v.map { pct($0) }
        let best = printed.compactMap(Double.init).max()
        return printed.map { " & " + (Double($0) == best ? "\\textbf{\($0)}" : $0) }.joined()
    }

    /// Measured data-parallel steps: ranks, threads, throughput, step and allreduce time, bytes.
    static func scalingTable(_ t: CSVTable) throws -> String {
        var s = "\\begin{tabular}{@{}lrrrrrrr@{}}\n\\toprule\n"
        s += "mode & ranks & threads & img/s & speed-up & step (s) & allreduce (ms) & gradient MB/step \\\\\n\\midrule\n"
        for (k, m) in ["full", "lora"].enumerated() {
            let rows = try t.rows(where: ["mode": m]).sorted { try t.double($0, "ranks") < t.double($1, "ranks") }
            guard let one = rows.first else { continue }
            if k > 0 { s += "\\addlinespace\n" }
            let base = try t.double(one, "img_per_s")
            for r in rows {
                let over = try t.string(r, "oversubscribed") == "1"
                let step = try t.double(r, "compute_s_per_step") + t.double(r, "comm_s_per_step")
                s += (r == one ? (m == "full" ? "full FT" : "LoRA") : "")
                s += " & \(Int(try t.double(r, "ranks")))\(over ? "$^\\dagger$" : "") & \(Int(try t.double(r, "threads_per_rank")))"
                s += " & " + fixed(try t.double(r, "img_per_s"), 1) + " & " + fixed(try t.double(r, "img_per_s") / base, 2)
                s += " & " + fixed(step, 2) + " & " + fixed(1000 * (try t.double(r, "comm_s_per_step")), 2)
                s += " & " + fixed(try t.double(r, "bytes_per_step") / 1e6, 2) + " \\\\\n"
            }
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// The attention analysis's models by slug, as the paper's tables name them.
    static let attentionModelNames = ["pretrained": "original", "full_model": "full FT", "lora_model": "LoRA"]

    /// JS divergence and mask IoU per model pair and head, over all val images.
    static func attentionTable(_ t: CSVTable) throws -> String {
        let heads = ["0", "1", "2", "mean"]
        var s = "\\begin{tabular}{@{}l" + String(repeating: "r", count: 2 * heads.count) + "@{}}\n\\toprule\n"
        s += " & \\multicolumn{\(heads.count)}{c}{JS divergence (nats)} & \\multicolumn{\(heads.count)}{c}{mask IoU} \\\\\n"
        s += "\\cmidrule(lr){2-\(1 + heads.count)}\\cmidrule(l){\(2 + heads.count)-\(1 + 2 * heads.count)}\n"
        let hdr = heads.map { $0 == "mean" ? "mean" : "h\($0)" }.joined(separator: " & ")
        s += "models & " + hdr + " & " + hdr + " \\\\\n\\midrule\n"
        var pairs: [(String, String)] = []
        for r in try t.rows(where: ["class": "all", "head": "mean"]) {
            pairs.append((try t.string(r, "model_a"), try t.string(r, "model_b")))
        }
        for (a, b) in pairs {
            var js: [String] = [], iou: [String] = []
            for h in heads {
                guard let r = try t.rows(where: ["class": "all", "head": h, "model_a": a, "model_b": b]).first else {
                    throw TrainError.io("\(t.path): no row for \(a) vs \(b), head \(h)")
                }
                js.append(fixed(try t.double(r, "js_mean"), 3)); iou.append(fixed(try t.double(r, "iou_mean"), 3))
            }
            s += "\(attentionModelNames[a] ?? escape(a)) vs \(attentionModelNames[b] ?? escape(b)) & " + js.joined(separator: " & ") + " & " + iou.joined(separator: " & ") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// Groups of the rank sweep that only vary rank or targets (shown in the rank table, not the
    /// recipe table); the default r 8 on all layers is a recipe point as well.
    static func rankOnlyGroups(_ ranks: CSVTable?) throws -> Set<String> {
        guard let ranks else { return [] }
        let d = LoRAConfig(), all = LoRAConfig.allTargetsKey
        return Set(try ranks.rows.indices.filter { r in
            let (rank, targets) = (Int(try ranks.double(r, "lora_rank")), try ranks.string(r, "lora_targets"))
            return rank != d.rank || targets != all
        }.map { try ranks.string($0, "group") })
    }

    /// "head init, LP k, LLRD d" of a study group.
    static func recipe(_ t: CSVTable, _ r: Int) throws -> String {
        let lp = Int(try t.double(r, "lp_epochs"))
        // lr and layer decay arrived after the first sweeps: older groups.csv files lack them.
        let decay = (try? t.double(r, "layer_decay")) ?? 1
        return try t.string(r, "head_init") + (lp > 0 ? ", LP \(lp)" : "") + (decay != 1 ? ", LLRD \(fixed(decay, 2))" : "")
    }

    /// "94.20 ± 0.12" (no spread for one run).
    static func meanStd(_ t: CSVTable, _ r: Int) throws -> String {
        let n = Int(try t.double(r, "n"))
        let std = try t.optionalDouble(r, "std_top1")
        return pct(try t.double(r, "mean_top1"), 2) + (n > 1 && std != nil ? " $\\pm$ " + pct(std!, 2) : "")
    }

    /// The final configurations (the groups trained longest) over their seeds, against the
    /// zero-shot head.
    static func finalTable(_ t: CSVTable, zeroShot: Double) throws -> String {
        var s = "\\begin{tabular}{@{}lllrrrrr@{}}\n\\toprule\n"
        s += "configuration & method & head init & lr & seeds & top-1 (\\%) & vs.\\ zero-shot (pp) & train (min) \\\\\n\\midrule\n"
        let rows = try longestTrained(t).rows.sorted {
            (try t.string($0, "mode"), try t.string($0, "group")) < (try t.string($1, "mode"), try t.string($1, "group")) }
        for r in rows {
            let mode = try t.string(r, "mode")
            let d = fixed(100 * (try t.double(r, "mean_top1") - zeroShot), 2)
            let lr = (try? t.double(r, "lr")).map { String(format: "%g", $0) } ?? "--"
            s += escape(try t.string(r, "group")) + " & " + (mode == "lora" ? "LoRA" : mode == "full" ? "full FT" : escape(mode))
            s += " & " + escape(try recipe(t, r)) + " & " + escape(lr) + " & \(Int(try t.double(r, "n"))) & " + (try meanStd(t, r))
            s += " & " + (d.hasPrefix("-") ? "$-$" + d.dropFirst() : "+" + d)
            s += " & " + ((try? t.double(r, "mean_train_seconds")).map { fixed($0 / 60, 1) } ?? "--") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// The LoRA rank sweep: size, communication, accuracy and (benchmarked) step time.
    static func ranksTable(_ t: CSVTable) throws -> String {
        var s = "\\begin{tabular}{@{}rlrrrr@{}}\n\\toprule\n"
        s += "rank & adapted layers & trainable & allreduce / step & top-1 (\\%) & step (s) \\\\\n\\midrule\n"
        for r in t.rows.indices {
            let targets = (try t.string(r, "lora_targets")).split { "+; ".contains($0) }.map(String.init)
            let bytes = try t.double(r, "grad_bytes_per_step")
            let ms = Double(try t.string(r, "bench_ms_per_step"))
            s += "\(Int(try t.double(r, "lora_rank"))) & " + (Set(targets) == Set(LoRAConfig.allTargets) ? "all dense" : escape(targets.joined(separator: ", ")))
            s += " & " + grouped(Int(try t.double(r, "trainable_params")), separator: "{,}")
            s += " & " + (bytes >= 1e6 ? fixed(bytes / 1e6, 2) + " MB" : fixed(bytes / 1e3, 0) + " kB")
            s += " & " + (try meanStd(t, r)) + " & " + (ms.map { fixed($0 / 1000, 2) } ?? "--") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// The recipe points of the study, one row per group (mean ± std over its seeds); groups in
    /// `excluding` are in the rank table.
    static func studyTable(_ t: CSVTable, excluding: Set<String> = []) throws -> String {
        var s = "\\begin{tabular}{@{}lllllrrrr@{}}\n\\toprule\n"
        s += "group & mode & head init & adapted & lr & epochs & seeds & top-1 (\\%) & trainable \\\\\n\\midrule\n"
        let order = try t.rows.indices.filter { !excluding.contains(try t.string($0, "group")) }.sorted { (try t.string($0, "mode"), try t.double($0, "lora_rank"), try t.string($0, "group"))
            < (try t.string($1, "mode"), try t.double($1, "lora_rank"), try t.string($1, "group")) }
        for r in order {
            let mode = try t.string(r, "mode")
            let lr = (try? t.double(r, "lr")).map { String(format: "%g", $0) } ?? "--"
            let targets = (try t.string(r, "lora_targets")).split { "+; ".contains($0) }.map(String.init)
            let adapted = mode != "lora" ? "all" : "r \(Int(try t.double(r, "lora_rank"))), "
                + (Set(targets) == Set(LoRAConfig.allTargets) ? "all dense" : targets.joined(separator: ", "))
            s += escape(try t.string(r, "group")) + " & " + (mode == "lora" ? "LoRA" : mode == "full" ? "full FT" : escape(mode))
            s += " & " + escape(try recipe(t, r)) + " & " + escape(adapted) + " & " + escape(lr)
            s += " & \(Int(try t.double(r, "epochs"))) & \(Int(try t.double(r, "n"))) & " + (try meanStd(t, r))
            s += " & " + grouped(Int(try t.double(r, "trainable_params")), separator: "{,}") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// The final configurations: the groups trained for the most epochs, when sweep points
    /// were trained for fewer (otherwise none: every group is a sweep point).
    static func finalGroups(_ t: CSVTable) throws -> Set<String> {
        let (rows, epochs) = try longestTrained(t)
        guard Set(epochs).count > 1 else { return [] }
        return Set(try rows.map { try t.string($0, "group") })
    }

    /// Rows of study_groups.csv trained for the most epochs (the final configurations), and
    /// every row's epochs.
    static func longestTrained(_ t: CSVTable) throws -> (rows: [Int], epochs: [Int]) {
        let epochs = try t.rows.indices.map { Int(try t.double($0, "epochs")) }
        let longest = epochs.max() ?? 0
        return (t.rows.indices.filter { epochs[$0] == longest }, epochs)
    }

    /// Points of the study plot: mean top-1 (%) against trainable parameters, LoRA flagged.
    static func rankSweepCSV(_ t: CSVTable) throws -> String {
        var out = CSVTable(header: ["group", "lora", "rank", "trainable_params", "mean_pct", "std_pct"])
        for r in t.rows.indices {
            let std = try t.optionalDouble(r, "std_top1") ?? 0
            let lora = try t.string(r, "mode") == "lora"
            out.append([try t.string(r, "group"), lora ? "1" : "0", lora ? "\(Int(try t.double(r, "lora_rank")))" : "0",
                        "\(Int(try t.double(r, "trainable_params")))", fixed(100 * (try t.double(r, "mean_top1")), 3), fixed(100 * std, 3)])
        }
        return out.text
    }

    /// The 95% Wilson score interval of a binomial proportion `correct` / `n` (as fractions).
    static func wilson(correct: Int, of n: Int, z: Double = 1.959963984540054) -> (Double, Double) {
        guard n > 0 else { return (0, 1) }
        let nn = Double(n), p = Double(correct) / nn, z2 = z * z
        let centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z / (1 + z2 / nn) * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot()
        return (correct == 0 ? 0 : max(0, centre - half), correct == n ? 1 : min(1, centre + half))
    }

    /// Each model's top-1 on the val images ImageNet pretraining saw (its train split) and on
    /// the held-out ones (its val split), with 95% Wilson intervals.
    static func heldOutTable(_ t: CSVTable) throws -> String {
        try t.require(["model", "subset", "images", "correct", "top1"])
        let subsets = ["imagenet_train", "imagenet_val"]
        var sizes: [String: Int] = [:], models: [String] = []
        for r in t.rows.indices {
            let m = try t.string(r, "model"), sub = try t.string(r, "subset")
            guard subsets.contains(sub) else { throw TrainError.io("\(t.path): line \(r + 2): unknown subset '\(sub)'") }
            sizes[sub] = Int(try t.double(r, "images"))
            if !models.contains(m) { models.append(m) }
        }
        let names = ["zero_shot": "zero-shot", "full": "full FT", "lora": "LoRA"]
        func n(_ sub: String) -> String { grouped(sizes[sub] ?? 0, separator: "{,}") }
        var s = "\\begin{tabular}{@{}lrrrrrr@{}}\n\\toprule\n"
        s += " & \\multicolumn{2}{c}{from ImageNet train ($n=\(n("imagenet_train"))$)}"
        s += " & \\multicolumn{3}{c}{from ImageNet val, held out ($n=\(n("imagenet_val"))$)} & \\\\\n"
        s += "\\cmidrule(lr){2-3}\\cmidrule(lr){4-6}\n"
        s += "model & top-1 (\\%) & 95\\% interval & correct & top-1 (\\%) & 95\\% interval & val $-$ train (pp) \\\\\n\\midrule\n"
        for m in models {
            var p: [Double] = []
            s += names[m] ?? escape(m)
            for sub in subsets {
                guard let r = try t.rows(where: ["model": m, "subset": sub]).first else {
                    throw TrainError.io("\(t.path): no row for \(m) on \(sub)")
                }
                let k = Int(try t.double(r, "correct")), total = Int(try t.double(r, "images"))
                let (lo, hi) = wilson(correct: k, of: total)
                p.append(Double(k) / Double(total))
                if sub == "imagenet_val" { s += " & \(k)" }
                s += " & " + pct(p.last!, 2) + " & " + pct(lo) + "--" + pct(hi)
            }
            let d = fixed(100 * (p[1] - p[0]), 2)
            s += " & " + (d.hasPrefix("-") ? "$-$" + d.dropFirst() : d) + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// Our throughput against PyTorch's (same machine, same batch).
    static func benchTable(_ t: CSVTable) throws -> String {
        // GFLOP/s and its share of the gemm roofline R, when the benchmark measured R.
        let roofline = t.header.contains("fraction_of_r")
        var s = "\\begin{tabular}{@{}lrrr" + (roofline ? "rr" : "") + "@{}}\n\\toprule\nmode & ours (img/s) & PyTorch (img/s) & ratio"
        s += (roofline ? " & GFLOP/s & $\\div R$" : "") + " \\\\\n\\midrule\n"
        for r in t.rows.indices {
            let m = try t.string(r, "mode")
            s += (m == "full" ? "full FT" : m == "lora" ? "LoRA" : escape(m)) + " & " + fixed(try t.double(r, "ours_img_per_s"), 1)
            s += " & " + fixed(try t.double(r, "pytorch_img_per_s"), 1) + " & " + fixed(try t.double(r, "ratio"), 2)
            if roofline { s += " & " + fixed(try t.double(r, "ours_gflop_per_s"), 0) + " & " + fixed(try t.double(r, "fraction_of_r"), 2) }
            s += " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// Every generated file of `reportDir` (name → text); optional inputs give optional outputs.
    public static func generated(reportDir dir: String) throws -> [(name: String, text: String)] {
        let summaryPath = dir + "/summary.json"
        let summary = try JSONFile.read(PaperNumbers.self, from: summaryPath, missing: "run `make publish-results`")
        var out: [(String, String)] = [("numbers.tex", try macros(summary))]
        let fm = FileManager.default
        // With the final configurations over seeds: their best full and best LoRA group per class.
        var extra: [(label: String, group: String)] = []
        if summary.flag("study_final_available"), fm.fileExists(atPath: dir + "/study_per_class.csv") {
            for (label, key) in [("best full", "study_final_best_full_group"), ("best LoRA", "study_final_best_lora_group")] {
                if let g: String = summary[key] { extra.append((label, g)) }
            }
        }
        out.append(("table_per_class.tex", try perClassTable(try read(dir, "per_class.csv"), extra: extra,
                                                           study: extra.isEmpty ? nil : try read(dir, "study_per_class.csv"))))
        out.append(("table_scaling.tex", try scalingTable(try read(dir, "scaling.csv"))))
        out.append(("table_attention.tex", try attentionTable(try read(dir, "attention.csv"))))
        out.append(("figure_attention.tex", try attentionFigure(try read(dir, "attention_grid.csv"))))
        out.append(("table_heldout.tex", try heldOutTable(try read(dir, "heldout.csv"))))
        if fm.fileExists(atPath: dir + "/study_groups.csv") {
            let g = try read(dir, "study_groups.csv")
            let ranks = fm.fileExists(atPath: dir + "/study_ranks.csv") ? try read(dir, "study_ranks.csv") : nil
            out.append(("table_study.tex", try studyTable(g, excluding: try rankOnlyGroups(ranks).union(try finalGroups(g)))))
            out.append(("rank_sweep.csv", try rankSweepCSV(g)))
            let zeroShot: Double = try JSONFile.require(summary["zero_shot_top1"], "zero_shot_top1", in: summaryPath)
            out.append(("table_final.tex", try finalTable(g, zeroShot: zeroShot)))
            if let ranks { out.append(("table_ranks.tex", try ranksTable(ranks))) }
        }
        if fm.fileExists(atPath: dir + "/bench.csv") { out.append(("table_bench.tex", try benchTable(try read(dir, "bench.csv")))) }
        if fm.fileExists(atPath: dir + "/network_model.csv") {
            out.append(("table_network.tex", try networkTable(try read(dir, "network_model.csv"))))
        }
        if fm.fileExists(atPath: dir + "/" + AttentionFaithfulness.fileName) {
            out.append(("table_faithfulness.tex", try faithfulnessTable(try read(dir, AttentionFaithfulness.fileName))))
        }
        out += try weightSpaceOutputs(dir)
        return out
    }

    /// Names `generated` may write; stale ones whose input went away are removed.
    static let optionalOutputs = ["table_weightspace.tex", "figure_weightspace.tex", "table_study.tex", "rank_sweep.csv", "table_bench.tex", "table_final.tex", "table_ranks.tex",
                                  "table_faithfulness.tex", "table_network.tex"]

    // MARK: README

    public static let readmeBegin = "<!-- results:begin -->", readmeEnd = "<!-- results:end -->"

    /// The README's short results table, from the text of a summary.json.
    public static func readmeBlock(summaryJSON data: Data) throws -> String { try readmeBlock(try parseSummary(data)) }

    /// The README's short results table, from summary.json.
    public static func readmeBlock(_ o: PaperNumbers) throws -> String {
        func plain(_ k: String) throws -> String {
            guard let v = o.values[k] else { throw TrainError.io("summary.json: no '\(k)' for the README table") }
            return try render(v, key: k).replacingOccurrences(of: "{,}", with: ",")
        }
        var s = "| method | val top-1 | trainable params | gradient / step | train time | train img/s | peak RSS |\n"
        s += "|---|---:|---:|---:|---:|---:|---:|\n"
        s += "| zero-shot (pretrained ImageNet head, 10 classes) | \(try plain("zero_shot_top1"))% | 0 | — | — | — | — |\n"
        for (m, name) in [("full", "full fine-tuning"), ("lora", "LoRA r \(try plain("lora_rank")), α \(try plain("lora_alpha"))")] {
            s += "| \(name) | \(try plain("\(m)_top1"))% | \(try plain("\(m)_trainable_params")) | \(try plain("\(m)_grad_mb")) MB"
            s += " | \(try plain("\(m)_train_min")) min | \(try plain("\(m)_train_img_per_s")) | \(try plain("\(m)_peak_rss_mib")) MiB |\n"
        }
        // The study's best recipe per method: the final configurations over seeds when they are
        // in, otherwise the best short run.
        if o.flag("study_final_available") {
            for (m, name) in [("full", "full fine-tuning"), ("lora", "LoRA")] {
                let k = "study_final_best_\(m)"
                s += "| \(name), best recipe (`\(try plain(k + "_group"))`, \(try plain("study_final_epochs")) epochs, \(try plain(k + "_runs_count")) seeds)"
                s += " | \(try plain(k + "_mean_top1")) ± \(try plain(k + "_std_top1"))% | \(try plain(k + "_trainable_params"))"
                s += " | \(try plain(k + "_grad_mb")) MB | \(try plain(k + "_train_min")) min | | |\n"
            }
        } else if o.flag("study_available") {
            for (m, name) in [("full", "full fine-tuning"), ("lora", "LoRA")] {
                let k = "study_best_\(m)"
                s += "| \(name), best recipe so far (`\(try plain(k + "_group"))`, \(try plain(k + "_epochs")) epochs, \(try plain(k + "_runs_count")) seed)"
                s += " | \(try plain(k + "_mean_top1"))% | \(try plain(k + "_trainable_params")) | | | | |\n"
            }
        }
        s += "\nViT-Ti/16 (timm, ImageNet-21k → 1k) on ImageWoof val (\(try plain("val_images")) images); the main runs: \(try plain("full_epochs")) epochs,"
        s += " batch \(try plain("train_batch")), one process on \(try plain("machine_cpu")) with \(try plain("machine_cores")) cores"
        s += " (single seed; other work shared the cores, so times are upper bounds)"
        s += o.flag("study_available") ? "; the best-recipe rows come from the recipe study (`make study`). From `report/results/summary.json`" : ". From `report/results/summary.json`"
        s += " (the committed reference; `make publish-results` replaces it from `output/`); the paper is `make report`.\n"
        return s
    }

    /// `readme` with the text between the markers replaced by `block`.
    public static func replacingReadmeBlock(_ readme: String, with block: String, path: String = "README.md") throws -> String {
        guard let b = readme.range(of: readmeBegin), let e = readme.range(of: readmeEnd), b.upperBound <= e.lowerBound else {
            throw TrainError.io("\(path): no '\(readmeBegin)' … '\(readmeEnd)' block for the results table")
        }
        return String(readme[..<b.upperBound]) + "\n" + block + String(readme[e.lowerBound...])
    }

    /// The block currently between the markers of `readme`.
    public static func readmeBlock(in readme: String) -> String? {
        guard let b = readme.range(of: readmeBegin), let e = readme.range(of: readmeEnd), b.upperBound <= e.lowerBound else { return nil }
        return String(readme[b.upperBound..<e.lowerBound])
    }

    /// Writes every generated file into `reportDir` (removing stale optional ones). Returns
    /// the paths written.
    public static func write(reportDir dir: String) throws -> [String] {
        var written: [String] = []
        let files = try generated(reportDir: dir)
        for (name, text) in files {
            try AtomicFile.write(Data(text.utf8), to: dir + "/" + name)
            written.append(dir + "/" + name)
        }
        for name in optionalOutputs where !files.contains(where: { $0.name == name }) {
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
        return written
    }

    /// Rewrites the results block of `readme` from `reportDir`'s summary.json.
    public static func writeReadme(_ readme: String, reportDir dir: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: readme, encoding: .utf8) else { throw TrainError.io("\(readme): cannot read") }
        let summary = try JSONFile.read(PaperNumbers.self, from: dir + "/summary.json")
        let updated = try replacingReadmeBlock(text, with: try readmeBlock(summary), path: readme)
        if updated != text { try AtomicFile.write(Data(updated.utf8), to: readme) }
        return [readme]
    }
}
