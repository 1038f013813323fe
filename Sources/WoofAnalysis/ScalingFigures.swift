import Foundation
import WoofTrain
import WoofCore
import WoofViz
import WoofIO

/// `woof-dist scaling`: plots of the measured scaling CSV and the many-node projection.
public enum ScalingReport {
    /// Writes speedup.png, comm_share.png, projection.csv and projection.png into `outDir`
    /// and returns a text summary of the headline figures.
    public static func write(csv: String, outDir: String) throws -> String {
        let rows = try ScalingRow.read(csv: csv)
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let modes = ["full", "lora"].filter { m in rows.contains { $0.mode == m } }
        var summary = try writeMeasured(rows, modes: modes, outDir: outDir)
        summary += try writeProjection(rows, modes: modes, outDir: outDir)
        try AtomicFile.write(Data(summary.utf8), to: outDir + "/summary.txt")
        return summary
    }

    private static let colors: [String: RGBColor] = ["full": RGBColor.palette[0], "lora": RGBColor.palette[1]]
    private static func label(_ m: String) -> String { m == "full" ? "full fine-tuning" : "LoRA r=8" }

    /// Measured: speed-up over 1 rank, and the share of the step spent waiting on the
    /// allreduce; returns one summary line per run.
    static func writeMeasured(_ rows: [ScalingRow], modes: [String], outDir: String) throws -> String {
        var summary = ""
        var speedup: [LinePlot.Series] = [], share: [LinePlot.Series] = []
        for m in modes {
            let r = rows.filter { $0.mode == m }.sorted { $0.ranks < $1.ranks }
            guard let one = r.first(where: { $0.ranks == 1 }) else { continue }
            speedup.append(.init(name: label(m), points: r.map { (Double($0.ranks), $0.imagesPerSecond / one.imagesPerSecond) }, color: colors[m]))
            share.append(.init(name: label(m), points: r.map { (Double($0.ranks), 100 * $0.commSeconds / max($0.commSeconds + $0.computeSeconds, 1e-12)) }, color: colors[m]))
            for x in r {
                summary += String(format: "%@ %d rank(s)%@: %.2f img/s, speed-up %.2f, compute %.3f s/step, comm %.4f s/step, %d bytes/step\n",
                                  m, x.ranks, x.oversubscribed ? " (oversubscribed)" : "", x.imagesPerSecond,
                                  x.imagesPerSecond / one.imagesPerSecond, x.computeSeconds, x.commSeconds, x.bytesPerStep)
            }
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // All runs share the same cores (threads per rank = cores / ranks), so the ideal is
        // no loss, not N-fold: the plot shows what splitting the work over ranks costs or gains.
        let maxRanks = Double(rows.map(\.ranks).max() ?? 1)
        speedup.append(.init(name: "no loss (same \(cores) cores)", points: [(1, 1), (maxRanks, 1)], color: .gray, dashed: true, marker: .none))
        try LinePlot(title: "Speed-up with MPI ranks on the same \(cores) cores", xLabel: "MPI ranks (threads per rank = \(cores)/ranks; beyond \(cores): oversubscribed)",
                     yLabel: "images/s relative to 1 rank", series: speedup, xLog: true, logBase: 2, yRange: 0.5...1.5).write(to: outDir + "/speedup.png")
        try LinePlot(title: "Time waiting for the gradient allreduce", xLabel: "MPI ranks",
                     yLabel: "share of step time (%)", series: share, xLog: true, logBase: 2)
            .write(to: outDir + "/comm_share.png")
        return summary
    }

    /// The many-node projection from the 1-rank measurement: projection.csv, projection.png
    /// and a summary line per mode and bandwidth.
    static func writeProjection(_ rows: [ScalingRow], modes: [String], outDir: String) throws -> String {
        var base: [String: ScalingRow] = [:]
        for m in modes { base[m] = rows.first { $0.mode == m && $0.ranks == 1 } }
        let proj = ScalingProjection()
        let points = proj.project(base)
        try ScalingProjection.table(points).write(to: outDir + "/projection.csv")
        var series: [LinePlot.Series] = []
        for m in modes {
            for (gbit, dashed) in [(10.0, true), (100.0, false)] {
                let p = points.filter { $0.mode == m && $0.scaling == "strong" && $0.gbit == gbit }.sorted { $0.nodes < $1.nodes }
                series.append(.init(name: "\(label(m)), \(Int(gbit)) Gbit/s", points: p.map { (Double($0.nodes), $0.imagesPerSecond) },
                                    color: colors[m], dashed: dashed, marker: gbit == 10 ? .square : .circle))
            }
        }
        try LinePlot(title: "Projected throughput, global batch 256 (alpha-beta ring allreduce)", xLabel: "nodes (2 cores each, as measured)",
                     yLabel: "images/s", series: series, xLog: true, yLog: true, logBase: 2).write(to: outDir + "/projection.png")
        var summary = ""
        for m in modes {
            for gbit in proj.bandwidthsGbit {
                let strong = ScalingProjection.limit(points, mode: m, scaling: "strong", gbit: gbit)
                let weak64 = points.first { $0.mode == m && $0.scaling == "weak" && $0.gbit == gbit && $0.nodes == 64 }
                summary += String(format: "projection %@ at %.0f Gbit/s: strong scaling (global batch 256) efficiency < 50%% from %@ nodes (searched to 256); weak scaling efficiency at 64 nodes %.1f%%\n",
                                  m, gbit, strong.map(String.init) ?? "beyond 256", 100 * (weak64?.efficiency ?? .nan))
            }
        }
        return summary
    }
}
