import Foundation
import WoofIO

/// The weight-space study's table and figure for the paper (from `ws_*.csv`).
extension ReportTeX {
    static func weightSpaceOutputs(_ dir: String) throws -> [(String, String)] {
        guard FileManager.default.fileExists(atPath: dir + "/ws_alpha_groups.csv") else { return [] }
        let groups = try read(dir, "ws_alpha_groups.csv")
        return [("table_weightspace.tex", try weightSpaceTable(groups, chosen: try read(dir, "ws_wise_chosen.csv"),
                                                                soups: try read(dir, "ws_soups.csv"))),
                ("figure_weightspace.tex", try weightSpaceFigure(groups))]
    }

    /// "94.76" or "94.76 ± 0.10" over `values` (fractions).
    static func meanStdText(_ values: [Double]) -> String {
        let (m, sd) = Study.meanStd(values)
        return pct(m, 2) + (values.count > 1 ? " $\\pm$ " + pct(sd, 2) : "")
    }

    /// One row per recipe's runs and their WiSE-FT, then the soups: val top-1, top-1 on the
    /// ImageNet-val images, and top-1 on the held-out training images that chose α and the greedy soup.
    static func weightSpaceTable(_ groups: CSVTable, chosen: CSVTable, soups: CSVTable) throws -> String {
        var s = "\\begin{tabular}{@{}llrrrr@{}}\n\\toprule\n"
        s += "model & $\\alpha$ & seeds & val top-1 (\\%) & ImageNet-val imgs & held-out train \\\\\n\\midrule\n"
        if let z = try groups.rows(where: ["alpha": "0.0"]).first {
            s += "zero-shot head & 0 & -- & " + pct(try groups.double(z, "val_top1_mean"), 2) + " & "
            s += ((try groups.optionalDouble(z, "val_heldout_top1_mean")).map { pct($0, 1) } ?? "--") + " & "
            s += ((try groups.optionalDouble(z, "select_top1_mean")).map { pct($0, 1) } ?? "--") + " \\\\\n"
        }
        let names = Set(try groups.rows.indices.map { try groups.string($0, "group") }).sorted()
        for g in names {
            let picks = try chosen.rows(where: ["group": g])
            for (label, alphaCol, prefix) in [("fine-tuned", nil, "run_"), ("WiSE-FT", "alpha", "")] as [(String, String?, String)] {
                guard !picks.isEmpty else { continue }
                let val = try picks.map { try chosen.double($0, prefix + "val_top1") }
                let held = try picks.compactMap { try chosen.optionalDouble($0, prefix + "val_heldout_top1") }
                let alphas = try alphaCol.map { c in try picks.map { String(format: "%g", try chosen.double($0, c)) }.joined(separator: ", ") } ?? "1"
                s += "\\code{\(escape(g))} \(label) & \(alphas) & \(picks.count) & " + meanStdText(val) + " & "
                s += (held.isEmpty ? "--" : pct(Study.meanStd(held).mean, 1)) + " & "
                s += (label == "WiSE-FT" ? try picks.map { pct(try chosen.double($0, "select_top1"), 1) }.joined(separator: ", ") : "--") + " \\\\\n"
            }
        }
        if !soups.rows.isEmpty { s += "\\midrule\n" }
        for r in soups.rows.indices {
            s += escape(try soups.string(r, "soup")) + " & -- & " + (try soups.string(r, "n")) + " & " + pct(try soups.double(r, "val_top1"), 2) + " & "
            s += ((try soups.optionalDouble(r, "val_heldout_top1")).map { pct($0, 1) } ?? "--") + " & "
            s += ((try soups.optionalDouble(r, "select_top1")).map { pct($0, 1) } ?? "--") + " \\\\\n"
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }

    /// Val top-1 against α, one curve per recipe (mean over its seeds), with pgfplots.
    static func weightSpaceFigure(_ groups: CSVTable) throws -> String {
        let names = Set(try groups.rows.indices.map { try groups.string($0, "group") }).sorted()
        var s = "\\begin{tikzpicture}\n\\begin{axis}[width=\\columnwidth, height=4.2cm, xlabel={$\\alpha$ (0: zero-shot, 1: fine-tuned)},"
        s += " ylabel={val top-1 (\\%)}, xmin=0, xmax=1, legend pos=south west, legend style={font=\\scriptsize},"
        s += " tick label style={font=\\scriptsize}, label style={font=\\small}]\n"
        for g in names {
            let rows = try groups.rows(where: ["group": g]).sorted { try groups.double($0, "alpha") < groups.double($1, "alpha") }
            let points = try rows.map { "(\(try groups.string($0, "alpha")),\(fixed(100 * (try groups.double($0, "val_top1_mean")), 3)))" }
            // LoRA in the LoRA colour, full in the full colour; the plain recipes dashed. The legend sits
            // bottom left, where no curve goes: every curve starts at the zero-shot head.
            let style = (g.contains("lora") ? "lorac, mark=" : "fullc, mark=") + (g.contains("lora") ? "*" : "square*") + (g.hasPrefix("plain") ? ", dashed" : "")
            s += "\\addplot[\(style), mark size=1.2pt] coordinates {\(points.joined(separator: " "))};\n"
            s += "\\addlegendentry{\\code{\(escape(g))}}\n"
        }
        return s + "\\end{axis}\n\\end{tikzpicture}\n"
    }
}
