import Foundation
import WoofIO
import WoofTrain
import WoofViz

/// `woof-dist report`: the whole study in one self-contained HTML page for people — tables,
/// charts as inline SVG (axes and text as SVG text), the attention grid with its images as
/// `data:` URIs — made from a results directory (`woof-dist results`: summary.json + CSVs).
/// Every section reads its own files; one that is missing says which command makes it.
public enum HTMLReport {
    public struct Options {
        /// A results directory (`output/results` for this run, `report/results` for the paper's).
        public var results = "output/results"
        /// The run's output directory, for links to the per-image attention maps.
        public var output = "output"
        public var out = "output/report.html"
        public init() {}
    }

    /// What was written, for the command's summary line.
    public struct Written { public var path: String; public var bytes: Int; public var sections: [String]; public var missing: [String] }

    public static func write(_ o: Options) throws -> Written {
        let source = ResultsSource(dir: o.results, output: o.output, reportPath: o.out)
        let sections = Section.all.map { ($0, $0.render(source)) }
        let html = page(title: "woof-dist: full fine-tuning vs LoRA for ViT-Ti/16 on ImageWoof", source: source,
                        body: sections.map(\.1.html).joined(separator: "\n"))
        let dir = URL(fileURLWithPath: o.out).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = Data(html.utf8)
        try AtomicFile.write(data, to: o.out)
        return Written(path: o.out, bytes: data.count, sections: sections.filter { $0.1.complete }.map(\.0.title),
                       missing: sections.filter { !$0.1.complete }.map(\.0.title))
    }

    /// The page around the sections: styles inline, no script, no network.
    static func page(title: String, source: ResultsSource, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style></head>
        <body><main>
        <h1>\(HTML.escape(title))</h1>
        \(source.provenance())
        \(body)
        </main></body></html>

        """
    }

    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff;margin:0}
        main{max-width:1180px;margin:0 auto;padding:16px 24px 48px}
        h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}
        p.meta,p.how,p.note{color:#555;font-size:.92em}p.missing{background:#fff6e0;border:1px solid #f0d590;padding:8px 12px}
        code{font-family:ui-monospace,monospace;font-size:.92em;background:#f4f4f4;padding:0 3px}
        table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{padding:3px 10px;border-bottom:1px solid #e6e6e6;text-align:right}
        th{background:#f7f7f7}td:first-child,th:first-child{text-align:left}td.best{font-weight:600}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}
        figure{margin:0}svg.chart{width:100%;height:auto}
        .grid{display:grid;gap:4px 4px;align-items:end}.grid figure{text-align:center;font-size:.8em}
        .grid img{width:100%;display:block}.right{color:#087a3c}.wrong{color:#c0221a;font-weight:600}
        .grid>div{text-align:center}.grid figcaption{min-height:1.3em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
        """
}

/// Small HTML helpers: escaping, tables, number formats.
enum HTML {
    static func escape(_ s: String) -> String { SVGChart.escaped(s) }

    /// A table; cells are HTML already (escape text before).
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        "<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
            + rows.map { "<tr>" + $0.map { $0.hasPrefix("<td") ? $0 : "<td>\($0)</td>" }.joined() + "</tr>" }.joined(separator: "\n")
            + "\n</tbody></table>"
    }

    /// A fraction as a percentage with two decimals ("94.66").
    static func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", 100 * $0) } ?? "–" }

    static func int(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "–" }
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.groupingSeparator = ","
        return f.string(from: NSNumber(value: Int(v.rounded()))) ?? "\(Int(v))"
    }

    static func missing(_ what: String, make: String) -> String {
        "<p class=\"missing\">\(escape(what)) — not made yet: run <code>\(escape(make))</code>, then <code>make results report-html</code>.</p>"
    }

    static func figure(_ chart: SVGChart) -> String { "<figure>\(chart.svg())</figure>" }
}
