import Foundation
import WoofIO
import WoofTrain
import WoofViz

/// The files of one results directory, each read when a section asks for it.
struct ResultsSource {
    let dir: String
    let output: String
    let reportPath: String
    let summary: PaperNumbers?

    init(dir: String, output: String, reportPath: String) {
        self.dir = dir
        self.output = output
        self.reportPath = reportPath
        summary = try? JSONFile.read(PaperNumbers.self, from: dir + "/summary.json")
    }

    /// A CSV of the results directory, nil when absent or unreadable.
    func csv(_ name: String) -> CSVTable? { try? CSVTable.read(dir + "/" + name) }

    func number(_ key: String) -> Double? { summary?[key] }

    /// Where the numbers come from: directory, machine, commits, when.
    func provenance() -> String {
        let machine = summary.flatMap { s -> String? in
            guard let cpu: String = s["machine_cpu"] else { return nil }
            return "\(cpu), \(HTML.int(s["machine_cores"])) cores, \(String(format: "%.0f", (s["machine_memory_gib"] as Double?) ?? 0)) GiB"
        } ?? "unknown (no summary.json)"
        let commits = ["full_commit", "lora_commit"].compactMap { k in (summary?[k] as String?).map { "\(k.hasPrefix("full") ? "full FT" : "LoRA") <code>\(HTML.escape($0))</code>" } }
        let stamp = ISO8601DateFormatter().string(from: Date())
        return """
            <p class="meta">Results: <code>\(HTML.escape(dir))</code> · machine: \(HTML.escape(machine)) · trained at \(commits.isEmpty ? "–" : commits.joined(separator: ", ")) · \
            page made \(stamp) by <code>woof-dist report --results \(HTML.escape(dir))</code> (commit <code>\(HTML.escape(Machine.gitCommit().map { String($0.prefix(12)) } ?? "unknown"))</code>).</p>
            """
    }

    /// A file of the results directory as a `data:` URI (nil when unreadable).
    func dataURI(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: dir + "/" + relative) else { return nil }
        let type = relative.hasSuffix(".png") ? "image/png" : "image/jpeg"
        return "data:\(type);base64," + data.base64EncodedString()
    }
}

/// One rendered section: its HTML, and whether all its inputs were there.
struct RenderedSection { var html: String; var complete: Bool }

/// The report's sections, in page order.
struct Section {
    let title: String
    /// The command that makes the section's inputs (said when they are missing).
    let make: String
    let body: (ResultsSource) -> String?

    func render(_ s: ResultsSource) -> RenderedSection {
        let head = "<section><h2>\(HTML.escape(title))</h2>"
        guard let inner = body(s) else { return RenderedSection(html: head + HTML.missing(title, make: make) + "</section>", complete: false) }
        return RenderedSection(html: head + inner + "<p class=\"how\">Made by <code>\(HTML.escape(make))</code>.</p></section>", complete: true)
    }

    static let all: [Section] = [
        Section(title: "Results", make: "make baseline full lora", body: ReportSections.results),
        Section(title: "Per-class accuracy", make: "make baseline full lora", body: ReportSections.perClass),
        Section(title: "Training curves", make: "make full lora", body: ReportSections.curves),
        Section(title: "Accuracy vs what is trained and sent", make: "make study", body: ReportSections.tradeOff),
        Section(title: "Weight-space ensembles (WiSE-FT, soups)", make: "make weightspace publish-weightspace", body: ReportSections.weightSpace),
        Section(title: "Data-parallel scaling", make: "make scaling", body: ReportSections.scaling),
        Section(title: "Over a network (emulated cluster)", make: "make bench-network (as root)", body: ReportSections.network),
        Section(title: "Speed against PyTorch", make: "make bench-pytorch", body: ReportSections.bench),
        Section(title: "Attention", make: "make attention", body: ReportSections.attention),
    ]
}
