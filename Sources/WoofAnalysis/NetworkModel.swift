import Foundation
import WoofIO
import WoofModel
import WoofTrain

/// An α–β fit of one emulated link from `allreduce.csv` (`scripts/bench-network.sh`), in the
/// ring model the projection uses: t = 2(N−1)·α + 2(N−1)/N · bytes / B.
public struct LinkFit: Equatable {
    /// The cap in Mbit/s (0: no cap).
    public var bandwidthMbit: Int
    public var ranks: Int
    /// Per-message latency (s) and the effective bandwidth (bytes/s) the ring formula needs.
    public var alpha: Double, bytesPerSecond: Double

    public func seconds(bytes: Double) -> Double {
        ScalingProjection.ringSeconds(nodes: ranks, alpha: alpha, bytesPerSecond: bytesPerSecond, bytes: bytes)
    }

    /// Effective bandwidth ÷ the cap (nil without a cap).
    public var efficiency: Double? { bandwidthMbit > 0 ? bytesPerSecond * 8 / (Double(bandwidthMbit) * 1e6) : nil }

    /// Bandwidth from the least-squares slope over the messages of at least `bulkBytes` (where
    /// latency is noise; the two largest if fewer), latency from the smallest message (where
    /// bandwidth is), clamped at 0.
    public static func fit(bandwidthMbit: Int, ranks: Int, points: [(bytes: Double, seconds: Double)]) throws -> LinkFit {
        let p = points.sorted { $0.bytes < $1.bytes }
        guard ranks > 1, p.count >= 3, let small = p.first else {
            throw TrainError.io("allreduce.csv: \(bandwidthMbit) Mbit/s needs ≥ 3 message sizes on ≥ 2 ranks to fit α and β")
        }
        var bulk = p.filter { $0.bytes >= bulkBytes }
        if bulk.count < 2 { bulk = Array(p.suffix(2)) }
        let mx = bulk.map(\.bytes).reduce(0, +) / Double(bulk.count), my = bulk.map(\.seconds).reduce(0, +) / Double(bulk.count)
        let sxy = bulk.reduce(0) { $0 + ($1.bytes - mx) * ($1.seconds - my) }, sxx = bulk.reduce(0) { $0 + ($1.bytes - mx) * ($1.bytes - mx) }
        guard sxx > 0, sxy > 0 else {
            throw TrainError.io("allreduce.csv: at \(bandwidthMbit) Mbit/s larger messages were not slower: no bandwidth to fit")
        }
        let share = 2 * Double(ranks - 1) / Double(ranks)   // of the buffer each rank sends
        let bw = share * sxx / sxy
        let alpha = max(0, (small.seconds - share * small.bytes / bw) / (2 * Double(ranks - 1)))
        return LinkFit(bandwidthMbit: bandwidthMbit, ranks: ranks, alpha: alpha, bytesPerSecond: bw)
    }

    /// Messages from this size on measure bandwidth.
    public static let bulkBytes = 1_000_000.0

    /// One fit per cap in an `allreduce.csv` table (median times).
    public static func fits(_ t: CSVTable) throws -> [LinkFit] {
        try t.require(["bandwidth_mbit", "ranks", "bytes", "allreduce_s"])
        let caps = Set(try t.rows.indices.map { Int(try t.double($0, "bandwidth_mbit")) }).sorted()
        return try caps.map { cap in
            let rows = try t.rows(where: ["bandwidth_mbit": String(cap)])
            return try fit(bandwidthMbit: cap, ranks: Int(try t.double(rows[0], "ranks")),
                           points: try rows.map { (try t.double($0, "bytes"), try t.double($0, "allreduce_s")) })
        }
    }
}

/// The α and bandwidth efficiency the many-node projection takes from the emulated links.
/// The efficiency is the median over the caps that bind (a fitted bandwidth under 80% of the
/// uncapped link's), so a cap above what the machine's TCP stack carries does not count; the
/// latency is the median over the links that do not bind, because a capped link's token
/// bucket lets a small message through at line rate (its fitted α is ≈ 0, not a latency).
public struct NetworkCalibration: Equatable {
    public var alpha: Double, efficiency: Double
    public var capsMbit: [Int]

