import XCTest
import WoofCore
import WoofData
import WoofIO
import WoofModel
import WoofTestSupport
import WoofTrain
@testable import WoofAnalysis

/// The weight-space study end to end on 24 images per split: three runs made from the
/// zero-shot model (two seeds of one recipe, one of another), α ∈ {0, 0.5, 1}.
final class WeightSpaceStudyTests: XCTestCase {
    let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")

    /// A "run": the zero-shot model with its head perturbed, and a summary saying it held out
    /// 50 training images per class of the shared data.
    func writeRun(_ name: String, in dir: String, zero: WeightSpace.Model, seed: UInt64, noise: Float) throws {
        var rng = SplitMix64(seed: seed + 100)
        var tensors = zero.tensors
        let head = tensors["head.weight"]!
        tensors["head.weight"] = NamedTensor(shape: head.shape, data: head.data.map { $0 + noise * rng.normal() })
        let path = "\(dir)/runs/\(name)"
        let record = WeightSpace.Record(kind: "test run", inputs: [], alpha: nil, weightsFingerprint: zero.start)
        try WeightSpace.write(tensors, labelNames: zero.labelNames, record: record, to: path)
        var summary = RunSummary.fixture(seed: seed)
        summary.config.holdOut = 50
        let kept = try ImageFolder(root: TestPaths.sharedData, split: "train").holdingOut(perClass: 50).kept
        summary.config.dataFingerprint = Fingerprint.list(kept.samples.map(\.relativePath))
        try JSONFile.write(summary, to: path + "/summary.json")
    }

