import Foundation
import WoofTrain
import WoofCore
import WoofIO

/// `woof-dist scaling`: a summary of the measured scaling CSV and the many-node projection
/// (the charts are drawn by the paper and the HTML report from the CSVs).
public enum ScalingReport {
    /// Writes projection.csv and summary.txt into `outDir`
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

    /// Measured: speed-up over 1 rank and the time spent waiting on the allreduce, one
    /// summary line per run.
    static func writeMeasured(_ rows: [ScalingRow], modes: [String], outDir: String) throws -> String {
        var summary = ""
        for m in modes {
            let r = rows.filter { $0.mode == m }.sorted { $0.ranks < $1.ranks }
            guard let one = r.first(where: { $0.ranks == 1 }) else { continue }
            for x in r {
                summary += String(format: "%@ %d rank(s)%@: %.2f img/s, speed-up %.2f, compute %.3f s/step, comm %.4f s/step, %d bytes/step\n",
                                  m, x.ranks, x.oversubscribed ? " (oversubscribed)" : "", x.imagesPerSecond,
                                  x.imagesPerSecond / one.imagesPerSecond, x.computeSeconds, x.commSeconds, x.bytesPerStep)
            }
        }
        return summary
    }

    /// The many-node projection from the 1-rank measurement: projection.csv and a summary
    /// line per mode and bandwidth.
    static func writeProjection(_ rows: [ScalingRow], modes: [String], outDir: String) throws -> String {
        var base: [String: ScalingRow] = [:]
        for m in modes { base[m] = rows.first { $0.mode == m && $0.ranks == 1 } }
        let proj = ScalingProjection()
        let points = proj.project(base)
        try ScalingProjection.table(points).write(to: outDir + "/projection.csv")
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
