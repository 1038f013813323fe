import Foundation
import WoofTrain
import WoofCore

/// `output/results.md`: the zero-shot baseline, full fine-tuning and LoRA side by side,
/// read from the runs' own summary files.
public enum Results {
    static func readJSON(_ path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    public static func markdown(outputDir: String) -> String {
        let baseline = readJSON(outputDir + "/baseline/summary.json")
        let runs = [("Full fine-tuning", readJSON(outputDir + "/full_model/summary.json")),
                    ("LoRA (r 8, α 16)", readJSON(outputDir + "/lora_model/summary.json"))]
        func pct(_ v: Any?) -> String { (v as? Double).map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
        func num(_ v: Any?, _ f: String) -> String { (v as? Double).map { String(format: f, $0) } ?? ((v as? Int).map { String(format: f, Double($0)) } ?? "—") }
        func int(_ v: Any?) -> String { (v as? Int).map { NumberFormatter.localizedString(from: NSNumber(value: $0), number: .decimal) } ?? "—" }
        var s = "# Results\n\nImageWoof val (\(int(baseline?["images"]) == "—" ? "3,929" : int(baseline?["images"])) images), ViT-Ti/16 (timm `vit_tiny_patch16_224.augreg_in21k_ft_in1k`).\n\n"
        s += "| method | val top-1 | train time | train img/s | trainable params | peak RSS |\n|---|---:|---:|---:|---:|---:|\n"
        s += "| zero-shot ImageNet head (10 classes, no training) | \(pct(baseline?["top1"])) | — | — | 0 | — |\n"
        for (name, r) in runs {
            guard let r else { s += "| \(name) | not run | | | | |\n"; continue }
            let secs = (r["train_seconds"] as? Double).map { Progress.clock($0) } ?? "—"
            s += "| \(name) | \(pct(r["final_val_top1"])) | \(secs) | \(num(r["train_img_per_s"], "%.1f")) | \(int(r["trainable_params"])) | \(num(r["peak_rss_mib"], "%.0f MiB")) |\n"
        }
        if let classes = baseline?["classes"] as? [String] {
            s += "\n## Per-class val top-1\n\n| class | zero-shot | full | LoRA |\n|---|---:|---:|---:|\n"
            let b = baseline?["per_class"] as? [Double]
            let f = runs[0].1?["final_val_per_class"] as? [Double], l = runs[1].1?["final_val_per_class"] as? [Double]
            for (i, c) in classes.enumerated() {
                s += "| \(c) | \(pct(b?[i])) | \(pct(f?[i])) | \(pct(l?[i])) |\n"
            }
        }
        if let m = runs.compactMap({ $0.1?["machine"] as? [String: Any] }).first {
            s += "\nMachine: \(m["cpu"] ?? "?"), \(m["cores"] ?? "?") cores.\n"
        }
        return s
    }

    public static func write(outputDir: String) throws -> String {
        let md = markdown(outputDir: outputDir)
        try AtomicFile.write(Data(md.utf8), to: outputDir + "/results.md")
        return md
    }

    /// `woof-dist results`: output/results.md, then the paper's files in `reportDir` from
    /// `outputDir` (skipped with `texOnly`), then the LaTeX and README table from `reportDir`.
    /// Returns the markdown (empty with `texOnly`) and the paths written.
    /// With `thisRun`, also the paper's appendix comparing `reportDir` (the reference) with
    /// the results directory `thisRun.dir`, written to `thisRun.tex`.
    public static func run(outputDir: String, reportDir: String, readme: String?, texOnly: Bool, dropMissing: Bool = false,
                           thisRun: (dir: String, tex: String)? = nil,
                           log: (String) -> Void) throws -> (markdown: String, files: [String]) {
        var md = "", files: [String] = []
        if !texOnly {
            md = try write(outputDir: outputDir)
            files.append(outputDir + "/results.md")
            files += try ReportData.collect(outputDir: outputDir, reportDir: reportDir, dropMissing: dropMissing, log: log)
        }
        files += try ReportTeX.write(reportDir: reportDir, readme: readme)
        if let thisRun {
            try ReportThisRun.write(referenceDir: reportDir, runDir: thisRun.dir, to: thisRun.tex)
            files.append(thisRun.tex)
        }
        return (md, files)
    }
}

extension EvalResult {
    /// A JSON summary (for `make`'s baseline stage and the results table).
    public func summaryJSON(weights: String, zeroShot: Bool, classNames: [String]) -> [String: Any] {
        ["weights": weights, "zero_shot": zeroShot, "images": images, "correct": correct, "top1": top1,
         "per_class": perClass, "classes": classNames, "confusion": confusion, "img_per_s": imagesPerSecond,
         "other_predictions": otherPredictions]
    }
}