    public init?(_ fits: [LinkFit]) {
        let uncapped = fits.first { $0.bandwidthMbit == 0 }?.bytesPerSecond ?? .infinity
        let binds = { (l: LinkFit) in l.bandwidthMbit > 0 && l.bytesPerSecond < 0.8 * uncapped }
        let binding = fits.filter(binds), free = fits.filter { !binds($0) }
        guard !binding.isEmpty else { return nil }
        alpha = ReportData.median((free.isEmpty ? fits : free).map(\.alpha))
        efficiency = ReportData.median(binding.compactMap(\.efficiency))
        capsMbit = binding.map(\.bandwidthMbit)
    }
}

/// One configuration of `network.csv` (medians over its repeats) beside what the α–β model
/// predicts for it: the link's measured compute plus the modelled allreduce.
public struct NetworkComparison {
    public var bandwidthMbit: Int, mode: String, overlap: Bool, repeats: Int, bytes: Int
    /// Measured (s): the step, the time blocked in the allreduce, the rest.
    public var stepSeconds: Double, commSeconds: Double, computeSeconds: Double
    /// The model's inputs and outputs (s): the compute without the allreduce, the nominal model's step
    /// (α = 20 µs, B = the cap; nil without a cap) and the calibrated one (this link's fit).
    public var modelComputeSeconds: Double, nominalStepSeconds: Double?, calibratedStepSeconds: Double

    public var commShare: Double { commSeconds / stepSeconds }
    public var nominalError: Double? { nominalStepSeconds.map { $0 / stepSeconds - 1 } }
    public var calibratedError: Double { calibratedStepSeconds / stepSeconds - 1 }
}

public enum NetworkModel {
    public static let networkColumns = ["bandwidth_mbit", "repeat", "mode", "batch", "compute_s_per_step", "comm_s_per_step",
                                        "bytes_per_step", "overlap"]

    /// The share of a step's compute the overlapped allreduce can hide behind: the backward
    /// pass, from the FLOP counts (the last bucket cannot hide, so this is an optimistic bound).
    static func backwardShare(mode: String) -> Double {
        let c = ViTConfig.vitTiny(numClasses: 10)
        return 1 - FLOPs.perImage(c, mode: "eval") / FLOPs.perImage(c, mode: mode)
    }

    /// Step time the model predicts: compute plus the allreduce, less what overlap hides.
    static func predictedStep(compute: Double, comm: Double, overlap: Bool, mode: String) -> Double {
        overlap ? compute + max(0, comm - backwardShare(mode: mode) * compute) : compute + comm
    }

    /// Caps in the order the tables and plots show them: slowest first, no cap last.
    public static func capOrder(_ mbit: Int) -> Int { mbit == 0 ? Int.max : mbit }

    /// One configuration of network.csv.
    struct Configuration: Hashable { var cap: Int, mode: String, overlap: Bool }

    public static func compare(network t: CSVTable, fits: [LinkFit], nominalAlpha: Double = ScalingProjection().alpha) throws -> [NetworkComparison] {
        try t.require(networkColumns)
        var groups: [Configuration: [Int]] = [:]
        for r in t.rows.indices {
            let c = Configuration(cap: Int(try t.double(r, "bandwidth_mbit")), mode: try t.string(r, "mode"), overlap: try t.string(r, "overlap") == "1")
            groups[c, default: []].append(r)
        }
        func medians(_ rows: [Int]) throws -> (step: Double, comm: Double, compute: Double) {
            let comp = try rows.map { try t.double($0, "compute_s_per_step") }, comm = try rows.map { try t.double($0, "comm_s_per_step") }
            return (ReportData.median(zip(comp, comm).map { $0 + $1 }), ReportData.median(comm), ReportData.median(comp))
        }
        var out: [NetworkComparison] = []
        for (key, rows) in groups {
            let (cap, mode, overlap) = (key.cap, key.mode, key.overlap)
            guard let fit = fits.first(where: { $0.bandwidthMbit == cap }) else {
                throw TrainError.io("network.csv has \(cap) Mbit/s rows but allreduce.csv has no fit for that cap")
            }
            let m = try medians(rows), bytes = Int(try t.double(rows[0], "bytes_per_step"))
            let base = try modelCompute(groups: groups, cap: cap, mode: mode, medians: medians)
            let nominal = cap > 0 ? ScalingProjection.ringSeconds(nodes: fit.ranks, alpha: nominalAlpha,
                                                                  bytesPerSecond: Double(cap) * 1e6 / 8, bytes: Double(bytes)) : nil
            out.append(NetworkComparison(
                bandwidthMbit: cap, mode: mode, overlap: overlap, repeats: rows.count, bytes: bytes,
                stepSeconds: m.step, commSeconds: m.comm, computeSeconds: m.compute, modelComputeSeconds: base,
                nominalStepSeconds: nominal.map { predictedStep(compute: base, comm: $0, overlap: overlap, mode: mode) },
                calibratedStepSeconds: predictedStep(compute: base, comm: fit.seconds(bytes: Double(bytes)), overlap: overlap, mode: mode)))
        }
        return out.sorted { ($0.mode, capOrder($0.bandwidthMbit), $0.overlap ? 0 : 1) < ($1.mode, capOrder($1.bandwidthMbit), $1.overlap ? 0 : 1) }
    }

