import Foundation
import WoofIO
import WoofTrain
import WoofViz

/// The emulated-network section of `report/results` (scripts/bench-network.sh): the measured
/// steps per bandwidth, the α–β fits, the model beside the measurement, and the calibration
/// the many-node projection then uses.
extension ReportData {
    static let networkFiles = ["network.csv", "allreduce.csv", "network_model.csv", "link_fit.csv", "network_plot.csv"]

    /// "100_mbit", "1_gbit", "uncapped": a cap as the keys name it (macros: OneHundredMbit…).
    static func capKey(_ mbit: Int) -> String {
        mbit == 0 ? "uncapped" : mbit % 1000 == 0 ? "\(mbit / 1000)_gbit" : "\(mbit)_mbit"
    }

    /// Reads `dir`/network.csv and allreduce.csv; writes the four network files and the
    /// `net_*` numbers. Returns the calibration (nil when no cap binds).
    static func networkNumbers(_ dir: String, into s: inout PaperNumbers,
                               write: (String, String) throws -> Void) throws -> NetworkCalibration? {
        let network = try CSVTable.read(dir + "/network.csv", missing: "run `make bench-network` (root)")
        let allreduce = try CSVTable.read(dir + "/allreduce.csv", missing: "run `make bench-network` (root)")
        let fits = try LinkFit.fits(allreduce)
        let rows = try NetworkModel.compare(network: network, fits: fits)
        try write("network.csv", network.text)
        try write("allreduce.csv", allreduce.text)
        try write("network_model.csv", NetworkModel.table(rows).text)
        try write("link_fit.csv", NetworkModel.fitTable(fits).text)
        try write("network_plot.csv", NetworkModel.plotTable(rows).text)
        for r in rows {
            let key = "net_\(r.mode)_\(capKey(r.bandwidthMbit))_\(r.overlap ? "overlap" : "sequential")"
            s[key + "_step_s"] = r.stepSeconds
            s[key + "_comm_pct"] = 100 * r.commShare
            s[key + "_comm_s"] = r.commSeconds
            s[key + "_calibrated_step_s"] = r.calibratedStepSeconds
            if let n = r.nominalStepSeconds { s[key + "_nominal_step_s"] = n }
        }
        for cap in Set(rows.map(\.bandwidthMbit)) {
            for ov in [true, false] {
                let pick = { (m: String) in rows.first { $0.bandwidthMbit == cap && $0.mode == m && $0.overlap == ov } }
                if let f = pick("full"), let l = pick("lora") {
                    s["net_\(capKey(cap))_\(ov ? "overlap" : "sequential")_lora_speedup"] = f.stepSeconds / l.stepSeconds
                }
            }
        }
        for l in fits {
            s["net_link_\(capKey(l.bandwidthMbit))_alpha_us"] = (l.alpha * 1e7).rounded() / 10
            s["net_link_\(capKey(l.bandwidthMbit))_effective_mbit"] = l.bytesPerSecond * 8 / 1e6
            if let e = l.efficiency { s["net_link_\(capKey(l.bandwidthMbit))_eff_pct"] = 100 * e }
        }
        errorNumbers(rows, into: &s)
        s["net_batch"] = Int(try network.double(0, "batch"))
        s["net_repeats_count"] = rows.map(\.repeats).min() ?? 0
        s["net_backward_share_pct"] = 100 * NetworkModel.backwardShare(mode: "full")
        s["net_available"] = true
        let calibration = NetworkCalibration(fits)
        if let c = calibration {
            s["net_cal_alpha_us"] = (c.alpha * 1e7).rounded() / 10
            s["net_cal_eff_pct"] = 100 * c.efficiency
            s["net_cal_caps"] = c.capsMbit.map { ReportTeX.capLabel($0, space: " ") }.joined(separator: " and ")
        }
        return calibration
    }

    /// How far off each model was: the largest |error| of the step time, without overlap
    /// (the model's own regime) and with it.
    static func errorNumbers(_ rows: [NetworkComparison], into s: inout PaperNumbers) {
        let capped = rows.filter { $0.bandwidthMbit > 0 }
        for (ov, name) in [(false, "sequential"), (true, "overlap")] {
            let nominal = capped.filter { $0.overlap == ov }.compactMap(\.nominalError).map(abs)
            let calibrated = rows.filter { $0.overlap == ov }.map(\.calibratedError).map(abs)
            if let m = nominal.max() { s["net_nominal_\(name)_max_err_pct"] = 100 * m }
            if let m = calibrated.max() { s["net_calibrated_\(name)_max_err_pct"] = 100 * m }
        }
    }

