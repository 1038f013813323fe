import XCTest
import WoofTestSupport
import WoofCore
import WoofModel
import WoofData
@testable import WoofTrain
import WoofIO

let tinyConfig = ViTConfig(imgSize: 32, patchSize: 8, embedDim: 48, depth: 2, numHeads: 3, numClasses: 10)

/// A fixed in-memory training set whose order is a function of (seed, epoch), like the loader's.
final class MemorySource: BatchSource {
    let images: [Float], labels: [Int32], batch: Int, perImage: Int, seed: UInt64
    var order: [Int] = [], cursor = 0
    let buffer: UnsafeMutablePointer<Float>
    init(count: Int, batch: Int, seed: UInt64 = 3) {
        var rng = SplitMix64(seed: 99)
        perImage = 3 * 32 * 32
        // Class-dependent means make the task learnable.
        var imgs: [Float] = [], labs: [Int32] = []
        for i in 0..<count {
            let label = Int32(i % 10); labs.append(label)
            for c in 0..<perImage { imgs.append(rng.normal() * 0.5 + (c % 10 == Int(label) ? 1 : 0)) }
        }
        images = imgs; labels = labs; self.batch = batch; self.seed = seed
        buffer = .allocate(capacity: batch * perImage)
    }
    deinit { buffer.deallocate() }
    var batchesPerEpoch: Int { labels.count / batch }
    var skippedImages: Int { 0 }
    func startEpoch(_ epoch: Int, fromBatch: Int) {
        var rng = SplitMix64(seed: seed, stream: UInt64(epoch))
        order = Array(0..<labels.count).shuffled(using: &rng); cursor = fromBatch * batch
    }
    func nextBatch() throws -> (images: UnsafeMutablePointer<Float>, labels: [Int32])? {
        guard cursor + batch <= order.count else { return nil }
        var labs: [Int32] = []
        for j in 0..<batch {
            let i = order[cursor + j]; labs.append(labels[i])
            images.withUnsafeBufferPointer { (buffer + j * perImage).update(from: $0.baseAddress! + i * perImage, count: perImage) }
        }
        cursor += batch
        return (buffer, labs)
    }
}

/// The tiny trainer and scratch directories the training tests share.
extension XCTestCase {
    func tmpDir(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "woof-train-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: d)
        return d
    }

    func tinyTrainer(mode: String, epochs: Int = 2, out: String, checkpointEvery: Int = 0,
                     validate: ((Tape) throws -> EvalResult)? = nil) throws -> Trainer {
        var cfg = TrainConfig()
        cfg.mode = mode; cfg.epochs = epochs; cfg.batchSize = 8; cfg.seed = 5; cfg.checkpointEvery = checkpointEvery
        cfg.loraRank = 4; cfg.loraAlpha = 8; cfg.lr = mode == "lora" ? 3e-3 : 1e-3
        let model = try VisionTransformer(config: tinyConfig, mode: cfg.trainMode, seed: 1)
        try model.loadWeights(path: sharedPath("golden/tiny_vit.safetensors"))
        model.reinitializeHead(seed: cfg.seed)
        let t = Trainer(config: cfg, model: model, train: MemorySource(count: 64, batch: 8), classNames: (0..<10).map(String.init),
                        validate: validate, outDir: out)
        t.showProgress = false
        t.log = { _ in }
        return t
    }
}

final class TrainTests: XCTestCase {
    func testLossDecreasesAndLoRAFreezesTheBase() throws {
        for mode in ["full", "lora"] {
            let t = try tinyTrainer(mode: mode, epochs: 6, out: tmpDir("dec-\(mode)"))
            let before = Array(UnsafeBufferPointer(start: t.model.params.values, count: t.model.params.count))
            try t.run()
            let first = t.history.first!.trainLoss, last = t.history.last!.trainLoss
            XCTAssertLessThan(last, first * 0.8, "\(mode): loss \(first) → \(last)"); print("[train] \(mode): mean loss epoch 1 \(first) → epoch 6 \(last)")
            let after = Array(UnsafeBufferPointer(start: t.model.params.values, count: t.model.params.count))
            for e in t.model.params.entries {
                let changed = before[e.offset..<(e.offset + e.count)] != after[e.offset..<(e.offset + e.count)]
                if mode == "lora" {
                    let shouldChange = e.name.contains("lora_") || e.name.hasPrefix("head.")
                    XCTAssertEqual(changed, shouldChange, "lora: \(e.name) changed=\(changed)")
                } else {
                    XCTAssertTrue(changed, "full: \(e.name) did not train")
                }
            }
        }
    }

