import Foundation
import WoofTrain
import WoofCore
import WoofIO

/// `output/results.md`: the zero-shot baseline, full fine-tuning and LoRA side by side,
/// read from the runs' own summary files.
public enum Results {
    /// The markdown table; a stage that has not run shows as "not run" or "—", a summary
    /// that is there must read.
    public static func markdown(outputDir: String) throws -> String {
        let baseline = try JSONFile.readIfPresent(EvalSummary.self, from: outputDir + "/baseline/summary.json")
        let runs = [("Full fine-tuning", try JSONFile.readIfPresent(RunSummary.self, from: outputDir + "/full_model/summary.json")),
                    ("LoRA (r 8, α 16)", try JSONFile.readIfPresent(RunSummary.self, from: outputDir + "/lora_model/summary.json"))]
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
        func int(_ v: Int) -> String { NumberFormatter.localizedString(from: NSNumber(value: v), number: .decimal) }
        var s = "# Results\n\nImageWoof val (\(baseline.map { int($0.images) } ?? "3,929") images), ViT-Ti/16 (timm `vit_tiny_patch16_224.augreg_in21k_ft_in1k`).\n\n"
        s += "| method | val top-1 | train time | train img/s | trainable params | peak RSS |\n|---|---:|---:|---:|---:|---:|\n"
        s += "| zero-shot ImageNet head (10 classes, no training) | \(pct(baseline?.top1)) | — | — | 0 | — |\n"
        for (name, r) in runs {
            guard let r else { s += "| \(name) | not run | | | | |\n"; continue }
            s += "| \(name) | \(pct(r.finalValTop1)) | \(Progress.clock(r.trainSeconds)) | \(String(format: "%.1f", r.trainImagesPerSecond))"
            s += " | \(int(r.trainableParams)) | \(String(format: "%.0f MiB", r.peakRSSMiB)) |\n"
        }
        if let baseline {
            s += "\n## Per-class val top-1\n\n| class | zero-shot | full | LoRA |\n|---|---:|---:|---:|\n"
            let f = runs[0].1?.finalValPerClass, l = runs[1].1?.finalValPerClass
            func at(_ v: [Double]?, _ i: Int) -> Double? { v.flatMap { i < $0.count ? $0[i] : nil } }
            for (i, c) in baseline.classes.enumerated() {
                s += "| \(c) | \(pct(at(baseline.perClass, i))) | \(pct(at(f, i))) | \(pct(at(l, i))) |\n"
            }
        }
        if let m = runs.compactMap({ $0.1?.machine }).first {
            s += "\nMachine: \(m.cpu), \(m.cores) cores.\n"
        }
        return s
    }

    /// A section of the results that can be replaced alone.
    public enum Section: String, CaseIterable, Sendable { case attention, network, bench, weightspace }

    /// `woof-dist results`: the paper's files in `reportDir` from `outputDir` (skipped with
    /// `texOnly`) and the LaTeX from them, all or nothing (`StagedDirectory`); then
    /// output/results.md and the README table.
    /// Returns the markdown (empty with `texOnly`) and the paths written.
    /// With `thisRun`, also the paper's appendix comparing `reportDir` (the reference) with
    /// the results directory `thisRun.dir`, written to `thisRun.tex`.
    /// With `only`, just that section of `reportDir` is replaced from `outputDir`, keeping
    /// every other committed result: attention (`ReportData.collectAttention`), the emulated
    /// network and the projection it calibrates (`collectNetwork`), the speed benchmark
    /// (`collectBench`) or the weight-space study (`collectWeightSpace`).
    public static func run(outputDir: String, reportDir: String, readme: String?, texOnly: Bool, dropMissing: Bool = false,
                           only: Section? = nil, thisRun: (dir: String, tex: String)? = nil,
                           log: (String) -> Void) throws -> (markdown: String, files: [String]) {
        // reportDir changes as a set: a failure anywhere (a missing input, a number without a
        // format rule) leaves every committed result as it was.
        let (md, staged) = try StagedDirectory.update(reportDir) { staging -> (String, [String]) in
            let r = try write(outputDir: outputDir, reportDir: staging, texOnly: texOnly, dropMissing: dropMissing, only: only, log: log)
            return (r.markdown, r.files.map { StagedDirectory.original($0, staging: staging, dir: reportDir) })
        }
        var files = staged
        if !md.isEmpty {
            try AtomicFile.write(Data(md.utf8), to: outputDir + "/results.md")
            files.insert(outputDir + "/results.md", at: 0)
        }
        if let readme { files += try ReportTeX.writeReadme(readme, reportDir: reportDir) }
        if let thisRun {
            try ReportThisRun.write(referenceDir: reportDir, runDir: thisRun.dir, to: thisRun.tex)
            files.append(thisRun.tex)
        }
        return (md, files)
    }

    /// The part of `run` that writes into `reportDir`; the markdown is returned, not written.
    static func write(outputDir: String, reportDir: String, texOnly: Bool, dropMissing: Bool, only: Section?,
                      log: (String) -> Void) throws -> (markdown: String, files: [String]) {
        var md = "", files: [String] = []
        switch (texOnly, only) {
        case (true, _): break
        case (false, .network?): files += try ReportData.collectNetwork(networkDir: outputDir + "/network", reportDir: reportDir)
        case (false, .attention?): files += try ReportData.collectAttention(outputDir: outputDir, reportDir: reportDir, log: log)
        case (false, .bench?): files += try ReportData.collectBench(benchDir: outputDir + "/bench", reportDir: reportDir)
        case (false, .weightspace?): files += try ReportData.collectWeightSpace(dir: outputDir + "/weightspace", reportDir: reportDir)
        case (false, nil):
            md = try markdown(outputDir: outputDir)
            files += try ReportData.collect(outputDir: outputDir, reportDir: reportDir, dropMissing: dropMissing, log: log)
        }
        files += try ReportTeX.write(reportDir: reportDir)
        return (md, files)
    }
}
