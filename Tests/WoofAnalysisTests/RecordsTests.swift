import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofTrain
@testable import WoofAnalysis
import WoofIO

extension RunSummary {
    /// A finished run's summary with the given numbers and plausible others.
    static func fixture(mode: String = "full", top1: Double = 0.9, seed: UInt64 = 0, params: Int = 1000, rank: Int = 8,
                        targets: [String] = ["qkv", "proj"], lr: Double = 0.001, lpEpochs: Int = 0,
                        trainSeconds: Double = 50, perClass: [Double] = [0.5, 1.0]) -> RunSummary {
        var c = TrainConfig()
        c.mode = mode; c.seed = seed; c.headInit = "imagenet"; c.loraRank = rank; c.loraAlpha = Double(2 * rank)
        c.loraTargets = targets; c.linearProbeEpochs = lpEpochs; c.epochs = 2; c.lr = lr
        return RunSummary(mode: mode, config: c, epochs: 2, steps: 100, trainableParams: params, totalParams: 5_526_346,
                          adapterParams: 0, trainSeconds: trainSeconds, trainImagesPerSecond: 64, learningRate: lr,
                          peakRSSMiB: 1500, ranks: 1, threadsPerRank: 2, overlap: true, allreduceBytesPerStep: 4 * params,
                          commSeconds: 0, commSecondsPerStep: 0, computeSecondsPerStep: trainSeconds / 100, skippedImages: 0,
                          machine: MachineInfo(cpu: "Test CPU", cores: 2, memoryGiB: 8), gitCommit: nil,
                          finalValTop1: top1, finalValPerClass: perClass, bestValTop1: top1)
    }

    /// The summary as the file a run writes.
    var fileText: String { String(decoding: try! JSONFile.encoded(self), as: UTF8.self) }
}