    /// The network section when `out/network` has both CSVs; otherwise the committed one in
    /// `reportDir` is refused to be dropped (unless `dropMissing`, which removes it).
    static func optionalNetwork(_ out: String, reportDir: String, dropMissing: Bool, into s: inout PaperNumbers,
                                write: (String, String) throws -> Void, log: (String) -> Void) throws -> NetworkCalibration? {
        let dir = out + "/network", fm = FileManager.default
        if fm.fileExists(atPath: dir + "/network.csv") && fm.fileExists(atPath: dir + "/allreduce.csv") {
            return try networkNumbers(dir, into: &s, write: write)
        }
        try refuseToDrop(reportDir + "/network.csv", missing: dir + "/network.csv", unless: dropMissing)
        for f in networkFiles { try? fm.removeItem(atPath: reportDir + "/" + f) }
        log("\(dir): no network.csv + allreduce.csv (optional: make bench-network, as root); the paper marks it pending")
        return nil
    }

    /// `results --network-only`: replaces the network section of `reportDir` and its
    /// projection (now calibrated) from `networkDir`, keeping every other result.
    public static func collectNetwork(networkDir: String, reportDir: String) throws -> [String] {
        let summaryPath = reportDir + "/summary.json"
        var s = try JSONFile.read(PaperNumbers.self, from: summaryPath, missing: "run `make publish-results` first")
        for k in Array(s.keys) where k.hasPrefix("net_") || k.hasPrefix("proj_") { s.values[k] = nil }
        var written: [String] = []
        func write(_ name: String, _ text: String) throws {
            try AtomicFile.write(Data(text.utf8), to: reportDir + "/" + name)
            written.append(reportDir + "/" + name)
        }
        let calibration = try networkNumbers(networkDir, into: &s, write: write)
        try projectionNumbers(scalingCSV: reportDir + "/scaling.csv", calibration: calibration, into: &s, write: write)
        try write("summary.json", String(decoding: try JSONFile.encoded(s), as: UTF8.self))
        return written
    }
}

extension ReportTeX {
    /// "100~Mbit/s", "1~Gbit/s", "uncapped" (`space`: what joins number and unit).
    static func capLabel(_ mbit: Int, space: String = "~") -> String {
        mbit == 0 ? "uncapped" : mbit % 1000 == 0 ? "\(mbit / 1000)\(space)Gbit/s" : "\(mbit)\(space)Mbit/s"
    }

    /// `table_network.tex`: per cap and mode, the measured step and the share of it blocked in
    /// the allreduce with and without overlap, and the model's sequential step (nominal α–β
    /// from the cap, and calibrated from the link's fit) with its error.
    static func networkTable(_ t: CSVTable) throws -> String {
        try t.require(["bandwidth_mbit", "mode", "overlap", "step_s", "comm_share", "nominal_step_s", "nominal_error",
                       "calibrated_step_s", "calibrated_error"])
        func row(_ cap: Int, _ m: String, _ ov: Bool) throws -> Int? {
            try t.rows(where: ["bandwidth_mbit": String(cap), "mode": m, "overlap": ov ? "1" : "0"]).first
        }
        func model(_ r: Int, _ kind: String) throws -> String {
            guard !(try t.string(r, kind + "_step_s")).isEmpty else { return "--" }
            let e = 100 * (try t.double(r, kind + "_error"))
            let sign = fixed(abs(e), 1) == "0.0" ? "" : e > 0 ? "+" : "$-$"
            return fixed(try t.double(r, kind + "_step_s"), 2) + " (" + sign + fixed(abs(e), 1) + "\\%)"
        }
        let caps = Set(try t.rows.indices.map { Int(try t.double($0, "bandwidth_mbit")) }).sorted { NetworkModel.capOrder($0) < NetworkModel.capOrder($1) }
        var s = "\\begin{tabular}{@{}llrrrrrr@{}}\n\\toprule\n"
        s += " & & \\multicolumn{2}{c}{overlap} & \\multicolumn{2}{c}{no overlap} & \\multicolumn{2}{c}{model, no overlap} \\\\\n"
        s += "\\cmidrule(lr){3-4}\\cmidrule(lr){5-6}\\cmidrule(lr){7-8}\n"
        s += "link & mode & step (s) & comm & step (s) & comm & nominal (s) & calibrated (s) \\\\\n\\midrule\n"
        for (k, cap) in caps.enumerated() {
            if k > 0 { s += "\\addlinespace\n" }
            for m in ["full", "lora"] {
                guard let on = try row(cap, m, true), let off = try row(cap, m, false) else { continue }
                s += (m == "full" ? capLabel(cap) : "") + " & " + (m == "full" ? "full FT" : "LoRA")
                for r in [on, off] {
                    s += " & " + fixed(try t.double(r, "step_s"), 2) + " & " + pct(try t.double(r, "comm_share"), 0) + "\\%"
                }
                s += " & " + (try model(off, "nominal")) + " & " + (try model(off, "calibrated")) + " \\\\\n"
            }
        }
        return s + "\\bottomrule\n\\end{tabular}\n"
    }
}