    func testStudyScoresSweepsAndSoupsAndResumesFromItsCache() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights) && FileManager.default.fileExists(atPath: TestPaths.sharedData + "/val"),
                          "no pretrained weights or shared data")
        let dir = ScratchDir("weight-space-study")
        let zero = try WeightSpace.load("zero-shot", weights: weights)
        try writeRun("a-s0", in: dir.path, zero: zero, seed: 0, noise: 0.05)
        try writeRun("a-s1", in: dir.path, zero: zero, seed: 1, noise: 0.05)
        try writeRun("b-s0", in: dir.path, zero: zero, seed: 0, noise: 0.5)
        func study(flipTTA: Bool = false) throws -> WeightSpaceStudy {
            let s = try WeightSpaceStudy(dir: dir.path, weights: weights, dataRoot: TestPaths.sharedData)
            s.alphas = [0, 0.5, 1]; s.limit = 24; s.flipTTA = flipTTA
            return s
        }
        var evaluations = 0, flipEvaluations = 0
        try study(flipTTA: true).run {
            if $0.contains(" on val:") || $0.contains(" on train-holdout:") { evaluations += 1 }
            if $0.contains(" on val+flip:") { flipEvaluations += 1 }
        }
        XCTAssertEqual(flipEvaluations, 4, "flip TTA for the zero-shot model and the three soups")

        let sweep = try CSVTable.read(dir.path + "/alpha_sweep.csv")
        XCTAssertEqual(sweep.rows.count, 9)
        let zeroRows = sweep.rows.filter { $0[(try! sweep.column("alpha"))] == "0.0" }
        XCTAssertEqual(zeroRows.count, 3)
        XCTAssertEqual(Set(zeroRows.map { $0[(try! sweep.column("val_top1"))] }).count, 1, "α = 0 is the one zero-shot model")
        XCTAssert(sweep.rows.allSatisfy { $0[(try! sweep.column("val_images"))] == "24" && $0[(try! sweep.column("select_images"))] == "24" })
        // α = 1 is the run itself.
        let b = try WeightSpace.load(dir.path + "/runs/b-s0", weights: weights)
        let direct = try WeightSpace.top1(b.tensors, name: "b", on: try ImageFolder(root: TestPaths.sharedData, split: "val").limited(to: 24))
        let bOwn = sweep.rows.first { $0[0] == "b-s0" && $0[(try! sweep.column("alpha"))] == "1.0" }!
        XCTAssertEqual(Double(bOwn[(try! sweep.column("val_top1"))])!, direct.top1, accuracy: 1e-5)

        let soups = try CSVTable.read(dir.path + "/soups.csv")
        XCTAssertEqual(soups.rows.map { $0[0] }, ["seed soup a", "soup of all runs", "greedy soup"])
        try checkFlipTable(dir.path, soups: soups, zeroShotTop1: Double(zeroRows[0][(try! sweep.column("val_top1"))])!)
        XCTAssertEqual(try CSVTable.read(dir.path + "/greedy_steps.csv").rows.count, 3)
        let groups = try CSVTable.read(dir.path + "/alpha_groups.csv")
        XCTAssertEqual(groups.rows.filter { $0[0] == "a" }.map { $0[(try! groups.column("n"))] }, ["2", "2", "2"])
        XCTAssertEqual(try CSVTable.read(dir.path + "/wise_chosen.csv").rows.count, 3)

        try checkReport(dir.path)

        // A second study over the same directory evaluates nothing; a retrained run is scored anew.
        let first = evaluations
        XCTAssertGreaterThan(first, 10)
        try study().run { if $0.contains(" on val:") || $0.contains(" on train-holdout:") { evaluations += 1 } }
        XCTAssertEqual(evaluations, first, "everything came from scores.json")
        XCTAssertEqual(try CSVTable.read(dir.path + "/flip_tta.csv").rows.count, 4, "flip scores kept from the cache without --flip-tta")
        try FileManager.default.removeItem(atPath: dir.path + "/runs/b-s0")
        try writeRun("b-s0", in: dir.path, zero: zero, seed: 7, noise: 0.5)
        try study().run { if $0.contains(" on val:") || $0.contains(" on train-holdout:") { evaluations += 1 } }
        XCTAssertGreaterThan(evaluations, first + 2, "the retrained run's points and the soups holding it are new")
    }

    /// flip_tta.csv: the zero-shot model and each soup, its plain val score as in the other
    /// tables, its flip-TTA score that of a direct flip-TTA evaluation.
    func checkFlipTable(_ dir: String, soups: CSVTable, zeroShotTop1: Double) throws {
        let flips = try CSVTable.read(dir + "/flip_tta.csv")
        XCTAssertEqual(flips.rows.map { $0[0] }, ["zero-shot"] + soups.rows.map { $0[0] })
        XCTAssertEqual(try flips.double(0, "val_top1"), zeroShotTop1, accuracy: 1e-9)
        for r in soups.rows.indices { XCTAssertEqual(try flips.double(r + 1, "val_top1"), try soups.double(r, "val_top1"), accuracy: 1e-9) }
        let zero = try WeightSpace.load("zero-shot", weights: weights)
        let val = try ImageFolder(root: TestPaths.sharedData, split: "val").limited(to: 24)
        XCTAssertEqual(try flips.double(0, "flip_val_top1"), try WeightSpace.top1(zero.tensors, name: "z", on: val, flipTTA: true).top1, accuracy: 1e-9)
    }

    /// The paper's side: the tables copied as ws_*.csv, the ws_* numbers (each with a macro
    /// format), the table and the α-curve figure.
    func checkReport(_ dir: String) throws {
        var numbers = PaperNumbers()
        var copied: [String] = []
        try ReportData.weightSpaceNumbers(dir, into: &numbers) { name, text in
            copied.append(name)
            try AtomicFile.write(Data(text.utf8), to: dir + "/" + name)
        }
        XCTAssertEqual(copied.sorted(), WeightSpaceStudy.tableFiles.map { "ws_" + $0 }.sorted())
        XCTAssertEqual(numbers["ws_runs_count"] as Int?, 3)
        XCTAssertEqual(numbers["ws_a_seeds_count"] as Double?, 2)
        for flag in ["ws_available", "ws_seeds_available", "ws_soups_available", "ws_greedy_available"] { XCTAssert(numbers.flag(flag), flag) }
        let best: Double = try XCTUnwrap(numbers["ws_best_top1"])
        let bestOfSoups = try CSVTable.read(dir + "/soups.csv")
        XCTAssert(try bestOfSoups.rows.indices.allSatisfy { try bestOfSoups.double($0, "val_top1") <= best }, "the best is the best")
        XCTAssertNotNil(numbers["ws_a_wise_top1"] as Double?)
        XCTAssert(numbers.flag("ws_flip_available"))
        XCTAssertNotNil(numbers["ws_flip_zero_shot_gain_pp"] as Double?)
        XCTAssertEqual(numbers["ws_flip_best_group"] as String?, try bestFlip(dir))
        XCTAssertNoThrow(try ReportTeX.macros(numbers), "every ws_ key has a format rule and every flag is declared")
        let files = Dictionary(uniqueKeysWithValues: try ReportTeX.weightSpaceOutputs(dir))
        let table = try XCTUnwrap(files["table_weightspace.tex"])
        for needle in ["zero-shot head", "WiSE-FT", "greedy soup", "seed soup a"] { XCTAssert(table.contains(needle), needle) }
        XCTAssertEqual(files["figure_weightspace.tex"]?.components(separatedBy: "\\addplot").count, 3, "one curve per recipe")
    }

    /// The soup with the highest flip-TTA val top-1 (the first on a tie), read from flip_tta.csv.
    func bestFlip(_ dir: String) throws -> String {
        let t = try CSVTable.read(dir + "/flip_tta.csv")
        var best: (String, Double)?
        for r in t.rows.indices where try t.string(r, "model") != "zero-shot" {
            let v = try t.double(r, "flip_val_top1")
            if best.map({ v > $0.1 }) ?? true { best = (try t.string(r, "model"), v) }
        }
        return try XCTUnwrap(best).0
    }
}
