import Foundation
import WoofIO
import WoofTrain
import WoofViz

/// The bodies of the report's sections; nil when the section's inputs are missing.
enum ReportSections {
    static let fullColor = "#0072B2", loraColor = "#D55E00", baseColor = "#777777"

    static func results(_ s: ResultsSource) -> String? {
        guard let full = s.number("full_top1"), let lora = s.number("lora_top1") else { return nil }
        var rows: [[String]] = []
        if let z = s.number("zero_shot_top1") { rows.append(["zero-shot head (ImageNet rows of the ten classes)", HTML.pct(z), "0", "–"]) }
        rows.append(["full fine-tuning", HTML.pct(full), HTML.int(s.number("full_trainable_params")), HTML.int(s.number("full_grad_bytes"))])
        rows.append(["LoRA", HTML.pct(lora), HTML.int(s.number("lora_trainable_params")), HTML.int(s.number("lora_grad_bytes"))])
        var html = "<p>Val top-1 on all \(HTML.int(s.number("val_images"))) ImageWoof val images, <code>make</code>'s plain recipe, one run each (\(HTML.int(s.number("full_epochs"))) epochs).</p>"
        html += HTML.table(["model", "val top-1 (%)", "trainable parameters", "gradient bytes / step"], rows)
        if let g = s.csv("study_groups.csv"), let best = try? bestGroups(g) {
            html += "<p>The study's final configurations, mean ± sample std over seeds:</p>" + best
        }
        return html
    }

    /// The study's final groups (several seeds each), best first.
    static func bestGroups(_ g: CSVTable) throws -> String {
        let final = try ReportTeX.finalGroups(g)
        var rows: [(Double, [String])] = []
        for r in g.rows.indices where final.contains(try g.string(r, "group")) {
            let mean = try g.double(r, "mean_top1"), std = try g.double(r, "std_top1")
            rows.append((mean, [HTML.escape(try g.string(r, "group")), HTML.escape(try g.string(r, "mode")), HTML.escape(try g.string(r, "head_init")),
                                String(format: "%.2f ± %.2f", 100 * mean, 100 * std), try g.string(r, "n"), HTML.int(try g.double(r, "trainable_params"))]))
        }
        guard !rows.isEmpty else { return "" }
        return HTML.table(["configuration", "method", "head init", "val top-1 (%)", "seeds", "trainable"], rows.sorted { $0.0 > $1.0 }.map(\.1))
    }

    static func perClass(_ s: ResultsSource) -> String? {
        guard let t = s.csv("per_class.csv"), (try? t.require(["class", "images", "zero_shot_top1", "full_top1", "lora_top1"])) != nil else { return nil }
        let rows = t.rows.map { r -> [String] in
            let v = [r[2], r[3], r[4]].map { Double($0) ?? .nan }
            let best = v.max() ?? .nan
            return [HTML.escape(r[0]), r[1]] + v.map { "<td\($0 == best ? " class=\"best\"" : "")>\(HTML.pct($0))</td>" }
        }
        return HTML.table(["class", "images", "zero-shot (%)", "full FT (%)", "LoRA (%)"], rows) + "<p class=\"note\">Bold: the best of the three per class.</p>"
    }

    static func curves(_ s: ResultsSource) -> String? {
        guard let t = s.csv("curves.csv"), let e = try? column(t, "epoch") else { return nil }
        func series(_ name: String, _ col: String, _ color: String, scale: Double = 100) -> SVGChart.Series? {
            guard let y = try? column(t, col) else { return nil }
            return .init(name: name, points: zip(e, y).map { ($0, scale * $1) }, color: color)
        }
        let acc = SVGChart(title: "Val top-1 after each epoch", xLabel: "epoch", yLabel: "val top-1 (%)",
                           series: [series("full fine-tuning", "full_val_top1", fullColor), series("LoRA", "lora_val_top1", loraColor)].compactMap { $0 },
                           references: s.number("zero_shot_top1").map { [.init(y: 100 * $0, label: "zero-shot head")] } ?? [])
        let loss = SVGChart(title: "Training loss per epoch", xLabel: "epoch", yLabel: "mean training loss",
                            series: [series("full fine-tuning", "full_train_loss", fullColor, scale: 1), series("LoRA", "lora_train_loss", loraColor, scale: 1)].compactMap { $0 })
        return "<div class=\"charts\">" + HTML.figure(acc) + HTML.figure(loss) + "</div>"
    }

    /// A numeric column of `t`.
    static func column(_ t: CSVTable, _ name: String) throws -> [Double] { try t.rows.indices.map { try t.double($0, name) } }

    static func tradeOff(_ s: ResultsSource) -> String? {
        guard let g = s.csv("study_groups.csv") else { return nil }
        let reference = s.number("zero_shot_top1").map { [SVGChart.ReferenceLine(y: 100 * $0, label: "zero-shot head")] } ?? []
        func chart(_ x: String, _ label: String) -> SVGChart {
            let modes = [("lora", "LoRA", loraColor), ("full", "full fine-tuning", fullColor)]
            let series = modes.map { mode, name, color -> SVGChart.Series in
                let rows = g.rows.indices.filter { (try? g.string($0, "mode")) == mode }
                let pts = rows.compactMap { r -> (x: Double, y: Double)? in
                    guard let a = try? g.double(r, x), let b = try? g.double(r, "mean_top1") else { return nil }
                    return (a, 100 * b)
                }
                return .init(name: name, points: pts, yErrors: rows.map { 100 * ((try? g.double($0, "std_top1")) ?? 0) }, style: .markers, color: color)
            }
            return SVGChart(title: "Val top-1 vs \(label)", xLabel: label + " (log scale)", yLabel: "val top-1 (%)",
                            xScale: .log10, series: series, references: reference)
        }
        return "<p>Every group of the recipe and rank study; error bars: one standard deviation over seeds.</p><div class=\"charts\">"
            + HTML.figure(chart("trainable_params", "trainable parameters")) + HTML.figure(chart("grad_bytes_per_step", "gradient bytes allreduced per step")) + "</div>"
    }
}
