import XCTest
import Foundation
@testable import WoofTrain

/// The paper's inputs: the committed files in report/results parse, the generated LaTeX and
/// README table match them, the paper uses only generated numbers, the claims its prose makes
/// still hold, and (with LaTeX installed) it builds within the page limit.
final class ReportTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let results = root + "/report/results"

    func text(_ path: String) throws -> String {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { XCTFail("\(path): cannot read"); throw CocoaError(.fileReadNoSuchFile) }
        return s
    }

    func summary() throws -> [String: Any] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: Self.results + "/summary.json"), "report/results/summary.json missing: run make results")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func number(_ s: [String: Any], _ key: String) throws -> Double {
        try XCTUnwrap((s[key] as? NSNumber)?.doubleValue, "summary.json: no number '\(key)'")
    }

    /// paper.tex without comments.
    func paper() throws -> String {
        try text(Self.root + "/report/paper.tex").split(separator: "\n", omittingEmptySubsequences: false)
            .map { line -> Substring in
                var prev: Character = " "
                for (i, ch) in line.enumerated() {
                    if ch == "%" && prev != "\\" { return line.prefix(i) }
                    prev = ch
                }
                return line
            }.joined(separator: "\n")
    }

    func testCommittedResultsParse() throws {
        let s = try summary()
        for k in ["zero_shot_top1", "full_top1", "lora_top1", "full_trainable_params", "lora_trainable_params", "full_grad_bytes",
                  "lora_grad_bytes", "full_peak_rss_mib", "full_train_min", "attn_pretrained_full_js", "machine_cores"] {
            XCTAssertNotNil(s[k] as? NSNumber, "summary.json: \(k)")
        }
        for k in ["zero_shot_top1", "full_top1", "lora_top1"] { XCTAssert((0...1).contains(try number(s, k)), k) }
        let expected: [String: [String]] = [
            "per_class.csv": ["class", "images", "zero_shot_top1", "full_top1", "lora_top1"],
            "curves.csv": ["epoch", "full_val_top1", "full_train_loss", "lora_val_top1", "lora_train_loss"],
            "scaling.csv": ["ranks", "mode", "threads_per_rank", "batch", "img_per_s", "compute_s_per_step", "comm_s_per_step", "bytes_per_step"],
            "projection.csv": ["nodes", "full_strong_10g_img_per_s", "lora_strong_10g_img_per_s", "full_strong_10g_comm_ms"],
            "attention.csv": ["model_a", "model_b", "head", "class", "js_mean", "iou_mean"],
            "attention_stats.csv": ["model", "head", "class", "mask_patches_mean", "entropy_mean"],
            "study_runs.csv": ["name", "mode", "lora_rank", "seed", "val_top1", "trainable_params"],
            "study_groups.csv": ["group", "n", "mode", "lora_rank", "mean_top1", "std_top1", "trainable_params"],
            "bench.csv": ["mode", "ours_img_per_s", "pytorch_img_per_s", "ratio"],
        ]
        let optional: Set = ["study_runs.csv", "study_groups.csv", "bench.csv"]
        for (name, cols) in expected.sorted(by: { $0.key < $1.key }) {
            let path = Self.results + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                XCTAssert(optional.contains(name), "\(path) missing: run make results")
                continue
            }
            let t = try CSVTable.read(path)
            try t.require(cols)
            XCTAssertFalse(t.rows.isEmpty, name)
        }
        XCTAssertEqual(s["study_available"] as? Bool, FileManager.default.fileExists(atPath: Self.results + "/study_groups.csv"))
        XCTAssertEqual(s["bench_available"] as? Bool, FileManager.default.fileExists(atPath: Self.results + "/bench.csv"))
        let size = try FileManager.default.attributesOfItem(atPath: Self.results + "/attention.jpg")[.size] as? Int ?? 0
        XCTAssert(size > 10_000 && size < 300_000, "attention.jpg is \(size) bytes")
    }

    /// numbers.tex, the table fragments and derived CSVs regenerate exactly from the committed inputs.
    func testGeneratedFilesMatchCommittedInputs() throws {
        for (name, text) in try ReportTeX.generated(reportDir: Self.results) {
            XCTAssertEqual(try self.text(Self.results + "/" + name), text, "report/results/\(name) is stale: run make results (or woof-dist results --tex-only)")
        }
        for name in ReportTeX.optionalOutputs where FileManager.default.fileExists(atPath: Self.results + "/" + name) {
            XCTAssert(try ReportTeX.generated(reportDir: Self.results).contains { $0.name == name }, "\(name) has no input any more")
        }
    }

    func testMacroNamesAndFormats() throws {
        XCTAssertEqual(ReportTeX.macroName("zero_shot_top1"), "ZeroShotTopOne")
        XCTAssertEqual(ReportTeX.macroName("proj_full_weak_64_nodes_100_gbit_eff_pct"), "ProjFullWeakSixtyFourNodesOneHundredGbitEffPct")
        XCTAssertEqual(ReportTeX.macroName("lora_fc1_params"), "LoraFcOneParams")
        let json = #"{"a_top1": 0.94197, "b_params": 5526346, "c_available": true, "d_cpu": "AMD_EPYC 50%", "e_pp": -0.004}"#
        let tex = try ReportTeX.macros(summaryJSON: Data(json.utf8))
        XCTAssert(tex.contains("\\newcommand{\\ATopOne}{94.20}"))
        XCTAssert(tex.contains("\\newcommand{\\BParams}{5{,}526{,}346}"))
        XCTAssert(tex.contains("\\newif\\ifCAvailable\\CAvailabletrue"))
        XCTAssert(tex.contains("\\newcommand{\\DCpu}{AMD\\_EPYC 50\\%}"))
        XCTAssert(tex.contains("\\newcommand{\\EPp}{0.00}"), tex)
        XCTAssertThrowsError(try ReportTeX.macros(summaryJSON: Data(#"{"mystery": 1}"#.utf8)))
    }

    /// Every data macro the paper uses is generated, and the paper types no result itself.
    func testPaperUsesOnlyGeneratedNumbers() throws {
        let numbers = try text(Self.results + "/numbers.tex")
        // Text inside \ifXAvailable … \else/\fi of a false flag is never typeset: drop it.
        var paper = try paper()
        for flag in numbers.captures(#"\\newif\\if([A-Za-z]+)\\[A-Za-z]+false"#) {
            while let b = paper.range(of: "\\if" + flag + "\n") ?? paper.range(of: "\\if" + flag + " "),
                  let e = paper.range(of: #"\\(else|fi)\b"#, options: .regularExpression, range: b.upperBound..<paper.endIndex) {
                paper.removeSubrange(b.lowerBound..<e.lowerBound)
            }
        }
        var defined = Set<String>()
        for m in numbers.captures(#"\\newcommand\{\\([A-Za-z]+)\}"#) { defined.insert(m) }
        for m in numbers.captures(#"\\newif\\if([A-Za-z]+)"#) { defined.formUnion([m, "if" + m]) }
        for m in paper.captures(#"\\(?:re)?newcommand\{?\\([A-Za-z]+)"#) { defined.insert(m) }
        // Data macros are CamelCase with at least two capitalized words; LaTeX's own are listed.
        let latex: Set = ["LaTeX", "TeX", "BibTeX"]
        for used in Set(paper.captures(#"\\((?:if)?[A-Z][a-z]+[A-Z][A-Za-z]*)"#)) where !latex.contains(used) {
            XCTAssert(defined.contains(used) || defined.contains(String(used.dropFirst(2))), "paper.tex uses \\\(used), which numbers.tex does not define")
        }
        // Inputs the paper reads exist (optional ones only inside \ifStudyAvailable / \ifBenchAvailable).
        for f in Set(paper.captures(#"results/([A-Za-z0-9_]+\.(?:tex|csv|jpg|png))"#)) {
            let optional = ReportTeX.optionalOutputs.contains(f) || ["study_groups.csv", "study_runs.csv", "bench.csv"].contains(f)
            XCTAssert(optional || FileManager.default.fileExists(atPath: Self.results + "/" + f), "paper.tex reads results/\(f), which is missing")
        }
        // No hand-typed results: no value of a generated number with two or more decimals, or
        // with thousands separators, appears literally in the paper.
        let values = numbers.captures(#"\\newcommand\{\\[A-Za-z]+\}\{([^}]*(?:\{,\}[^}]*)*)\}"#)
        var checked = 0
        for v in values {
            let plain = v.replacingOccurrences(of: "{,}", with: ",")
            let isDecimal = v.range(of: #"^\d+\.\d{2,}$"#, options: .regularExpression) != nil
            let isGrouped = v.contains("{,}")
            guard isDecimal || isGrouped else { continue }
            checked += 1
            for form in Set([v, plain, plain.replacingOccurrences(of: ",", with: "")]) {
                // Lengths (0.86\textwidth, 4.1cm) are layout, not results.
                let pattern = "(?<![0-9.])" + NSRegularExpression.escapedPattern(for: form) + #"(?![0-9])(?!\\textwidth|\\linewidth|cm|mm|pt|em|ex|in\b)"#
                XCTAssertNil(paper.range(of: pattern, options: .regularExpression), "paper.tex types the result \(form); use its macro")
            }
        }
        XCTAssertGreaterThan(checked, 50)
        let s = try summary()
        for k in ["zero_shot_top1", "full_top1", "lora_top1"] {
            XCTAssertFalse(paper.contains(String(format: "%.2f", 100 * (try number(s, k)))), "paper.tex types \(k)")
        }
    }

    /// The qualitative statements of the paper's prose, checked against the numbers; when a
    /// rerun changes them, this fails and the text needs revising.
    func testClaimsInThePaperHold() throws {
        let s = try summary()
        let d = s.compactMapValues { $0 is String ? nil : ($0 as? NSNumber)?.doubleValue }
        /// A number of summary.json; NaN (which fails every comparison) when missing.
        func n(_ k: String) -> Double {
            if d[k] == nil { XCTFail("summary.json: no number '\(k)'") }
            return d[k] ?? .nan
        }
        // Abstract, 4.1, Discussion: LoRA > zero-shot > full fine-tuning.
        XCTAssertGreaterThan(n("lora_top1"), n("zero_shot_top1"))
        XCTAssertGreaterThan(n("zero_shot_top1"), n("full_top1"))
        // 4.1: LoRA ahead after every epoch; the two final training losses are close.
        let curves = try CSVTable.read(Self.results + "/curves.csv")
        for r in curves.rows.indices { XCTAssertGreaterThan(try curves.double(r, "lora_val_top1"), try curves.double(r, "full_val_top1"), "epoch \(r + 1)") }
        XCTAssertLessThan(abs(n("lora_final_train_loss") - n("full_final_train_loss")), 0.01)
        // 4.1: the top confusion is beagle → English foxhound; beagle rises and foxhound falls with both fine-tunings;
        // on the other eight classes LoRA is within 1.5 points of zero-shot and full FT is below it on most.
        XCTAssertEqual(s["zero_shot_top_confusion_true_class"] as? String, "beagle")
        XCTAssertEqual(s["zero_shot_top_confusion_pred_class"] as? String, "English foxhound")
        for m in ["full", "lora"] {
            XCTAssertGreaterThan(n("\(m)_beagle_top1"), n("zero_shot_beagle_top1"))
            XCTAssertLessThan(n("\(m)_english_foxhound_top1"), n("zero_shot_english_foxhound_top1"))
        }
        let pc = try CSVTable.read(Self.results + "/per_class.csv")
        var fullBelow = 0, others = 0
        for r in pc.rows.indices {
            let name = try pc.string(r, "class")
            guard !["beagle", "English foxhound"].contains(name) else { continue }
            let (zs, full, lora) = (try pc.double(r, "zero_shot_top1"), try pc.double(r, "full_top1"), try pc.double(r, "lora_top1"))
            others += 1
            XCTAssertLessThanOrEqual(abs(lora - zs), 0.015, name)
            if full < zs { fullBelow += 1 }
        }
        XCTAssertGreaterThan(2 * fullBelow, others)
        // 4.2: the two methods' peak memory is within a few percent.
        XCTAssertLessThan(abs(n("full_peak_rss_mib") - n("lora_peak_rss_mib")) / n("full_peak_rss_mib"), 0.05)
        // 4.3: two ranks are a little faster than one; LoRA's allreduce at the largest projection is latency-bound
        // and 100 Gbit/s helps full fine-tuning more than LoRA.
        for m in ["full", "lora"] { XCTAssertGreaterThan(n("scaling_\(m)_two_ranks_speedup"), 1) }
        let nodes = n("proj_max_nodes")
        XCTAssertGreaterThan(2 * (nodes - 1) * n("proj_alpha_us") / 1000, 0.5 * (n("proj_lora_strong_256_nodes_10_gbit_comm_ms")))
        XCTAssertGreaterThan(n("proj_full_strong_256_nodes_100_gbit_eff_pct") - n("proj_full_strong_256_nodes_10_gbit_eff_pct"),
                             n("proj_lora_strong_256_nodes_100_gbit_eff_pct") - n("proj_lora_strong_256_nodes_10_gbit_eff_pct"))
        // 4.4: LoRA moves attention less than half as far as full fine-tuning, for every head and in mask IoU.
        XCTAssertLessThan(n("attn_pretrained_lora_js"), 0.5 * (n("attn_pretrained_full_js")))
        XCTAssertGreaterThan(n("attn_pretrained_lora_iou"), n("attn_pretrained_full_iou"))
        let att = try CSVTable.read(Self.results + "/attention.csv")
        for h in ["0", "1", "2"] {
            let lora = try XCTUnwrap(try att.rows(where: ["model_a": "pretrained", "model_b": "lora_model", "head": h, "class": "all"]).first)
            let full = try XCTUnwrap(try att.rows(where: ["model_a": "pretrained", "model_b": "full_model", "head": h, "class": "all"]).first)
            XCTAssertLessThan(try att.double(lora, "js_mean"), try att.double(full, "js_mean"), "head \(h)")
            XCTAssertGreaterThan(try att.double(lora, "iou_mean"), try att.double(full, "iou_mean"), "head \(h)")
        }
        // Limitations: the zero-shot gap between held-out and seen images is within one standard error.
        let p = n("zero_shot_on_imagenet_val_top1"), k = n("val_from_imagenet_val_images")
        XCTAssertLessThan(abs(n("zero_shot_on_imagenet_train_top1") - p), (p * (1 - p) / k).squareRoot())
    }

    /// The README's results block is the one generated from summary.json.
    func testReadmeTableMatchesResults() throws {
        let readme = try text(Self.root + "/README.md")
        let block = try XCTUnwrap(ReportTeX.readmeBlock(in: readme), "README.md has no results block")
        let data = try XCTUnwrap(FileManager.default.contents(atPath: Self.results + "/summary.json"))
        XCTAssertEqual(block, "\n" + (try ReportTeX.readmeBlock(summaryJSON: data)), "README results table is stale: run make results")
    }

    /// With pdflatex on the PATH: the paper builds without undefined references or citations
    /// and its references start by page 9.
    func testPaperBuilds() throws {
        guard let pdflatex = which("pdflatex"), let bibtex = which("bibtex") else {
            print("ReportTests: pdflatex/bibtex not on PATH; the paper was not built (make report installs TeX Live)")
            return
        }
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("woof-paper-\(getpid())").path
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        let report = Self.root + "/report"
        func run(_ tool: String, _ args: [String], in cwd: String = report) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: cwd)
            var env = ProcessInfo.processInfo.environment
            env["BIBINPUTS"] = report + ":"
            p.environment = env
            let pipe = Pipe()
            p.standardOutput = pipe; p.standardError = pipe
            try p.run()
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: out, as: UTF8.self))
        }
        let latex = [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-output-directory=" + dir, "paper.tex"]
        var (rc, out) = try run(latex[0], Array(latex.dropFirst()))
        XCTAssertEqual(rc, 0, String(out.suffix(3000)))
        guard rc == 0 else { return }
        // bibtex writes only below its working directory (openout_any = p).
        (rc, out) = try run(bibtex, ["paper"], in: dir)
        XCTAssertEqual(rc, 0, out)
        for _ in 0..<2 { (rc, out) = try run(latex[0], Array(latex.dropFirst())); XCTAssertEqual(rc, 0, String(out.suffix(3000))) }
        let log = try text(dir + "/paper.log")
        for bad in ["undefined references", "Citation `", "Reference `", "There were undefined"] {
            XCTAssertFalse(log.contains(bad), "paper.log: \(bad) …")
        }
        let aux = try text(dir + "/paper.aux")
        let page = try XCTUnwrap(aux.captures(#"\\newlabel\{sec:references-start\}\{\{[^}]*\}\{(\d+)\}"#).first.flatMap { Int($0) },
                                 "no sec:references-start label in paper.aux")
        XCTAssertLessThanOrEqual(page, 9, "the text before the references runs to page \(page); the limit is 9")
        let pages = log.captures(#"Output written on .*\((\d+) pages?"#).first ?? "?"
        print("ReportTests: built the paper: \(pages) pages, references start on page \(page)")
    }

    func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

extension String {
    /// The first capture group of every match of `pattern`.
    func captures(_ pattern: String) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = self as NSString
        return re.matches(in: self, range: NSRange(location: 0, length: ns.length)).compactMap {
            $0.numberOfRanges > 1 && $0.range(at: 1).location != NSNotFound ? ns.substring(with: $0.range(at: 1)) : nil
        }
    }
}