    /// The step used in training reproduces PyTorch's gradients on the golden batch.
    func testTrainingStepGradientsMatchGolden() throws {
        let io = try SafeTensorsFile(path: sharedPath("golden/tiny_vit_io.safetensors"))
        let model = try VisionTransformer(config: tinyConfig, mode: .full)
        try model.loadWeights(path: sharedPath("golden/tiny_vit.safetensors"))
        let step = GradientStep(model: model)
        let input = try io.tensor("input").data, labels = try io.tensor("labels").data.map { Int32($0) }
        let (loss, _) = input.withUnsafeBufferPointer { step(images: $0.baseAddress!, labels: labels) }
        XCTAssertLessThan(relativeError([loss], try io.tensor("loss").data), 1e-5)
        for e in model.params.entries {
            XCTAssertLessThan(relativeError(model.params[e.name].gradArray!, try io.tensor("grad.\(e.name)").data), 1e-4, e.name)
        }
        let lio = try SafeTensorsFile(path: sharedPath("golden/tiny_vit_lora_io.safetensors"))
        let lora = try VisionTransformer(config: tinyConfig, mode: .lora(LoRAConfig(rank: 4, alpha: 8)))
        try lora.loadWeights(path: sharedPath("golden/tiny_vit.safetensors"))
        try lora.loadAdapters(SafeTensorsFile(path: sharedPath("golden/tiny_vit_lora.safetensors")))
        let lstep = GradientStep(model: lora)
        _ = input.withUnsafeBufferPointer { lstep(images: $0.baseAddress!, labels: labels) }
        for name in lora.params.trainableNames {
            XCTAssertLessThan(relativeError(lora.params[name].gradArray!, try lio.tensor("grad.\(name)").data), 1e-4, name)
        }
    }

    struct Crash: Error {}

    /// Interrupt mid-epoch (after a checkpoint), resume in a fresh trainer: the final
    /// parameters and optimizer state are bit-identical to an uninterrupted run.
    func testResumeIsBitExact() throws {
        for mode in ["full", "lora"] {
            let whole = try tinyTrainer(mode: mode, epochs: 2, out: tmpDir("whole-\(mode)"))
            try whole.run()
            let out = tmpDir("crash-\(mode)")
            let first = try tinyTrainer(mode: mode, epochs: 2, out: out, checkpointEvery: 3)
            first.afterStep = { s in if s.step == 11 { throw Crash() } }   // epoch 2, after the step-9 checkpoint
            XCTAssertThrowsError(try first.run())
            let second = try tinyTrainer(mode: mode, epochs: 2, out: out, checkpointEvery: 3)
            XCTAssertTrue(try second.resume())
            XCTAssertEqual(second.state.step, 9)
            try second.run()
            let n = whole.model.params.count, k = whole.model.params.trainableCount
            XCTAssertTrue(Array(UnsafeBufferPointer(start: whole.model.params.values, count: n)) ==
                          Array(UnsafeBufferPointer(start: second.model.params.values, count: n)), "\(mode): parameters differ after resume")
            XCTAssertTrue(Array(UnsafeBufferPointer(start: whole.optimizer.v, count: k)) ==
                          Array(UnsafeBufferPointer(start: second.optimizer.v, count: k)), "\(mode): AdamW state differs")
            XCTAssertEqual(whole.history.map(\.trainLoss), second.history.map(\.trainLoss))
        }
    }

    func testResumeRefusesOtherSettings() throws {
        let out = tmpDir("other")
        let t = try tinyTrainer(mode: "full", epochs: 1, out: out)
        try t.run()
        let lora = try tinyTrainer(mode: "lora", epochs: 1, out: out)
        XCTAssertThrowsError(try lora.resume()) { XCTAssertTrue("\($0)".contains("another --mode (checkpoint: full, now: lora)"), "\($0)") }
    }

