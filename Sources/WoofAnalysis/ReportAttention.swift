import Foundation
import WoofIO
import WoofTrain

/// The attention analysis in the paper's results: the deletion test, the high-norm patches,
/// which models the analysis used, and publishing that section alone.
extension ReportData {
    static let attentionShort = ["pretrained": "pretrained", "full_model": "full", "lora_model": "lora"]
    static let faithfulnessMaps = ["random", "cls", "cls_no_artifacts", "rollout", "gt"]

    /// Copies the deletion test and the high-norm patch CSVs (when the attention stage made
    /// them) and sets their numbers; records the epochs and top-1 of the models analysed.
    static func attentionExtras(_ out: String, into s: inout PaperNumbers, write: (String, String) throws -> Void) throws {
        let dir = out + "/attention"
        let grid = try AttentionGrid.read(dir: dir, missing: stage["attention"]!)
        for m in grid.models {
            guard let short = attentionShort[m.slug], short != "pretrained" else { continue }
            let summary = URL(fileURLWithPath: m.path).deletingLastPathComponent().path + "/summary.json"
            guard let run = try? JSONFile.read(RunSummary.self, from: summary, missing: "") else { continue }
            s["attn_\(short)_model_epochs"] = run.epochs
            if let t = run.finalValTop1 { s["attn_\(short)_model_top1"] = t }
        }
        let faithPath = dir + "/" + AttentionFaithfulness.fileName
        if FileManager.default.fileExists(atPath: faithPath) {
            let t = try CSVTable.read(faithPath)
            try t.require(["model", "map", "order", "images", "auc_probability", "auc_accuracy"])
            try write(AttentionFaithfulness.fileName, t.text)
            for r in t.rows.indices {
                guard let m = attentionShort[try t.string(r, "model")] else { continue }
                let order = try t.string(r, "order") == AttentionFaithfulness.orders[0] ? "del" : "ins"
                s["faith_\(m)_\(try t.string(r, "map"))_\(order)_auc"] = try t.double(r, "auc_probability")
                s["faith_images"] = try t.double(r, "images")
            }
            s["attn_faithfulness_available"] = true
        }
        try artifactNumbers(dir, into: &s, write: write)
    }

    static func artifactNumbers(_ dir: String, into s: inout PaperNumbers, write: (String, String) throws -> Void) throws {
        let path = dir + "/attention_artifacts.csv", changePath = dir + "/attention_change_artifacts.csv"
        guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: changePath) else { return }
        let t = try CSVTable.read(path), c = try CSVTable.read(changePath)
        try write("attention_artifacts.csv", t.text)
        try write("attention_change_artifacts.csv", c.text)
        for r in t.rows.indices {
            guard let m = attentionShort[try t.string(r, "model")] else { continue }
            s["art_\(m)_per_image_patches"] = try t.double(r, "artifact_patches_per_image")
            s["art_\(m)_images_percent"] = 100 * (try t.double(r, "images_with_artifacts"))
            s["art_\(m)_cls_share_pct"] = 100 * (try t.double(r, "cls_share"))
            s["art_\(m)_uniform_share_pct"] = 100 * (try t.double(r, "uniform_share"))
            s["art_\(m)_corner_share_percent"] = 100 * (try t.double(r, "corner_share"))
            s["art_\(m)_norm_median_ratio"] = try t.double(r, "norm_median")
            s["art_\(m)_norm_pninetynine_ratio"] = try t.double(r, "norm_p99")
        }
        for r in c.rows.indices {
            guard let a = attentionShort[try c.string(r, "model_a")], let b = attentionShort[try c.string(r, "model_b")] else { continue }
            s["art_\(a)_\(b)_excl_js"] = try c.double(r, "js_mean_excluding")
            s["art_\(a)_\(b)_excl_iou"] = try c.double(r, "iou_mean_excluding")
        }
        s["attn_artifacts_available"] = true
    }

    /// `results --attention-only`: replaces the attention section of `reportDir` (tiles,
    /// CSVs, and the attention numbers of summary.json) from `outputDir/attention`, keeping
    /// every other result.
    public static func collectAttention(outputDir out: String, reportDir: String, log: (String) -> Void) throws -> [String] {
        let summaryPath = reportDir + "/summary.json"
        var s = try JSONFile.read(PaperNumbers.self, from: summaryPath, missing: "run `make publish-results` first")
        for k in Array(s.keys) where ["attn_", "faith_", "art_"].contains(where: { k.hasPrefix($0) }) { s.values[k] = nil }
        let classes: Int = try JSONFile.require(s["val_classes_count"], "val_classes_count", in: summaryPath)
        var written: [String] = []
        func write(_ name: String, _ text: String) throws {
            try AtomicFile.write(Data(text.utf8), to: reportDir + "/" + name)
            written.append(reportDir + "/" + name)
        }
        try attentionNumbers(out, classes: classes, into: &s, write: write)
        try attentionExtras(out, into: &s, write: write)
        for flag in ["attn_faithfulness_available", "attn_artifacts_available"] where !s.has(flag) { s[flag] = false }
        written += try attentionFigure(out, reportDir: reportDir, write: write, log: log)
        try write("summary.json", String(decoding: try JSONFile.encoded(s), as: UTF8.self))
        return written
    }
}

extension ReportTeX {
    static let faithfulnessLabels = ["random": "random order", "cls": "CLS attention",
                                     "cls_no_artifacts": "\\quad w/o corners", "rollout": "rollout",
                                     "gt": "relevance (true class)"]

    /// `table_faithfulness.tex`: area under the true-class probability curve per map and
    /// model, deleting the most relevant patches first (lower is better) and the least
    /// relevant first (higher is better).
    static func faithfulnessTable(_ t: CSVTable) throws -> String {
        try t.require(["model", "map", "order", "auc_probability"])
        let models = ["pretrained", "full_model", "lora_model"].filter { m in t.rows.indices.contains { (try? t.string($0, "model")) == m } }
            .map { ($0, attentionModelNames[$0]!) }
        var s = "\\begin{tabular}{@{}l" + String(repeating: "rr", count: models.count) + "@{}}\n\\toprule\n"
        s += " & " + models.map { "\\multicolumn{2}{c}{\($0.1)}" }.joined(separator: " & ") + " \\\\\n"
        s += models.indices.map { "\\cmidrule(lr){\(2 + 2 * $0)-\(3 + 2 * $0)}" }.joined() + "\n"
        s += "map" + String(repeating: " & most$\\downarrow$ & least$\\uparrow$", count: models.count) + " \\\\\n\\midrule\n"
        for map in ReportData.faithfulnessMaps {
            var cells: [String] = []
            for (slug, _) in models {
                for order in AttentionFaithfulness.orders {
                    guard let r = try t.rows(where: ["model": slug, "map": map, "order": order]).first else { cells.append("--"); continue }
                    cells.append(fixed(try t.double(r, "auc_probability"), 3))
                }
            }
            guard cells.contains(where: { $0 != "--" }) else { continue }
            s += (faithfulnessLabels[map] ?? escape(map)) + " & " + cells.joined(separator: " & ") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }
}
