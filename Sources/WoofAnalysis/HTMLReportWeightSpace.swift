import Foundation
import WoofIO
import WoofViz

/// The report's weight-space section (WiSE-FT curves, the chosen α, the soups), from `ws_*.csv`.
extension ReportSections {
    static func weightSpace(_ s: ResultsSource) -> String? {
        guard let groups = s.csv("ws_alpha_groups.csv"), let chosen = s.csv("ws_wise_chosen.csv"), let soups = s.csv("ws_soups.csv"),
              let names = try? Set(groups.rows.indices.map { try groups.string($0, "group") }).sorted() else { return nil }
        var html = "<p>WiSE-FT: θ(α) = (1 − α)·zero-shot + α·fine-tuned, scored on val for every α; each run's α is chosen on the "
        html += "\(HTML.int(s.number("ws_select_images"))) training images the runs held out, never on val. Soups average runs "
        html += "(LoRA runs as merged weights). \(HTML.int(s.number("ws_runs_count"))) runs so far.</p>"
        let series = names.compactMap { g -> SVGChart.Series? in
            guard let rows = try? groups.rows(where: ["group": g]),
                  let pts = try? rows.map({ (x: try groups.double($0, "alpha"), y: 100 * (try groups.double($0, "val_top1_mean"))) }) else { return nil }
            return .init(name: g, points: pts.sorted { $0.x < $1.x }, dashed: g.hasPrefix("plain"), color: g.contains("lora") ? loraColor : fullColor)
        }
        let chart = SVGChart(title: "Val top-1 along the line from the zero-shot model (α = 0) to the fine-tuned one (α = 1)",
                             xLabel: "α", yLabel: "val top-1 (%)", series: series)
        html += "<div class=\"charts\">" + HTML.figure(chart) + "</div>"
        var rows: [[String]] = []
        for r in chosen.rows.indices {
            guard let run = try? chosen.string(r, "run"), let a = try? chosen.double(r, "alpha") else { continue }
            let v = { (c: String) in HTML.pct(try? chosen.double(r, c)) }
            rows.append([HTML.escape(run), String(format: "%g", a), v("run_val_top1"), v("val_top1"), v("run_val_heldout_top1"), v("val_heldout_top1")])
        }
        html += HTML.table(["run", "chosen α", "fine-tuned val (%)", "WiSE-FT val (%)", "fine-tuned, ImageNet-val images (%)",
                            "WiSE-FT, ImageNet-val images (%)"], rows)
        let soupRows = soups.rows.indices.compactMap { r -> [String]? in
            guard let name = try? soups.string(r, "soup") else { return nil }
            return [HTML.escape(name), (try? soups.string(r, "n")) ?? "–", HTML.pct(try? soups.double(r, "val_top1")),
                    HTML.pct(try? soups.double(r, "val_heldout_top1")), HTML.pct(try? soups.double(r, "select_top1"))]
        }
        if !soupRows.isEmpty {
            html += HTML.table(["soup", "models", "val (%)", "ImageNet-val images (%)", "held-out training images (%)"], soupRows)
        }
        return html + (s.csv("ws_flip_tta.csv").map(flipTable) ?? "")
    }

    /// Flip test-time augmentation beside the plain score, apart because it doubles inference.
    static func flipTable(_ flips: CSVTable) -> String {
        let rows = flips.rows.indices.compactMap { r -> [String]? in
            guard let name = try? flips.string(r, "model") else { return nil }
            let v = { (c: String) in HTML.pct(try? flips.double(r, c)) }
            return [HTML.escape(name), v("val_top1"), v("flip_val_top1"), v("val_heldout_top1"), v("flip_val_heldout_top1")]
        }
        guard !rows.isEmpty else { return "" }
        return "<p>Horizontal-flip test-time augmentation (mean logits of each image and its mirror; twice the inference cost):</p>"
            + HTML.table(["model", "val (%)", "val, flip TTA (%)", "ImageNet-val images (%)", "ImageNet-val images, flip TTA (%)"], rows)
    }
}
