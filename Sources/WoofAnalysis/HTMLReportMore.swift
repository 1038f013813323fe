import Foundation
import WoofIO
import WoofTrain
import WoofViz

extension ReportSections {
    static func scaling(_ s: ResultsSource) -> String? {
        guard let t = s.csv("scaling.csv"), (try? t.require(["ranks", "mode", "img_per_s", "compute_s_per_step", "comm_s_per_step"])) != nil else { return nil }
        func series(_ mode: String, _ name: String, _ color: String, _ y: (Int) throws -> Double) -> SVGChart.Series {
            let rows = t.rows.indices.filter { (try? t.string($0, "mode")) == mode }
            return .init(name: name, points: rows.compactMap { r in (try? t.double(r, "ranks")).flatMap { x in (try? y(r)).map { (x, $0) } } }, color: color)
        }
        let speed = SVGChart(title: "Measured throughput with MPI ranks on one machine", xLabel: "MPI ranks", yLabel: "images/s", xScale: .log2,
                             series: [series("full", "full fine-tuning", fullColor) { try t.double($0, "img_per_s") },
                                      series("lora", "LoRA", loraColor) { try t.double($0, "img_per_s") }])
        let share: (Int) throws -> Double = { r in
            let comm = try t.double(r, "comm_s_per_step")
            return 100 * comm / max(comm + (try t.double(r, "compute_s_per_step")), 1e-12)
        }
        let comm = SVGChart(title: "Time spent in the gradient allreduce", xLabel: "MPI ranks", yLabel: "share of the step (%)", xScale: .log2,
                            series: [series("full", "full fine-tuning", fullColor, share), series("lora", "LoRA", loraColor, share)])
        var html = "<div class=\"charts\">" + HTML.figure(speed) + HTML.figure(comm)
        if let p = s.csv("projection.csv") { html += HTML.figure(projection(p)) }
        return html + "</div><p class=\"note\">Projection: α–β model of a ring allreduce from the 1-rank step time, global batch 256 split over the nodes (strong scaling); with the emulated network measured, its latency and bandwidth share are the calibrated ones (next section).</p>"
    }

    static func projection(_ p: CSVTable) -> SVGChart {
        let nodes = (try? column(p, "nodes")) ?? []
        var series: [SVGChart.Series] = []
        for (mode, name, color) in [("full", "full FT", fullColor), ("lora", "LoRA", loraColor)] {
            for (gbit, dashed) in [("10", true), ("100", false)] {
                guard let y = try? column(p, "\(mode)_strong_\(gbit)g_img_per_s") else { continue }
                series.append(.init(name: "\(name), \(gbit) Gbit/s", points: zip(nodes, y).map { ($0, $1) }, dashed: dashed, color: color))
            }
        }
        return SVGChart(title: "Projected throughput on many nodes", xLabel: "nodes (2 cores each)", yLabel: "images/s",
                        xScale: .log2, yScale: .log2, series: series)
    }

    static func bench(_ s: ResultsSource) -> String? {
        guard let t = s.csv("bench.csv"), (try? t.require(["mode", "ours_img_per_s", "pytorch_img_per_s", "ratio"])) != nil else { return nil }
        let roofline = t.header.contains("fraction_of_r") && t.header.contains("ours_gflop_per_s")
        let rows = t.rows.indices.compactMap { r -> [String]? in
            guard let mode = try? t.string(r, "mode"), let ours = try? t.double(r, "ours_img_per_s"),
                  let torch = try? t.double(r, "pytorch_img_per_s") else { return nil }
            let rss = { (who: String) in (try? t.double(r, "\(who)_peak_rss_mib")).map { String(format: "%.0f", $0) } ?? "–" }
            let gemm = { (col: String, f: String) in (try? t.double(r, col)).map { String(format: f, $0) } ?? "–" }
            return [HTML.escape(mode), String(format: "%.1f", ours), String(format: "%.1f", torch), String(format: "%.2f×", ours / torch)]
                + (roofline ? [gemm("ours_gflop_per_s", "%.0f"), gemm("fraction_of_r", "%.2f")] : []) + [rss("ours"), rss("pytorch")]
        }
        var intro = "<p>One training step (or forward pass) at batch 32 on synthetic input, both on the same machine in one run"
        if let rounds = try? t.double(0, "repeats") { intro += String(format: " (medians of %.0f rounds)", rounds) }
        if roofline, let r = try? t.double(0, "r_gflop_per_s") {
            intro += String(format: "; R = %.0f GFLOP/s is OpenBLAS sgemm on the ViT's own products, split over the engine's workers", r)
        }
        return intro + ".</p>"
            + HTML.table(["mode", "woof-dist img/s", "PyTorch img/s", "ours / PyTorch"] + (roofline ? ["our GFLOP/s", "÷ R"] : [])
                         + ["our peak RSS (MiB)", "PyTorch peak RSS (MiB)"], rows)
    }

