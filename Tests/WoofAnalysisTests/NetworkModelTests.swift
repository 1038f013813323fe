import XCTest
import Foundation
import WoofTestSupport
@testable import WoofAnalysis
import WoofIO

/// The α–β model of the emulated network: the fit recovers a known link, the calibration
/// keeps only caps that bind, the comparison reads medians over repeats and predicts from the
/// unconstrained compute, and `results --network-only` replaces only its section.
final class NetworkModelTests: XCTestCase {
    func ring(_ n: Int, _ alpha: Double, _ bw: Double, _ bytes: Double) -> Double {
        2 * Double(n - 1) * alpha + 2 * Double(n - 1) / Double(n) * bytes / bw
    }

    func testTheFitRecoversAKnownLinkAndRefusesTooFewPoints() throws {
        for n in [2, 4] {
            let sizes: [Double] = [4096, 65536, 1_048_576, 4_194_304, 16_777_216, 33_554_432]
            let fit = try LinkFit.fit(bandwidthMbit: 1000, ranks: n, points: sizes.map { ($0, ring(n, 50e-6, 100e6, $0)) })
            XCTAssertEqual(fit.alpha, 50e-6, accuracy: 1e-9)
            XCTAssertEqual(fit.bytesPerSecond, 100e6, accuracy: 1)
            XCTAssertEqual(fit.efficiency!, 0.8, accuracy: 1e-9)
            XCTAssertEqual(fit.seconds(bytes: 5e6), ring(n, 50e-6, 100e6, 5e6), accuracy: 1e-12)
        }
        XCTAssertThrowsError(try LinkFit.fit(bandwidthMbit: 100, ranks: 2, points: [(1, 1), (2, 2)]))
        XCTAssertThrowsError(try LinkFit.fit(bandwidthMbit: 100, ranks: 2, points: [(1, 1), (2, 2), (3, 2)])) {
            XCTAssert("\($0)".contains("100 Mbit/s"), "\($0)")
        }
        // A latency smaller than noise in the smallest message clamps at zero rather than going negative.
        let fast = try LinkFit.fit(bandwidthMbit: 0, ranks: 2, points: [(4096, 1e-6), (1e6, 0.01), (2e6, 0.02)])
        XCTAssertEqual(fast.alpha, 0)
        XCTAssertNil(fast.efficiency)
    }

    func testCalibrationTakesBandwidthFromCapsThatBindAndLatencyFromLinksThatDoNot() throws {
        let fits = [LinkFit(bandwidthMbit: 100, ranks: 2, alpha: 40e-6, bytesPerSecond: 10e6),
                    LinkFit(bandwidthMbit: 1000, ranks: 2, alpha: 60e-6, bytesPerSecond: 90e6),
                    LinkFit(bandwidthMbit: 10000, ranks: 2, alpha: 20e-6, bytesPerSecond: 300e6),   // the machine's TCP, not the cap
                    LinkFit(bandwidthMbit: 0, ranks: 2, alpha: 20e-6, bytesPerSecond: 320e6)]
        let c = try XCTUnwrap(NetworkCalibration(fits))
        XCTAssertEqual(c.capsMbit, [100, 1000])
        XCTAssertEqual(c.alpha, 20e-6, accuracy: 1e-12)
        XCTAssertEqual(c.efficiency, (0.8 + 0.72) / 2, accuracy: 1e-9)
        XCTAssertNil(NetworkCalibration([fits[2], fits[3]]))
        let p = ScalingProjection(calibration: c)
        XCTAssertEqual(p.commSeconds(nodes: 4, bytes: 1_000_000, gbit: 10), ring(4, 20e-6, 10e9 / 8 * c.efficiency, 1e6), accuracy: 1e-12)
    }

    /// network.csv rows: (cap, repeat, mode, overlap, compute, comm).
    func networkCSV(_ rows: [(Int, Int, String, Int, Double, Double)]) -> CSVTable {
        var t = CSVTable(header: ["bandwidth_mbit", "repeat", "ranks", "mode", "threads_per_rank", "batch", "img_per_s",
                                  "compute_s_per_step", "comm_s_per_step", "bytes_per_step", "oversubscribed", "overlap"])
        for (cap, rep, mode, ov, comp, comm) in rows {
            t.append([String(cap), String(rep), "2", mode, "1", "32", String(32 / (comp + comm)), String(comp), String(comm),
                      mode == "full" ? "22000000" : "1200000", "0", String(ov)])
        }
        return t
    }