/// The run's records: summary.json, metrics.jsonl lines and the eval summary read back into
/// the types that wrote them; the files runs wrote before records had versions still read.
final class RecordsTests: XCTestCase {
    /// A LoRA run's summary.json as the build before versioned records wrote it (1 epoch; JSON, line breaks aside).
    static let oldSummary = #"""
        {"adapter_params":294912,"allreduce_bytes_per_step":1187368,"best_val_top1":0.9401883430898448,
        "comm_s_per_step":4.123609929078017e-06,"comm_seconds":0.001162858000000001,
        "compute_s_per_step":1.9974925967234032,"config":{"batchSize":32,"checkpointEvery":0,
        "data":"/work/fresh/../shared/data/imagewoof2-256","epochs":1,"evalEvery":1,"headInit":"random",
        "labelSmoothing":0,"layerDecay":1,"linearProbeEpochs":0,"loaderWorkers":2,"loraAlpha":16,"loraRank":8,
        "loraTargets":["qkv","proj","fc1","fc2"],"mode":"lora","out":"output/lora_model","overlap":true,"seed":0,
        "threads":2,"warmup":0.05,"weightDecay":0.05,
        "weights":"../shared/weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"},"epochs":1,
        "final_val_per_class":[0.9584352078239609,0.9681372549019608,0.9258373205741627,0.7901785714285714,
        0.9501246882793017,0.9164619164619164,0.9551122194513716,0.9644549763033176,0.9836829836829837,
        0.9195121951219513],"final_val_top1":0.9401883430898448,"git_commit":"a6d117210ba200625274d5784769a0a4fe5020cf",
        "learning_rate":0.001,"machine":{"cores":2,"cpu":"Intel(R) Xeon(R) Processor","memory_gib":23.585994720458984},
        "mode":"lora","overlap":true,"peak_rss_mib":1527.9609375,"ranks":1,"skipped_images":0,"steps":282,
        "threads_per_rank":2,"total_params":5526346,"train_img_per_s":16.020051334382163,
        "train_seconds":563.2940751339997,"trainable_params":296842}
        """#
    /// Its metrics.jsonl line.
    static let oldMetricsLine = #"""
        {"allreduce_bytes_per_step":1187368,"comm_s_per_step":4.123609929078017e-06,
        "compute_s_per_step":1.9974925967234032,"epoch":0,"epoch_seconds":563.2940751339997,"lr":3.435304307686238e-08,
        "peak_rss_mib":1484.43359375,"ranks":1,"step":282,"train_acc":0.8826462765957447,
        "train_img_per_s":16.020051334382163,"train_loss":0.36322299071343234,"val_per_class":[0.9584352078239609,
        0.9681372549019608,0.9258373205741627,0.7901785714285714,0.9501246882793017,0.9164619164619164,
        0.9551122194513716,0.9644549763033176,0.9836829836829837,0.9195121951219513],"val_top1":0.9401883430898448}
        """#
    /// The zero-shot baseline's `eval --summary` of that build.
    static let oldBaseline = #"""
        {"classes":["Shih-Tzu","Rhodesian ridgeback","beagle","English foxhound","Border terrier","Australian terrier",
        "golden retriever","Old English sheepdog","Samoyed","dingo"],"confusion":[[394,0,1,0,0,2,4,7,0,1],[1,399,0,2,0,
        2,3,0,0,1],[2,2,357,52,2,0,2,0,0,1],[1,4,20,194,0,0,2,0,0,3],[1,2,0,1,381,8,1,1,0,6],[9,2,1,1,13,372,3,4,0,2],
        [1,7,0,0,0,1,385,1,1,5],[2,2,0,1,1,1,0,414,1,0],[0,2,0,0,0,0,3,4,420,0],[0,11,4,1,1,2,4,0,2,385]],
        "correct":3701,"images":3929,"img_per_s":37.137307180807106,"other_predictions":0,
        "per_class":[0.9633251833740831,0.9779411764705882,0.854066985645933,0.8660714285714286,0.9501246882793017,
        0.914004914004914,0.9600997506234414,0.981042654028436,0.9790209790209791,0.9390243902439024],
        "top1":0.9419699669127004,"weights":"../shared/weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors",
        "zero_shot":true}
        """#

    func testRunSummaryRoundTripsAndKeepsTheKeys() throws {
        let dir = ScratchDir("woof-records")
        var s = RunSummary.fixture(mode: "lora", top1: 0.94)
        s.gitCommit = "a6d117210ba200625274d5784769a0a4fe5020cf"
        try JSONFile.write(s, to: dir.file("summary.json"))
        XCTAssertEqual(try JSONFile.read(RunSummary.self, from: dir.file("summary.json")), s)
        let text = try String(contentsOfFile: dir.file("summary.json"), encoding: .utf8)
        for key in ["\"final_val_top1\" : 0.94", "\"train_img_per_s\" : 64", "\"batchSize\" : 32", "\"memory_gib\" : 8",
                    "\"git_commit\" : \"a6d1", "\"version\" : 1"] {
            XCTAssert(text.contains(key), key)
        }
        XCTAssert(RunSummary.fixture().fileText.contains("\"git_commit\" : null"))
    }

    func testMissingWrongAndNewerFieldsOfASummaryAreNamed() throws {
        let dir = ScratchDir("woof-records-bad")
        let path = dir.file("full_model/summary.json")
        try FileManager.default.createDirectory(atPath: dir.file("full_model"), withIntermediateDirectories: true)
        func expect(_ edit: (inout String) -> Void, _ message: String, line: UInt = #line) throws {
            var text = RunSummary.fixture().fileText
            edit(&text)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try JSONFile.read(RunSummary.self, from: path), line: line) { XCTAssertEqual("\($0)", message, line: line) }
        }
        try expect({ $0 = $0.replacingOccurrences(of: "  \"steps\" : 100,\n", with: "") }, path + ": steps: missing")
        try expect({ $0 = $0.replacingOccurrences(of: "\"train_seconds\" : 50", with: "\"train_seconds\" : \"long\"") },
                   path + ": train_seconds: expected a number")
        try expect({ $0 = $0.replacingOccurrences(of: "\"cores\" : 2", with: "\"cores\" : 2.5") }, path + ": machine.cores: expected an integer, found 2.5")
        try expect({ $0 = $0.replacingOccurrences(of: "\"version\" : 1\n}", with: "\"version\" : 2\n}") },
                   path + ": version: 2 is newer than this build reads (1)")
        // The run config is a record of its own (also in checkpoints).
        try expect({ $0 = $0.replacingOccurrences(of: "\"batchSize\" : 32,", with: "\"batchSize\" : 32, \"version\" : 5,") },
                   path + ": config.version: 5 is newer than this build reads (1)")
        // A summary without final_val_top1 reads (a run that never evaluated); the paper's reader requires it.
        var unevaluated = RunSummary.fixture()
        unevaluated.finalValTop1 = nil
        XCTAssertThrowsError(try JSONFile.require(unevaluated.finalValTop1, "final_val_top1", in: path)) {
            XCTAssertEqual("\($0)", path + ": final_val_top1: missing")
        }
    }

    /// Files of the build before versioned records: every record reads, as version 1.
    func testFilesWrittenBeforeVersionsRead() throws {
        let s = try JSONFile.decode(RunSummary.self, from: Data(Self.oldSummary.utf8), path: "summary.json")
        XCTAssertEqual(s.version, 1)
        XCTAssertEqual(s.config.version, 1)
        XCTAssertEqual(s.mode, "lora")
        XCTAssertEqual(s.config.loraTargets, ["qkv", "proj", "fc1", "fc2"])
        XCTAssertEqual(s.finalValTop1, 0.9401883430898448)
        XCTAssertEqual(s.machine, MachineInfo(cpu: "Intel(R) Xeon(R) Processor", cores: 2, memoryGiB: 23.585994720458984))
        let epoch = try JSONFile.decode(EpochMetrics.self, from: Data(Self.oldMetricsLine.utf8), path: "metrics.jsonl")
        XCTAssertEqual(epoch.version, 1)
        XCTAssertEqual(epoch.valTop1, s.finalValTop1)
        let base = try JSONFile.decode(EvalSummary.self, from: Data(Self.oldBaseline.utf8), path: "baseline/summary.json")
        XCTAssertEqual(base.version, 1)
        XCTAssertEqual(base.classes.count, 10)
        XCTAssertEqual(base.confusion.map { $0.reduce(0, +) }.reduce(0, +), base.images)
        // Read and written again, the summary keeps every key and value (and gains its versions).
        let again = try JSONFile.decode([String: JSONValueForTest].self, from: try JSONFile.encoded(s), path: "again")
        var old = try JSONFile.decode([String: JSONValueForTest].self, from: Data(Self.oldSummary.utf8), path: "old")
        old["version"] = .number(1)
        if case .object(var c) = old["config"] { c["version"] = .number(1); old["config"] = .object(c) }
        XCTAssertEqual(again, old)
    }

    func testEvalSummaryAndBenchmarkRoundTrip() throws {
        let result = EvalResult(images: 4, correct: 3, classes: ["a", "b"], confusion: [[2, 0], [1, 1]], otherPredictions: 0,
                                labelCounts: [2, 2], seconds: 2, predictions: [])
        let e = EvalSummary(result, weights: "w.safetensors", zeroShot: true, classNames: ["A", "B"])
        let back = try JSONFile.decode(EvalSummary.self, from: try JSONFile.encoded(e), path: "e.json")
        XCTAssertEqual(back, e)
        XCTAssertEqual(back.perClass, [1, 0.5])
        XCTAssertEqual(back.imagesPerSecond, 2)
        let b = BenchmarkResult(mode: "lora", batch: 32, threads: 2, steps: 3, imagesPerSecond: 20, msPerStep: 1600,
                                gflopsPerSecond: 50, peakRSSMiB: 1400, trainableParameters: 296_842)
        let line = try b.jsonLine()
        XCTAssert(line.hasPrefix("{\"allreduce_bytes_per_step\":0,") && line.hasSuffix(",\"version\":1}"), line)
        XCTAssertEqual(try JSONFile.decode(BenchmarkResult.self, from: Data(line.utf8), path: "bench").trainableParameters, 296_842)
    }

    /// The paper's numbers keep each value's kind through a file.
    func testPaperNumbersKeepTheirKinds() throws {
        var n = PaperNumbers()
        n["a_top1"] = 0.9419699669127004
        n["b_params"] = 5_526_346
        n["c_cpu"] = "AMD EPYC"
        n["study_available"] = true
        let back = try JSONFile.decode(PaperNumbers.self, from: try JSONFile.encoded(n), path: "summary.json")
        XCTAssertEqual(back, n)
        XCTAssertEqual(back["a_top1"] as Double?, 0.9419699669127004)
        XCTAssertEqual(back["b_params"] as Int?, 5_526_346)
        XCTAssert(back.flag("study_available"))
        XCTAssertThrowsError(try JSONFile.decode(PaperNumbers.self, from: Data(#"{"x_top1": [1]}"#.utf8), path: "summary.json")) {
            XCTAssertEqual("\($0)", "summary.json: x_top1: expected a number, text, true or false")
        }
    }
}

/// Any JSON value, to compare two files key by key.
indirect enum JSONValueForTest: Decodable, Equatable {
    case object([String: JSONValueForTest]), array([JSONValueForTest]), text(String), number(Double), flag(Bool), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .flag(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let a = try? c.decode([JSONValueForTest].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValueForTest].self)) }
    }
}