    static func attention(_ s: ResultsSource) -> String? {
        guard let t = s.csv("attention_grid.csv"), (try? t.require(["row", "class", "model", "label", "file", "prediction", "correct", "image"])) != nil else { return nil }
        var columns: [String] = []
        for r in t.rows.indices {
            guard let l = try? t.string(r, "label") else { continue }
            let view = (try? t.string(r, "view")) ?? "cls"
            let name = view == "gt" ? "\(l): relevance for the true class" : (view == "cls" && l != "image" ? "\(l): attention" : l)
            if !columns.contains(name) { columns.append(name) }
        }
        let maps = try? AttentionGrid.read(dir: s.output + "/attention", missing: "")
        let relevance = t.header.contains("view") && t.rows.indices.contains { (try? t.string($0, "view")) == "gt" }
        var html = "<p>For the first val image of each class: the 224-pixel crop the model sees, then per model the class token's attention in the last block (mean over heads)"
            + (relevance ? " and the gradient-weighted relevance for the true class (Chefer et al. 2021: per block the attention weighted by the class logit's gradient, positive part, averaged over heads, propagated through the blocks)" : "")
            + ". Above each map the model's prediction: <span class=\"right\">right</span> or <span class=\"wrong\">✗ wrong</span>.</p>"
        // Two images side by side when a row is short: tiles stay near their native size.
        let perRow = relevance ? 1 : 2
        html += "<div class=\"grid\" style=\"grid-template-columns:repeat(\(perRow * columns.count),1fr)\">"
        html += Array(repeating: columns.map { "<div><b>\(HTML.escape($0))</b></div>" }.joined(), count: perRow).joined()
        for r in t.rows.indices { html += attentionCell(t, r, source: s, maps: maps) }
        html += "</div>" + (maps == nil ? "" : "<p class=\"note\">Click a map for all its views (each head, the mean, the DINO mask, the rollout, the relevance for the true class, the last block's gradient × attention alone, the relevance for the predicted class), from <code>\(HTML.escape(s.output))/attention/</code>.</p>")
        return html + (faithfulness(s) ?? "") + (artifacts(s) ?? "")
    }

    /// The deletion test: area under the true-class probability curve per map and model.
    static func faithfulness(_ s: ResultsSource) -> String? {
        guard let t = s.csv(AttentionFaithfulness.fileName), (try? t.require(["model", "map", "order", "images", "auc_probability"])) != nil,
              let n = try? t.string(0, "images") else { return nil }
        let models = [("pretrained", "original ViT"), ("full_model", "full FT"), ("lora_model", "LoRA")]
        let rows = ReportData.faithfulnessMaps.compactMap { map -> [String]? in
            let cells = models.flatMap { m in AttentionFaithfulness.orders.map { o -> String in
                guard let r = try? t.rows(where: ["model": m.0, "map": map, "order": o]).first, let v = try? t.double(r, "auc_probability") else { return "–" }
                return String(format: "%.3f", v)
            } }
            let names = ["random": "random order", "cls": "CLS attention, last block", "cls_no_artifacts": "the same without the high-norm patches",
                         "rollout": "rollout", "gt": "relevance for the true class"]
            return cells.allSatisfy { $0 == "–" } ? nil : [HTML.escape(names[map] ?? map)] + cells
        }
        return "<h3>Faithfulness: the deletion test</h3><p>On \(HTML.escape(n)) val images (a seeded choice over all classes) the patches are deleted (set to the normalised mean) in order of each map, 10% at a time; the table gives the area under the true-class probability curve. Most relevant first: lower means the map found what the decision rests on; least relevant first: higher is better. The random order is the baseline.</p>"
            + HTML.table(["map"] + models.flatMap { ["\($0.1), most first ↓", "\($0.1), least first ↑"] }, rows)
    }

