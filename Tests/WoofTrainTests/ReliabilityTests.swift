import XCTest
import WoofTestSupport
import WoofCore
import WoofIO
import WoofModel
import WoofData
@testable import WoofTrain

/// Nothing lost, nothing overwritten (issue 21): the final export, a stop by signal, a
/// failed evaluation, the run directory's lock and refusals, outputs that are inputs.
final class ReliabilityTests: XCTestCase {
    func parameters(_ t: Trainer) -> [Float] { Array(UnsafeBufferPointer(start: t.model.params.values, count: t.model.params.count)) }

    /// A run killed during its final export left no model: --resume exports the final one.
    func testResumingAFinishedRunExportsTheFinalModel() throws {
        let out = tmpDir("final-export")
        let t = try tinyTrainer(mode: "lora", epochs: 2, out: out)
        try t.run()
        let final = try SafeTensorsFile(path: out + "/model.safetensors").tensor("head.weight").data
        try FileManager.default.removeItem(atPath: out + "/model.safetensors")
        let again = try tinyTrainer(mode: "lora", epochs: 2, out: out)
        XCTAssertTrue(try again.resume())
        try again.run()
        XCTAssertEqual(try SafeTensorsFile(path: out + "/model.safetensors").tensor("head.weight").data, final)
    }

    /// A signal stops the run after the current step with a checkpoint; resuming reaches the
    /// parameters of an uninterrupted run bit for bit.
    func testAStopSignalCheckpointsAndResumesExactly() throws {
        let whole = try tinyTrainer(mode: "full", epochs: 2, out: tmpDir("sig-whole"))
        try whole.run()
        let out = tmpDir("sig-run")
        let first = try tinyTrainer(mode: "full", epochs: 2, out: out)
        first.afterStep = { s in if s.step == 5 { StopSignal.simulate(SIGTERM) } }
        defer { StopSignal.reset() }
        XCTAssertThrowsError(try first.run()) { e in
            guard case TrainError.interrupted(let sig, let message) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(sig, SIGTERM)
            XCTAssertTrue(message.contains("after step 5") && message.contains("--resume"), message)
        }
        StopSignal.reset()
        let second = try tinyTrainer(mode: "full", epochs: 2, out: out)
        XCTAssertTrue(try second.resume())
        XCTAssertEqual(second.state.step, 5)
        try second.run()
        XCTAssertTrue(parameters(whole) == parameters(second))
    }

    /// The epoch is checkpointed before it is evaluated: a failing evaluation costs no
    /// training, and the resumed run evaluates that epoch without training it again.
    func testAFailedEvaluationKeepsTheTrainedEpoch() throws {
        struct BadImage: Error {}
        let out = tmpDir("eval-fails")
        let first = try tinyTrainer(mode: "lora", epochs: 1, out: out, validate: { _ in throw BadImage() })
        XCTAssertThrowsError(try first.run())
        let stepsDone = first.state.step
        let ok = EvalResult(images: 1, correct: 1, classes: ["a"], confusion: [[1]], otherPredictions: 0, seconds: 1, predictions: [])
        let second = try tinyTrainer(mode: "lora", epochs: 1, out: out, validate: { _ in ok })
        XCTAssertTrue(try second.resume())
        XCTAssertEqual(second.state.step, stepsDone, "the trained epoch was kept")
        try second.run()
        XCTAssertEqual(second.state.step, stepsDone, "no step was trained again")
        XCTAssertEqual(second.history.map(\.valTop1), [1])
    }

