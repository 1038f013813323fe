import Foundation
import WoofTrain
import WoofCore
import WoofIO

/// Rows of `scripts/bench-scaling.sh`'s CSV, and a projection to many nodes from them.
public struct ScalingRow {
    public var ranks: Int, mode: String, threadsPerRank: Int, batch: Int
    public var imagesPerSecond: Double, computeSeconds: Double, commSeconds: Double
    public var bytesPerStep: Int, oversubscribed: Bool

    public static func read(csv path: String) throws -> [ScalingRow] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainError.io("\(path): cannot read the scaling CSV")
        }
        var lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first?.split(separator: ",").map(String.init) else { throw TrainError.io("\(path): empty") }
        lines.removeFirst()
        func col(_ n: String) throws -> Int {
            guard let i = header.firstIndex(of: n) else { throw TrainError.io("\(path): no column '\(n)'") }
            return i
        }
        let (r, m, t, b, ips, cs, cm, by, ov) = try (col("ranks"), col("mode"), col("threads_per_rank"), col("batch"), col("img_per_s"),
                                                     col("compute_s_per_step"), col("comm_s_per_step"), col("bytes_per_step"), col("oversubscribed"))
        return try lines.enumerated().map { (i, line) in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == header.count, let ranks = Int(f[r]), let threads = Int(f[t]), let batch = Int(f[b]),
                  let img = Double(f[ips]), let comp = Double(f[cs]), let comm = Double(f[cm]), let bytes = Int(f[by]) else {
                throw TrainError.io("\(path): line \(i + 2) is malformed: \(line)")
            }
            return ScalingRow(ranks: ranks, mode: f[m], threadsPerRank: threads, batch: batch, imagesPerSecond: img,
                              computeSeconds: comp, commSeconds: comm, bytesPerStep: bytes, oversubscribed: f[ov] == "1")
        }
    }
}

/// An alpha–beta model of ring allreduce,
///   t_comm(N) = 2(N−1)·α + 2(N−1)/N · bytes / bandwidth,
/// with per-node compute time per step taken from the measured single-rank run.
public struct ScalingProjection {
    /// Per-message latency (s). 20 µs: a typical MPI small-message latency over TCP on
    /// 10–100 Gbit/s Ethernet; InfiniBand is ~10× lower.
    public var alpha = 20e-6
    public var bandwidthsGbit: [Double] = [10, 25, 100]
    /// The share of a link's nominal bandwidth an allreduce gets (1: the nominal model;
    /// `NetworkCalibration` measures it on the emulated cluster).
    public var bandwidthEfficiency = 1.0
    // Up to 256: one image per node at the strong-scaling global batch of 256.
    public var nodes: [Int] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    public init() {}

    /// The projection with the latency and bandwidth efficiency measured on real links.
    public init(calibration c: NetworkCalibration) { alpha = c.alpha; bandwidthEfficiency = c.efficiency }

    /// Ring allreduce of `bytes` over `nodes`: 2(N−1) latencies, 2(N−1)/N of the buffer sent.
    public static func ringSeconds(nodes n: Int, alpha: Double, bytesPerSecond: Double, bytes: Double) -> Double {
        guard n > 1 else { return 0 }
        return 2 * Double(n - 1) * alpha + 2 * Double(n - 1) / Double(n) * bytes / bytesPerSecond
    }

    public func commSeconds(nodes n: Int, bytes: Int, gbit: Double) -> Double {
        Self.ringSeconds(nodes: n, alpha: alpha, bytesPerSecond: gbit * 1e9 / 8 * bandwidthEfficiency, bytes: Double(bytes))
    }

    public struct Point { public var mode: String; public var nodes: Int; public var gbit: Double; public var scaling: String
                          public var imagesPerSecond: Double; public var efficiency: Double; public var commSeconds: Double; public var computeSeconds: Double }

    /// Two regimes, no overlap of compute and communication (conservative):
    /// weak — every node keeps the measured batch per step (global batch grows with N);
    /// strong — the global batch stays at the measured batch × 8 (256 for batch 32) and is
    /// split over the nodes, so per-node compute shrinks as 1/N.
    public func project(_ base: [String: ScalingRow]) -> [Point] {
        var out: [Point] = []
        for (mode, row) in base.sorted(by: { $0.key < $1.key }) {
            let perImage = row.computeSeconds / Double(row.batch)
            for gbit in bandwidthsGbit {
                for n in nodes {
                    let comm = commSeconds(nodes: n, bytes: row.bytesPerStep, gbit: gbit)
                    // Weak scaling.
                    let tw = row.computeSeconds + comm
                    out.append(Point(mode: mode, nodes: n, gbit: gbit, scaling: "weak", imagesPerSecond: Double(row.batch * n) / tw,
                                     efficiency: row.computeSeconds / tw, commSeconds: comm, computeSeconds: row.computeSeconds))
                    // Strong scaling at a fixed global batch.
                    let global = Double(row.batch * 8)
                    let compute = perImage * global / Double(n)
                    let ts = compute + comm
                    out.append(Point(mode: mode, nodes: n, gbit: gbit, scaling: "strong", imagesPerSecond: global / ts,
                                     efficiency: (perImage * global) / (ts * Double(n)), commSeconds: comm, computeSeconds: compute))
                }
            }
        }
        return out
    }

    /// The rows of `projection.csv`.
    public static func table(_ points: [Point]) -> CSVTable {
        var t = CSVTable(header: ["mode", "scaling", "nodes", "gbit_per_s", "img_per_s", "efficiency",
                                  "compute_s_per_step", "comm_s_per_step"])
        for p in points {
            t.append([p.mode, p.scaling, "\(p.nodes)", String(format: "%.0f", p.gbit), String(format: "%.2f", p.imagesPerSecond),
                      String(format: "%.4f", p.efficiency), String(format: "%.5f", p.computeSeconds),
                      String(format: "%.5f", p.commSeconds)])
        }
        return t
    }

    /// The first node count at which efficiency falls below `threshold`, if any.
    public static func limit(_ points: [Point], mode: String, scaling: String, gbit: Double, threshold: Double = 0.5) -> Int? {
        points.filter { $0.mode == mode && $0.scaling == scaling && $0.gbit == gbit }
            .sorted { $0.nodes < $1.nodes }.first { $0.efficiency < threshold }?.nodes
    }
}