    /// The high-norm patch tokens (Darcet et al. 2024) and the change metrics without them.
    static func artifacts(_ s: ResultsSource) -> String? {
        guard let t = s.csv("attention_artifacts.csv"),
              (try? t.require(["model", "artifact_patches_per_image", "cls_share", "uniform_share", "corner_share", "norm_median", "norm_p99"])) != nil else { return nil }
        let rows = t.rows.indices.compactMap { r -> [String]? in
            guard let m = try? t.string(r, "model") else { return nil }
            let v = { (k: String, f: String, scale: Double) in (try? t.double(r, k)).map { String(format: f, $0 * scale) } ?? "–" }
            return [HTML.escape(m), v("norm_median", "%.1f", 1), v("norm_p99", "%.1f", 1), v("artifact_patches_per_image", "%.2f", 1),
                    v("corner_share", "%.1f%%", 100), v("cls_share", "%.1f%%", 100), v("uniform_share", "%.1f%%", 100)]
        }
        var html = "<h3>The bright corners: high-norm patch tokens</h3><p>Patch tokens entering the last block whose norm is far above the model's median (Darcet et al. 2024, “Vision transformers need registers”), where they sit and how much of the class token's attention they take.</p>"
            + HTML.table(["model", "median norm", "99th percentile", "high-norm patches per image", "of them in the 3×3 corners", "CLS attention on them", "if attention were uniform"], rows)
        if let c = s.csv("attention_change_artifacts.csv") {
            let crow = c.rows.indices.compactMap { r -> [String]? in
                guard let a = try? c.string(r, "model_a"), let b = try? c.string(r, "model_b") else { return nil }
                let v = { (k: String) in (try? c.double(r, k)).map { String(format: "%.3f", $0) } ?? "–" }
                return [HTML.escape("\(a) → \(b)"), v("js_mean"), v("js_mean_excluding"), v("iou_mean"), v("iou_mean_excluding")]
            }
            html += HTML.table(["models", "JS", "JS without them", "mask IoU", "IoU without them"], crow)
        }
        return html
    }

    /// One tile of the grid with its caption; a map links to its per-image panels when the
    /// run's attention directory is there.
    static func attentionCell(_ t: CSVTable, _ r: Int, source s: ResultsSource, maps: AttentionGrid?) -> String {
        let file = (try? t.string(r, "file")) ?? "", prediction = (try? t.string(r, "prediction")) ?? ""
        let caption: String
        switch (try? t.string(r, "correct")) ?? "" {
        case "1": caption = "<span class=\"right\">\(HTML.escape(prediction))</span>"
        case "0": caption = "<span class=\"wrong\">✗ \(HTML.escape(prediction))</span>"
        default: caption = HTML.escape(prediction.isEmpty ? ((try? t.string(r, "class")) ?? "") : prediction)
        }
        let alt = HTML.escape("\((try? t.string(r, "class")) ?? ""), \((try? t.string(r, "label")) ?? "")")
        var img = "<img alt=\"\(alt)\" src=\"\(s.dataURI(file) ?? "")\">"
        if let link = panelsLink(t, r, source: s, maps: maps) { img = "<a href=\"\(HTML.escape(link))\">\(img)</a>" }
        return "<figure><figcaption>\(caption)</figcaption>\(img)</figure>"
    }

    /// The per-image panels of this tile's image and model, relative to the report file.
    static func panelsLink(_ t: CSVTable, _ r: Int, source s: ResultsSource, maps: AttentionGrid?) -> String? {
        guard let maps, let image = try? t.string(r, "image"), let model = try? t.string(r, "model"),
              let im = maps.images.first(where: { $0.source.hasSuffix("/" + image) }) else { return nil }
        let target = model == "image" ? im.crop : (im.cells.first { $0.model == model }?.panels ?? im.crop)
        return relativePath(from: URL(fileURLWithPath: s.reportPath).deletingLastPathComponent().path, to: s.output + "/attention/" + target)
    }

    /// `to` relative to directory `from` (both made absolute).
    static func relativePath(from: String, to: String) -> String {
        let a = URL(fileURLWithPath: from).standardizedFileURL.pathComponents, b = URL(fileURLWithPath: to).standardizedFileURL.pathComponents
        var i = 0
        while i < a.count, i < b.count, a[i] == b[i] { i += 1 }
        return (Array(repeating: "..", count: a.count - i) + b[i...]).joined(separator: "/")
    }
}