    func testOneRunPerDirectoryAndNoFinishedModelReplaced() throws {
        let dir = tmpDir("lock")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let held = try RunDirectoryLock(directory: dir)
        XCTAssertThrowsError(try RunDirectoryLock(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("another run (pid \(getpid()))"), "\(e)")
        }
        withExtendedLifetime(held) {}
        try Data("m".utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        for resume in [false, true] {
            XCTAssertThrowsError(try prepareOutputDirectory(dir, resume: resume, comm: .world)) { e in
                XCTAssertTrue("\(e)".contains("holds a finished model"), "\(e)")
            }
        }
        let file = dir + "/model.safetensors"
        XCTAssertThrowsError(try prepareOutputDirectory(file, resume: false, comm: .world)) { e in
            XCTAssertTrue("\(e)".contains("--out is a file"), "\(e)")
        }
    }

    func testStaleTempFilesOfDeadWritersAreRemoved() throws {
        let dir = tmpDir("stale")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let dead: Int32 = 2_000_000_000, live = getpid()
        for name in [".model.safetensors.tmp-\(dead)", ".model.safetensors.tmp-\(live)", "model.safetensors"] {
            try Data().write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        XCTAssertEqual(RunDirectoryLock.removeStaleTempFiles(in: dir), [".model.safetensors.tmp-\(dead)"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
                       [".model.safetensors.tmp-\(live)", "model.safetensors"])
    }

    func testAnOutputThatIsTheInputIsRefused() {
        var o = EvalOptions()
        o.weights = sharedPath("golden/tiny_vit.safetensors")
        o.predictions = o.weights
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--predictions"), "\($0)") }
        o.predictions = "/tmp/p.csv"; o.summary = "/tmp/p.csv"
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("the same file"), "\($0)") }
    }
}

/// Nothing silently wrong (issue 21): resumes on other inputs or settings, non-finite
/// weights, options beyond their limits, a model scored on classes it was not trained on.
final class RefusalTests: XCTestCase {
    func testAResumeNamesTheSettingOrInputThatDiffers() throws {
        var saved = TrainConfig(), now = TrainConfig()
        saved.weightsFingerprint = "aaaa"; now.weightsFingerprint = "bbbb"
        XCTAssertThrowsError(try Trainer.checkResumable(saved: saved, now: now, checkpoint: "ck")) {
            XCTAssertTrue("\($0)".contains("other --weights"), "\($0)")
        }
        now.weightsFingerprint = "aaaa"; saved.dataFingerprint = "1"; now.dataFingerprint = "2"
        XCTAssertThrowsError(try Trainer.checkResumable(saved: saved, now: now, checkpoint: "ck")) {
            XCTAssertTrue("\($0)".contains("other --data"), "\($0)")
        }
        now.dataFingerprint = "1"; now.lr = 0.5
        XCTAssertThrowsError(try Trainer.checkResumable(saved: saved, now: now, checkpoint: "ck")) {
            XCTAssertTrue("\($0)".contains("another --lr (checkpoint: unset, now: 0.5)"), "\($0)")
        }
        now.lr = nil; now.checkpointEvery = 7; now.evalLimit = 10; now.threads = 1; now.epochs = 9
        XCTAssertNoThrow(try Trainer.checkResumable(saved: saved, now: now, checkpoint: "ck"), "harmless options may change")
        now.batchSize = 64
        XCTAssertThrowsError(try Trainer.checkResumable(saved: saved, now: now, checkpoint: "ck")) {
            XCTAssertTrue("\($0)".contains("another --batch-size (checkpoint: 32, now: 64)"), "\($0)")
        }
    }

    func testNonFiniteWeightsAreRefusedByName() throws {
        let file = try SafeTensorsFile(path: sharedPath("golden/tiny_vit.safetensors"))
        var tensors: [String: NamedTensor] = [:]
        for n in file.names { tensors[n] = NamedTensor(shape: file[n]!.shape, data: file[n]!.data) }
        tensors["blocks.1.mlp.fc2.weight"]!.data[3] = .nan
        let dir = ScratchDir()
        try SafeTensorsFile.write(tensors, to: dir.file("nan.safetensors"))
        let model = try VisionTransformer(config: tinyConfig, mode: .full)
        XCTAssertThrowsError(try model.loadWeights(path: dir.file("nan.safetensors"))) {
            XCTAssertTrue("\($0)".contains("non-finite value in 'blocks.1.mlp.fc2.weight'"), "\($0)")
        }
    }