    func testTheComparisonTakesMediansAndPredictsFromTheUnconstrainedCompute() throws {
        let fits = [LinkFit(bandwidthMbit: 100, ranks: 2, alpha: 1e-4, bytesPerSecond: 10e6),
                    LinkFit(bandwidthMbit: 0, ranks: 2, alpha: 1e-5, bytesPerSecond: 1e9)]
        let full100 = fits[0].seconds(bytes: 22e6)
        let t = networkCSV([
            (100, 1, "full", 0, 1.6, full100), (100, 2, "full", 0, 1.4, full100 + 0.1), (100, 3, "full", 0, 1.5, full100 - 0.05),
            (100, 1, "full", 1, 2.0, 1.0),
            (0, 1, "full", 0, 1.7, 0.02), (0, 2, "full", 0, 1.3, 0.03), (0, 3, "full", 0, 1.9, 0.02),
            (0, 1, "full", 1, 1.6, 0.01)])
        let rows = try NetworkModel.compare(network: t, fits: fits)
        XCTAssertEqual(rows.map { "\($0.bandwidthMbit)/\($0.overlap)" }, ["100/true", "100/false", "0/true", "0/false"])
        let seq = rows[1]
        XCTAssertEqual(seq.repeats, 3)
        XCTAssertEqual(seq.commSeconds, full100, accuracy: 1e-12)                    // median of three
        XCTAssertEqual(seq.stepSeconds, 1.5 + full100, accuracy: 1e-12)              // median of the step sums
        XCTAssertEqual(seq.modelComputeSeconds, 1.5, accuracy: 1e-12)                // this link, no overlap, median
        XCTAssertEqual(rows[3].modelComputeSeconds, 1.7, accuracy: 1e-12)            // the uncapped link's own
        XCTAssertEqual(seq.calibratedStepSeconds, 1.5 + full100, accuracy: 1e-12)
        XCTAssertEqual(seq.calibratedError, 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(seq.nominalStepSeconds), 1.5 + ring(2, 20e-6, 12.5e6, 22e6), accuracy: 1e-12)
        XCTAssertNil(rows[3].nominalStepSeconds, "no nominal model without a cap")
        // With overlap, the backward pass's share of the compute hides that much of the allreduce.
        let share = NetworkModel.backwardShare(mode: "full")
        XCTAssert((0.6...0.7).contains(share), "full: backward is about 2/3 of the FLOPs, got \(share)")
        XCTAssertEqual(rows[0].calibratedStepSeconds, 1.5 + max(0, full100 - share * 1.5), accuracy: 1e-12)
        let tex = try ReportTeX.networkTable(NetworkModel.table(rows))
        XCTAssert(tex.contains("100~Mbit/s & full FT"), tex)
        XCTAssert(tex.contains("uncapped & full FT"), tex)
        XCTAssert(tex.contains("--"), "the uncapped link has no nominal model: \(tex)")
        XCTAssertThrowsError(try NetworkModel.compare(network: t, fits: [fits[1]])) { XCTAssert("\($0)".contains("100 Mbit/s"), "\($0)") }
    }

    func testNetworkOnlyReplacesItsSectionAndCalibratesTheProjection() throws {
        let scratch = ScratchDir("woof-net"), dir = scratch.path
        scratch.mkdir("network")
        var s = PaperNumbers([:])
        s["full_top1"] = 0.95
        s["proj_alpha_us"] = 20.0
        s["net_stale_step_s"] = 9.0
        s["scaling_batch"] = 32
        try AtomicFile.write(try JSONFile.encoded(s), to: dir + "/summary.json")
        try """
        ranks,mode,threads_per_rank,batch,img_per_s,compute_s_per_step,comm_s_per_step,bytes_per_step,oversubscribed,overlap
        1,full,2,32,20,1.6,0,22000000,0,1
        1,lora,2,32,25,1.28,0,1200000,0,1
        """.write(toFile: dir + "/scaling.csv", atomically: true, encoding: .utf8)
        var ar = CSVTable(header: ["bandwidth_mbit", "ranks", "bytes", "allreduce_s", "allreduce_min_s"])
        for (cap, bw) in [(100, 9e6), (1000, 112.5e6), (0, 1e9)] {
            for b in [4096.0, 1e6, 16e6, 32e6] { ar.append([String(cap), "2", String(Int(b)), String(ring(2, 50e-6, bw, b)), "0"]) }
        }
        try ar.write(to: dir + "/network/allreduce.csv")
        var net: [(Int, Int, String, Int, Double, Double)] = []
        for cap in [100, 1000, 0] { for m in ["full", "lora"] { for ov in [0, 1] { net.append((cap, 1, m, ov, 1.5, 0.5)) } } }
        try networkCSV(net).write(to: dir + "/network/network.csv")
        let written = try ReportData.collectNetwork(networkDir: dir + "/network", reportDir: dir)
        for f in ReportData.networkFiles + ["projection.csv", "summary.json"] { XCTAssert(written.contains(dir + "/" + f), f) }
        let after = try JSONFile.read(PaperNumbers.self, from: dir + "/summary.json")
        XCTAssertEqual(after["full_top1"] as Double?, 0.95, "other sections are kept")
        XCTAssertFalse(after.has("net_stale_step_s"), "the old network numbers are replaced")
        XCTAssertTrue(after.flag("net_available") && after.flag("proj_calibrated_available"))
        XCTAssertEqual(try XCTUnwrap(after["proj_alpha_us"] as Double?), 50, accuracy: 0.1)   // the uncapped link's
        XCTAssertEqual(try XCTUnwrap(after["net_cal_eff_pct"] as Double?), 81, accuracy: 0.1)   // (90% + 72%) / 2
        XCTAssertEqual(after["net_cal_caps"] as String?, "100 Mbit/s and 1 Gbit/s")
        XCTAssertNotNil(after["net_1_gbit_sequential_lora_speedup"] as Double?)
        // Every number it wrote has a LaTeX format.
        XCTAssertNoThrow(try ReportTeX.macros(after))
    }
}
