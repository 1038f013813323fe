import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofTrain
@testable import WoofAnalysis
import WoofIO

final class StudyTests: XCTestCase {
    func makeSweep(_ runs: [(String, String)]) throws -> String {
        let dir = NSTemporaryDirectory() + "woof-study-\(UUID().uuidString)"
        for (name, json) in runs {
            try FileManager.default.createDirectory(atPath: dir + "/runs/" + name, withIntermediateDirectories: true)
            if !json.isEmpty { try json.write(toFile: dir + "/runs/\(name)/summary.json", atomically: true, encoding: .utf8) }
        }
        return dir
    }

    func summary(mode: String, top1: Double, seed: UInt64, params: Int, rank: Int = 8,
                 targets: [String] = ["qkv", "proj"], lr: Double = 0.001) -> String {
        RunSummary.fixture(mode: mode, top1: top1, seed: seed, params: params, rank: rank, targets: targets, lr: lr).fileText
    }

    func testGroupStripsOnlyASeedSuffix() {
        XCTAssertEqual(Study.group(ofRun: "lora-imagenet-s2"), "lora-imagenet")
        XCTAssertEqual(Study.group(ofRun: "lora-r16"), "lora-r16")
        XCTAssertEqual(Study.group(ofRun: "full-s1x"), "full-s1x")
    }

    func testMeanAndSampleStd() {
        let (m, s) = Study.meanStd([0.90, 0.92, 0.94])
        XCTAssertEqual(m, 0.92, accuracy: 1e-12)
        XCTAssertEqual(s, 0.02, accuracy: 1e-12)       // n − 1 in the denominator
        XCTAssertEqual(Study.meanStd([0.5]).std, 0)
    }