    func testExportsAreTimmAndPeftShaped() throws {
        let out = tmpDir("export")
        let t = try tinyTrainer(mode: "lora", epochs: 1, out: out)
        try t.run()
        // Merged export = unmerged model.
        let exported = try SafeTensorsFile(path: out + "/model.safetensors")
        let golden = try SafeTensorsFile(path: sharedPath("golden/tiny_vit.safetensors"))
        XCTAssertEqual(Set(exported.names), Set(golden.names), "timm key set")
        for n in golden.names { XCTAssertEqual(exported[n]!.shape, golden[n]!.shape, n) }
        let plain = try VisionTransformer(config: tinyConfig, mode: .frozen)
        try plain.loadWeights(exported)
        var rng = SplitMix64(seed: 1)
        let x = (0..<(2 * 3 * 32 * 32)).map { _ in rng.normal() }
        let a = x.withUnsafeBufferPointer { GradientStep(model: plain).logits(images: $0.baseAddress!, count: 2) }
        let b = x.withUnsafeBufferPointer { GradientStep(model: t.model).logits(images: $0.baseAddress!, count: 2) }
        XCTAssertLessThan(relativeError(a, b), 1e-5, "merged export vs unmerged LoRA model")
        // peft adapter: keys and config.
        let adapter = try SafeTensorsFile(path: out + "/adapter/adapter_model.safetensors")
        XCTAssertTrue(adapter.names.contains("base_model.model.blocks.0.attn.qkv.lora_A.weight"))
        XCTAssertTrue(adapter.names.contains("base_model.model.blocks.1.mlp.fc2.lora_B.weight"))
        XCTAssertTrue(adapter.names.contains("base_model.model.head.weight"))
        XCTAssertEqual(adapter.names.count, 2 * 4 * 2 + 2)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/adapter/adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(cfg["peft_type"] as? String, "LORA")
        XCTAssertEqual(cfg["r"] as? Int, 4)
        XCTAssertEqual(cfg["lora_alpha"] as? Double, 8)
        XCTAssertEqual(cfg["modules_to_save"] as? [String], ["head"])
        let re = try NSRegularExpression(pattern: "^(" + (cfg["target_modules"] as! String) + ")$")
        func full(_ s: String) -> Bool { re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil }
        XCTAssertTrue(full("blocks.11.attn.qkv") && full("blocks.0.mlp.fc2") && full("blocks.3.attn.proj"))
        XCTAssertFalse(full("patch_embed.proj") || full("head"))
        // Adapter round trip into a fresh model gives the same logits.
        let again = try VisionTransformer(config: tinyConfig, mode: .lora(LoRAConfig(rank: 4, alpha: 8)))
        try again.loadWeights(path: sharedPath("golden/tiny_vit.safetensors"))
        try again.loadAdapters(adapter)
        let c = x.withUnsafeBufferPointer { GradientStep(model: again).logits(images: $0.baseAddress!, count: 2) }
        XCTAssertLessThan(relativeError(c, b), 1e-6)
        // Summary and metrics exist and parse.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["trainable_params"] as? Int, t.model.params.trainableCount)
        XCTAssertEqual(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 1)
    }