    /// The compute time the model starts from: the mode's median compute (the step less the
    /// time blocked in the allreduce) in the same link's runs without overlap. Taken per link
    /// because the machine's speed drifts between links' runs by more than the smaller
    /// allreduces cost; so the error measured is the communication model's.
    static func modelCompute(groups: [Configuration: [Int]], cap: Int, mode: String,
                             medians: ([Int]) throws -> (step: Double, comm: Double, compute: Double)) throws -> Double {
        guard let rows = groups[Configuration(cap: cap, mode: mode, overlap: false)] else {
            throw TrainError.io("network.csv: no \(mode) run without overlap at \(cap) Mbit/s, which the model's compute time comes from")
        }
        return try medians(rows).compute
    }

    /// `network_model.csv`: one row per configuration, measured beside predicted.
    public static func table(_ rows: [NetworkComparison]) -> CSVTable {
        var t = CSVTable(header: ["bandwidth_mbit", "mode", "overlap", "repeats", "bytes_per_step", "step_s", "comm_s", "comm_share",
                                  "compute_s", "model_compute_s", "nominal_step_s", "nominal_error", "calibrated_step_s", "calibrated_error"])
        func f(_ v: Double?, _ p: Int) -> String { v.map { String(format: "%.\(p)f", $0) } ?? "" }
        for r in rows {
            t.append([String(r.bandwidthMbit), r.mode, r.overlap ? "1" : "0", String(r.repeats), String(r.bytes),
                      f(r.stepSeconds, 4), f(r.commSeconds, 4), f(r.commShare, 4), f(r.computeSeconds, 4), f(r.modelComputeSeconds, 4),
                      f(r.nominalStepSeconds, 4), f(r.nominalError, 4), f(r.calibratedStepSeconds, 4), f(r.calibratedError, 4)])
        }
        return t
    }

    /// Where the uncapped link sits on the paper's log axis of Mbit/s (labelled "none").
    public static let uncappedPlotMbit = 100_000

    /// `network_plot.csv`, one row per cap for pgfplots: `x` (Mbit/s), then per mode the
    /// measured step with and without overlap and the calibrated model's sequential step.
    public static func plotTable(_ rows: [NetworkComparison]) -> CSVTable {
        var t = CSVTable(header: ["x"] + ["full", "lora"].flatMap { ["\($0)_overlap_step_s", "\($0)_sequential_step_s", "\($0)_model_step_s"] })
        for cap in Set(rows.map(\.bandwidthMbit)).sorted(by: { capOrder($0) < capOrder($1) }) {
            var line = [String(cap == 0 ? uncappedPlotMbit : cap)]
            for m in ["full", "lora"] {
                let on = rows.first { $0.bandwidthMbit == cap && $0.mode == m && $0.overlap }
                let off = rows.first { $0.bandwidthMbit == cap && $0.mode == m && !$0.overlap }
                line += [on?.stepSeconds, off?.stepSeconds, off?.calibratedStepSeconds].map { $0.map { String(format: "%.4f", $0) } ?? "nan" }
            }
            t.append(line)
        }
        return t
    }

    /// `link_fit.csv`: the α–β fit per cap.
    public static func fitTable(_ fits: [LinkFit]) -> CSVTable {
        var t = CSVTable(header: ["bandwidth_mbit", "ranks", "alpha_us", "effective_mbit", "efficiency"])
        for l in fits {
            t.append([String(l.bandwidthMbit), String(l.ranks), String(format: "%.1f", l.alpha * 1e6),
                      String(format: "%.1f", l.bytesPerSecond * 8 / 1e6), l.efficiency.map { String(format: "%.4f", $0) } ?? ""])
        }
        return t
    }
}