    func testCollectsFinishedRunsIntoCSVsAndPlots() throws {
        let dir = try makeSweep([("lora-a", summary(mode: "lora", top1: 0.94, seed: 0, params: 1000)),
                                 ("lora-a-s1", summary(mode: "lora", top1: 0.96, seed: 1, params: 1000)),
                                 ("full-a", summary(mode: "full", top1: 0.93, seed: 0, params: 5_000_000)),
                                 ("unfinished", "")])
        let table = try Study.write(dir: dir, classes: ["a", "b"])
        XCTAssertTrue(table.contains("lora-a"))
        let runs = try String(contentsOfFile: dir + "/runs.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(runs.count, 4)                  // header + 3 finished runs; the unfinished one is left out
        XCTAssertTrue(runs[0].hasPrefix("name,group,mode,head_init"))
        let t = try CSVTable.read(dir + "/runs.csv")
        let full = try XCTUnwrap(try t.rows(where: ["name": "full-a"]).first)
        XCTAssertEqual(try t.string(full, "grad_bytes_per_step"), "20000000")  // bytes allreduced per step = 4 × trainable
        XCTAssertEqual(try t.string(full, "ms_per_step"), "500.0")            // ms per step = train_seconds / steps
        XCTAssertEqual(try t.string(full, "lora_rank"), "0")                  // full runs have no rank
        XCTAssertEqual(try t.string(full, "lp_val_top1"), "")                 // no linear-probe phase
        let groups = try String(contentsOfFile: dir + "/groups.csv", encoding: .utf8).split(separator: "\n")
        let lora = groups.first { $0.hasPrefix("lora-a,") }!.split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(lora[1], "2")
        XCTAssertEqual(lora[2], "0 1")
        XCTAssertEqual(Double(lora[9])!, 0.95, accuracy: 1e-9)
        XCTAssertEqual(Double(lora[10])!, 0.0141421, accuracy: 1e-5)
        XCTAssertTrue(try String(contentsOfFile: dir + "/per_class.csv", encoding: .utf8).contains("full-a,b,1.00000"))
        let perClass = try CSVTable.read(dir + "/groups_per_class.csv")
        let a = try XCTUnwrap(try perClass.rows(where: ["group": "lora-a", "class": "a"]).first)
        XCTAssertEqual(try perClass.double(a, "n"), 2)
        XCTAssertEqual(try perClass.double(a, "mean_top1"), 0.5)
    }

    /// The rank sweep is the LoRA recipe with the most (rank, targets) points; other recipes
    /// (another lr here) and full runs stay out, and the bench's step time joins by rank and targets.
    func testRankSweepTableJoinsBenchStepTimes() throws {
        let all = ["qkv", "proj", "fc1", "fc2"]
        let dir = try makeSweep([("r8", summary(mode: "lora", top1: 0.95, seed: 0, params: 300, rank: 8, targets: all)),
                                 ("r8-s1", summary(mode: "lora", top1: 0.93, seed: 1, params: 300, rank: 8, targets: all)),
                                 ("r1", summary(mode: "lora", top1: 0.94, seed: 0, params: 40, rank: 1, targets: all)),
                                 ("r8-qkv", summary(mode: "lora", top1: 0.92, seed: 0, params: 75, rank: 8, targets: ["qkv"])),
                                 ("other-lr", summary(mode: "lora", top1: 0.90, seed: 0, params: 300, rank: 8, targets: all, lr: 0.01)),
                                 ("full", summary(mode: "full", top1: 0.93, seed: 0, params: 5000))])
        let bench = """
        lora_rank,lora_targets,trainable_params,bytes_per_step,ms_per_step,img_per_s,peak_rss_mib,threads,rounds
        8,qkv+proj+fc1+fc2,300,1200,1400.0,22.86,1383,2,3
        1,qkv+proj+fc1+fc2,40,160,1300.0,24.62,1363,2,3
        """
        try bench.write(toFile: dir + "/rank_bench.csv", atomically: true, encoding: .utf8)
        try Study.write(dir: dir, classes: [])
        let t = try CSVTable.read(dir + "/ranks.csv")
        XCTAssertEqual(try t.rows.indices.map { try t.string($0, "group") }, ["r1", "r8", "r8-qkv"])
        XCTAssertEqual(try t.double(1, "n"), 2)
        XCTAssertEqual(try t.double(1, "mean_top1"), 0.94, accuracy: 1e-9)
        XCTAssertEqual(try t.double(1, "bench_ms_per_step"), 1400)
        XCTAssertEqual(try t.double(0, "bench_img_per_s"), 24.62)
        XCTAssertEqual(try t.string(2, "bench_ms_per_step"), "")     // qkv-only was not benchmarked
        XCTAssertEqual(try t.double(2, "run_ms_per_step"), 500)
        XCTAssertEqual(try t.double(0, "grad_bytes_per_step"), 160)

        try "lora_rank,ms\n1,2\n".write(toFile: dir + "/rank_bench.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Study.write(dir: dir, classes: [])) { e in
            XCTAssertTrue("\(e)".contains("rank_bench.csv: missing column(s) lora_targets"), "\(e)")
        }
    }

    /// An LP-FT run adds its linear-probe phase's time and records the probe's val top-1.
    func testLinearProbePhaseIsCounted() throws {
        let lp = RunSummary.fixture(mode: "lora", top1: 0.94, params: 10, lpEpochs: 1).fileText
        let dir = try makeSweep([("lora-lpft", lp)])
        try FileManager.default.createDirectory(atPath: dir + "/runs/lora-lpft/linear_probe", withIntermediateDirectories: true)
        try RunSummary.fixture(mode: "head", top1: 0.9328, trainSeconds: 20).fileText
            .write(toFile: dir + "/runs/lora-lpft/linear_probe/summary.json", atomically: true, encoding: .utf8)
        let run = try XCTUnwrap(try Study.readRuns(dir: dir).first)
        XCTAssertEqual(run.lpEpochs, 1)
        XCTAssertEqual(run.trainSeconds, 70)
        XCTAssertEqual(run.lpValTop1, 0.9328)
    }

    func testMalformedSummaryIsNamed() throws {
        let noSteps = summary(mode: "lora", top1: 0.9, seed: 0, params: 10).replacingOccurrences(of: "  \"steps\" : 100,\n", with: "")
        let dir = try makeSweep([("bad", noSteps)])
        XCTAssertThrowsError(try Study.readRuns(dir: dir)) { e in
            XCTAssertTrue("\(e)".hasSuffix("bad/summary.json: steps: missing"), "\(e)")
        }
        let broken = try makeSweep([("x", "not json")])
        XCTAssertThrowsError(try Study.readRuns(dir: broken)) { e in XCTAssertTrue("\(e)".hasSuffix("x/summary.json: not valid JSON"), "\(e)") }
        XCTAssertThrowsError(try Study.readRuns(dir: "/nonexistent-sweep")) { e in XCTAssertTrue("\(e)".contains("sweep.sh"), "\(e)") }
    }
}