extension ReportSections {
    /// The emulated-network section: step time per link speed (measured, and the calibrated
    /// model), and the table of measured against predicted.
    static func network(_ s: ResultsSource) -> String? {
        guard let p = s.csv("network_plot.csv"), let m = s.csv("network_model.csv"),
              (try? m.require(["bandwidth_mbit", "mode", "overlap", "step_s", "comm_share", "nominal_step_s", "calibrated_step_s"])) != nil,
              let x = try? column(p, "x") else { return nil }
        var series: [SVGChart.Series] = []
        for (mode, name, color) in [("full", "full FT", fullColor), ("lora", "LoRA", loraColor)] {
            let kinds: [(String, String, SVGChart.Style, Bool)] = [("sequential", "no overlap", .lineAndMarkers, false),
                                                                  ("overlap", "overlap", .markers, false),
                                                                  ("model", "calibrated model, no overlap", .line, true)]
            for (kind, label, style, dashed) in kinds {
                guard let y = try? column(p, "\(mode)_\(kind)_step_s") else { continue }
                series.append(.init(name: "\(name), \(label)", points: zip(x, y).filter { $1.isFinite }.map { ($0, $1) },
                                    style: style, dashed: dashed, color: color))
            }
        }
        let chart = SVGChart(title: "Step time on 2 emulated nodes (\(NetworkModel.uncappedPlotMbit / 1000) Gbit/s on the axis = no cap)",
                             xLabel: "link (Mbit/s)", yLabel: "s per step", xScale: .log10, series: series)
        var charts = HTML.figure(chart)
        if let a = s.csv("allreduce.csv") { charts += HTML.figure(allreduceChart(a)) }
        let rows = m.rows.indices.compactMap { r -> [String]? in
            guard let cap = try? m.double(r, "bandwidth_mbit"), let mode = try? m.string(r, "mode"), let ov = try? m.string(r, "overlap"),
                  let step = try? m.double(r, "step_s"), let share = try? m.double(r, "comm_share") else { return nil }
            let model = { (k: String) in (try? m.double(r, k)).map { String(format: "%.2f", $0) } ?? "–" }
            return [ReportTeX.capLabel(Int(cap), space: " "), mode, ov == "1" ? "on" : "off", String(format: "%.2f", step),
                    String(format: "%.0f%%", 100 * share), model("nominal_step_s"), model("calibrated_step_s")]
        }
        return "<p>Two network namespaces as nodes, veth links through a bridge capped with tc HTB, OpenMPI over TCP, one compute thread per node. "
            + "The model: a ring allreduce's α–β cost added to the same link's compute (the step less the time blocked; nominal: α = 20 µs "
            + "and the cap as bandwidth; calibrated: α and bandwidth fitted to allreduce timings on each link).</p>"
            + "<div class=\"charts\">" + charts + "</div>"
            + HTML.table(["link", "mode", "overlap", "step (s)", "blocked in allreduce", "nominal model (s)", "calibrated model (s)"], rows)
    }

    /// One blocking allreduce's time against its size, per link: the data the α–β fit uses.
    static func allreduceChart(_ t: CSVTable) -> SVGChart {
        let caps = Set(t.rows.indices.compactMap { (try? t.double($0, "bandwidth_mbit")).map(Int.init) })
            .sorted { NetworkModel.capOrder($0) < NetworkModel.capOrder($1) }
        let series = caps.map { cap -> SVGChart.Series in
            let rows = t.rows.indices.filter { (try? t.double($0, "bandwidth_mbit")) == Double(cap) }
            let points = rows.compactMap { r -> (Double, Double)? in
                guard let b = try? t.double(r, "bytes"), let sec = try? t.double(r, "allreduce_s") else { return nil }
                return (b, 1000 * sec)
            }
            return .init(name: ReportTeX.capLabel(cap, space: " "), points: points)
        }
        return SVGChart(title: "One allreduce on 2 nodes, by message size", xLabel: "bytes", yLabel: "ms",
                        xScale: .log10, yScale: .log10, series: series)
    }
}