    func testScheduleWarmsUpThenDecaysToZero() {
        var c = TrainConfig(); c.lr = 1e-3; c.warmup = 0.1
        XCTAssertEqual(c.learningRate(step: 0, total: 100), 1e-4, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(step: 9, total: 100), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(step: 10, total: 100), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(c.learningRate(step: 55, total: 100), 5e-4, accuracy: 1e-6)
        XCTAssertLessThan(c.learningRate(step: 99, total: 100), 1e-5)
    }

    /// A resumed epoch's progress starts at the images already done but rates only the new
    /// ones (it once printed 3200 images over a few milliseconds as 3e8 img/s, ETA 0:00).
    func testResumedProgressRatesOnlyNewWork() throws {
        var lines: [String] = []
        let p = Progress("epoch 1/2", total: 1000, lineEvery: 100, output: { lines.append($0) })
        p.resume(at: 800)
        Thread.sleep(forTimeInterval: 0.2)
        p.advance(by: 100)
        let line = try XCTUnwrap(lines.last)
        XCTAssertTrue(line.contains("900/1000"), line)
        let rate = try XCTUnwrap(Double(line.split(separator: " ")[3]), line)
        XCTAssertLessThan(rate, 1000, "100 images in >= 0.2 s: \(line)")
        XCTAssertGreaterThan(rate, 0, line)
    }

    /// Evaluation between epochs runs on the training step's tape: its forward fits in the
    /// arena training already holds (a second arena doubled a run's peak memory), and the
    /// logits are the same as on a fresh tape.
    func testEvaluationSharesTheTrainingArena() throws {
        final class Seen { var tapes: [ObjectIdentifier] = [] }
        let seen = Seen()
        var cfg = TrainConfig(); cfg.mode = "full"; cfg.epochs = 1; cfg.batchSize = 8; cfg.lr = 1e-3
        let model = try VisionTransformer(config: tinyConfig, mode: cfg.trainMode, seed: 1)
        let t = Trainer(config: cfg, model: model, train: MemorySource(count: 16, batch: 8), classNames: (0..<10).map(String.init),
                        validate: { tape in
                            seen.tapes.append(ObjectIdentifier(tape))
                            return EvalResult(images: 10, correct: 5, classes: (0..<10).map(String.init),
                                              confusion: Array(repeating: Array(repeating: 0, count: 10), count: 10),
                                              otherPredictions: 0, labelCounts: Array(repeating: 1, count: 10), seconds: 0, predictions: [])
                        }, outDir: tmpDir("shared-arena"))
        t.showProgress = false; t.log = { _ in }
        try t.run()
        XCTAssertEqual(seen.tapes, [ObjectIdentifier(t.step.tape)])

        let source = MemorySource(count: 8, batch: 8)
        source.startEpoch(0, fromBatch: 0)
        let batch = try XCTUnwrap(try source.nextBatch())
        t.step(images: batch.images, labels: batch.labels)
        let tape = t.step.tape, peak = tape.arena.peakBytes
        let shared = GradientStep(model: model, tape: tape).logits(images: batch.images, count: 8)
        XCTAssertEqual(tape.arena.peakBytes, peak)
        XCTAssertEqual(shared, GradientStep(model: model).logits(images: batch.images, count: 8))
    }

    /// --eval-every 2 over 3 epochs evaluates after epochs 2 and 3 (the last always); the
    /// summary's final top-1 is the last epoch's.
    func testEvalEveryEvaluatesNthAndLastEpoch() throws {
        final class Count { var n = 0 }
        let count = Count()
        var cfg = TrainConfig(); cfg.mode = "lora"; cfg.epochs = 3; cfg.batchSize = 8; cfg.lr = 1e-3; cfg.evalEvery = 2
        XCTAssertEqual((0..<3).map { cfg.evaluates(afterEpoch: $0) }, [false, true, true])
        let model = try VisionTransformer(config: tinyConfig, mode: cfg.trainMode, seed: 1)
        let out = tmpDir("eval-every")
        let t = Trainer(config: cfg, model: model, train: MemorySource(count: 8, batch: 8), classNames: (0..<10).map(String.init),
                        validate: { _ in
                            count.n += 1
                            return EvalResult(images: 10, correct: count.n, classes: (0..<10).map(String.init),
                                              confusion: Array(repeating: Array(repeating: 0, count: 10), count: 10),
                                              otherPredictions: 0, labelCounts: Array(repeating: 1, count: 10), seconds: 0, predictions: [])
                        }, outDir: out)
        t.showProgress = false; t.log = { _ in }
        try t.run()
        XCTAssertEqual(count.n, 2)
        XCTAssertEqual(t.history.map { $0.valTop1 == nil }, [true, false, false])
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        XCTAssertEqual(summary["final_val_top1"] as? Double, 0.2)
        cfg.evalEvery = 0
        XCTAssertThrowsError(try cfg.validate()) { XCTAssertTrue("\($0)".contains("--eval-every"), "\($0)") }
    }

    func testBadOptionsAreRejected() {
        var c = TrainConfig(); c.mode = "lora"; c.loraRank = 0
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("rank"), "\($0)") }
        c = TrainConfig(); c.mode = "lora"; c.loraTargets = ["qkv", "mlp"]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("unknown LoRA target 'mlp'"), "\($0)") }
        c = TrainConfig(); c.batchSize = 0
        XCTAssertThrowsError(try c.validate())
        c = TrainConfig(); c.mode = "half"
        XCTAssertThrowsError(try c.validate())
    }

    func testNonFiniteLossStopsWithStepNamed() throws {
        let out = tmpDir("nan")
        let t = try tinyTrainer(mode: "full", epochs: 1, out: out)
        t.model.params["blocks.0.norm1.weight"].data[0] = .nan
        XCTAssertThrowsError(try t.run()) { e in
            XCTAssertTrue("\(e)".contains("non-finite loss"), "\(e)")
            XCTAssertTrue("\(e)".contains("step 1"), "\(e)")
        }
    }
}