    func testOptionsBeyondTheirLimitsAreRefusedWithTheLimit() {
        func message(_ change: (inout TrainConfig) -> Void) -> String {
            var c = TrainConfig(); change(&c)
            do { try c.validate(forUser: true); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { $0.epochs = Int.max }.contains("1…10000"))
        XCTAssertTrue(message { $0.threads = 100_000 }.contains("--threads must be in 1…"))
        XCTAssertTrue(message { $0.loaderWorkers = 20_000 }.contains("--loader-workers must be at most"))
        XCTAssertTrue(message { $0.mode = "lora"; $0.loraRank = 500 }.contains("above the width of the adapted layers (192)"))
        var c = TrainConfig(); c.batchSize = 1 << 30
        XCTAssertThrowsError(try c.checkMemory(perRankBatch: c.batchSize, ranksOnNode: 1)) {
            XCTAssertTrue("\($0)".contains("images per rank fit"), "\($0)")
        }
        XCTAssertNoThrow(try TrainConfig().checkMemory(perRankBatch: 32, ranksOnNode: 1))
    }
}

/// Found before training, not after an epoch: an unreadable val image, a FIFO among the
/// images, a damaged checkpoint.
final class UpFrontTests: XCTestCase {
    func jpeg() throws -> Data {
        let w = 40, h = 30
        return try encodeJPEG(pixels: (0..<(w * h * 3)).map { UInt8($0 % 251) }, width: w, height: h, components: 3)
    }

    func testAnUnreadableValImageStopsTheRunBeforeTraining() throws {
        let dir = ScratchDir(), good = try jpeg()
        for c in ["a", "b"] { for i in 0..<4 { dir.write("train/\(c)/\(i).JPEG", good) }; dir.write("val/\(c)/0.JPEG", good) }
        dir.write("val/b/1.JPEG", Data("not an image".utf8))
        var cfg = TrainConfig()
        cfg.mode = "lora"; cfg.epochs = 1; cfg.batchSize = 4; cfg.data = dir.path; cfg.out = dir.file("run")
        cfg.weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"); cfg.threads = 1
        XCTAssertThrowsError(try runTraining(cfg, resume: false, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("val: 1 unreadable image(s), first \(dir.path)/val/b/1.JPEG"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("run/checkpoint.safetensors")), "nothing was trained")
    }

    func testAFIFOAmongTheImagesIsRefusedByName() throws {
        let dir = ScratchDir(), good = try jpeg()
        for c in ["a", "b"] { dir.write("train/\(c)/0.JPEG", good) }
        XCTAssertEqual(mkfifo(dir.file("train/a/pipe.JPEG"), 0o644), 0)
        XCTAssertThrowsError(try ImageFolder(root: dir.path, split: "train")) {
            XCTAssertTrue("\($0)".contains("train/a/pipe.JPEG: not a regular file"), "\($0)")
        }
    }

    func testADamagedCheckpointIsRefusedNamingTheTensor() throws {
        let out = tmpDir("damaged")
        try tinyTrainer(mode: "lora", epochs: 1, out: out).run()
        let path = out + "/checkpoint.safetensors"
        let f = try SafeTensorsFile(path: path)
        var tensors: [String: NamedTensor] = [:]
        for n in f.names { tensors[n] = NamedTensor(shape: f[n]!.shape, data: f[n]!.data) }
        tensors["adamw.v"]!.data[0] = .infinity
        try SafeTensorsFile.write(tensors, metadata: f.metadata, to: path)
        XCTAssertThrowsError(try tinyTrainer(mode: "lora", epochs: 1, out: out).resume()) {
            XCTAssertTrue("\($0)".contains("non-finite value in 'adamw.v' at element 0"), "\($0)")
        }
    }
}