final class EvalResultTests: XCTestCase {
    /// Per-class accuracy counts every image of the class, also those a 1000-class model
    /// predicts outside the ten classes.
    func testPerClassUsesAllImagesOfTheLabel() {
        var r = EvalResult(images: 4, correct: 1, classes: ["a", "b"], confusion: [[1, 1], [0, 0]], otherPredictions: 2,
                           labelCounts: [3, 1], seconds: 1, predictions: [])
        XCTAssertEqual(r.perClass[0], 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.perClass[1], 0)
        r.labelCounts = []
        XCTAssertEqual(r.perClass[0], 0.5, accuracy: 1e-12)   // legacy: row sums
    }
}

final class RecipeOptionTests: XCTestCase {
    /// `--head-init imagenet`: the 10-class model's logits are the pretrained model's logits
    /// of the ten ImageWoof classes, so training starts at the zero-shot baseline.
    func testImageNetHeadInitStartsAtZeroShot() throws {
        let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")
        let model = try pretrainedForFineTuning(weights: weights, mode: .full, classes: 10, seed: 3, headInit: "imagenet")
        let io = try SafeTensorsFile(path: sharedPath("golden/vit_tiny_pretrained_io.safetensors"))
        let input = try io.tensor("input"), ref = try io.tensor("logits").data
        let two = Array(input.data[0..<(2 * 3 * 224 * 224)])
        let ours = two.withUnsafeBufferPointer { GradientStep(model: model).logits(images: $0.baseAddress!, count: 2) }
        var expected: [Float] = []
        for i in 0..<2 { for idx in ImageWoof.imageNetIndices { expected.append(ref[i * 1000 + idx]) } }
        XCTAssertLessThan(relativeError(ours, expected), 1e-4)
        XCTAssertThrowsError(try pretrainedForFineTuning(weights: sharedPath("golden/tiny_vit.safetensors"), mode: .full, classes: 10, seed: 0, headInit: "imagenet"))
    }

    func testLayerDecayScalesFollowBEiT() {
        XCTAssertEqual(Trainer.layerID("cls_token", depth: 12), 0)
        XCTAssertEqual(Trainer.layerID("patch_embed.proj.weight", depth: 12), 0)
        XCTAssertEqual(Trainer.layerID("blocks.0.attn.qkv.weight", depth: 12), 1)
        XCTAssertEqual(Trainer.layerID("blocks.11.mlp.fc2.lora_B.weight", depth: 12), 12)
        XCTAssertEqual(Trainer.layerID("head.weight", depth: 12), 13)
        XCTAssertEqual(Trainer.layerID("norm.bias", depth: 12), 13)
        // A per-element lr multiplier of s equals training at lr·s.
        var a: [Float] = [1, -2, 3], b = a
        let g: [Float] = [0.1, 0.2, -0.3]
        let scaled = AdamW(count: 3), plain = AdamW(count: 3)
        scaled.setLearningRateScale(0.25, for: 0..<3)
        a.withUnsafeMutableBufferPointer { scaled.update(params: $0.baseAddress!, grads: g, decayCount: 3, lr: 0.04) }
        b.withUnsafeMutableBufferPointer { plain.update(params: $0.baseAddress!, grads: g, decayCount: 3, lr: 0.01) }
        for i in 0..<3 { XCTAssertEqual(a[i], b[i], accuracy: 1e-7) }
    }
}

final class LinearProbeTests: XCTestCase {
    /// LP-FT's second phase starts from the probe's head; a head-only model trains nothing else.
    func testHeadOnlyModeAndHeadFromProbe() throws {
        let weights = sharedPath("weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")
        let probe = try pretrainedForFineTuning(weights: weights, mode: .headOnly, classes: 10, seed: 9)
        XCTAssertEqual(probe.params.trainableNames.sorted(), ["head.bias", "head.weight"])
        let dir = NSTemporaryDirectory() + "woof-lp-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Export.timmModel(probe, to: dir, classNames: (0..<10).map(String.init))
        let main = try pretrainedForFineTuning(weights: weights, mode: .lora(LoRAConfig()), classes: 10, seed: 1,
                                               headFrom: dir + "/model.safetensors")
        XCTAssertTrue(main.params["head.weight"].array == probe.params["head.weight"].array)
        var c = TrainConfig(); c.mode = "lora"; c.linearProbeEpochs = -1
        XCTAssertThrowsError(try c.validate())
    }
}
