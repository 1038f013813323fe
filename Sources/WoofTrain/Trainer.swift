import Foundation
import WoofCore
import WoofModel
import WoofData
import WoofDist
import WoofIO

/// Anything that yields training batches for an epoch (the real loader, or an in-memory
/// set in tests).
public protocol BatchSource: AnyObject {
    var batchesPerEpoch: Int { get }
    var skippedImages: Int { get }
    /// Starts `epoch` at batch `fromBatch` (a resumed run skips what it already did).
    func startEpoch(_ epoch: Int, fromBatch: Int)
    /// The next batch of the epoch (memory valid until the following call), nil at its end.
    func nextBatch() throws -> (images: UnsafeMutablePointer<Float>, labels: [Int32])?
}

extension BatchLoader: BatchSource {
    public func nextBatch() throws -> (images: UnsafeMutablePointer<Float>, labels: [Int32])? {
        guard let b = try next() else { return nil }
        return (b.images, Array(b.labels))
    }
}

/// The training loop: epochs of (gradient step → AdamW with warm-up + cosine schedule),
/// evaluation after each epoch, atomic checkpoints, exact resume, and the run's files.
public final class Trainer {
    public let config: TrainConfig
    public let model: VisionTransformer
    public let optimizer: AdamW
    public let step: GradientStep
    public let comm: Communicator
    public let sync: GradientSync
    let train: BatchSource
    /// Evaluates the model after each epoch, given the training step's tape to run on (so
    /// evaluation shares the training arena: a second arena doubled a run's peak memory).
    let validate: ((Tape) throws -> EvalResult)?
    public let outDir: String
    public var log: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }
    public var showProgress = true
    /// Called after every optimizer step (tests use it to simulate a crash).
    public var afterStep: ((TrainState) throws -> Void)?
    /// Called after the gradients of a step are reduced, before they are checked and
    /// applied (fault-injection tests put a NaN there).
    public var afterGradients: ((TrainState) -> Void)?
    public private(set) var state = TrainState()
    public private(set) var history: [EpochMetrics] = []
    var classNames: [String] = []
    /// The commit checked out when the run started (a binary built from it, normally).
    let gitCommit = Machine.gitCommit()

    public var checkpointPath: String { outDir + "/checkpoint.safetensors" }
    public var totalSteps: Int { train.batchesPerEpoch * config.epochs }

    /// `train` yields this rank's shard, `config.batchSize / comm.size` images per batch.
    public init(config: TrainConfig, model: VisionTransformer, train: BatchSource, classNames: [String],
                validate: ((Tape) throws -> EvalResult)?, outDir: String, comm: Communicator = .world) {
        self.config = config
        self.model = model
        self.train = train
        self.validate = validate
        self.outDir = outDir
        self.classNames = classNames
        self.comm = comm
        optimizer = AdamW(count: model.params.trainableCount, weightDecay: Float(config.weightDecay))
        if config.layerDecay < 1 {
            let depth = model.config.depth
            for e in model.params.entries where e.trainable {
                let id = Trainer.layerID(e.name, depth: depth)
                optimizer.setLearningRateScale(Float(pow(config.layerDecay, Double(depth + 1 - id))), for: e.offset..<(e.offset + e.count))
            }
        }
        sync = GradientSync(store: model.params, comm: comm, overlap: config.overlap)
        step = GradientStep(model: model, labelSmoothing: Float(config.labelSmoothing), sync: sync)
        if !comm.isRoot { log = { _ in } }
    }

    /// BEiT's layer index for layer-wise lr decay: embeddings 0, block i → i + 1, final norm
    /// and head depth + 1.
    public static func layerID(_ name: String, depth: Int) -> Int {
        if name.hasPrefix("blocks.") {
            let n = name.dropFirst(7).prefix { $0.isNumber }
            return (Int(n) ?? 0) + 1
        }
        if name.hasPrefix("cls_token") || name.hasPrefix("pos_embed") || name.hasPrefix("patch_embed") { return 0 }
        return depth + 1
    }

    /// Continues from `checkpoint.safetensors` in the output directory. The run's settings
    /// must be those the checkpoint was made with (output dir, threads and data path aside).
    public func resume() throws -> Bool {
        guard FileManager.default.fileExists(atPath: checkpointPath) else { return false }
        let now = config, path = checkpointPath
        let (s, _) = try Checkpoint.load(from: checkpointPath, model: model, optimizer: optimizer) {
            try Trainer.checkResumable(saved: $0, now: now, checkpoint: path)
        }
        state = s
        history = try loadHistory().filter { $0.epoch < s.epoch }
        log("resuming from \(checkpointPath): epoch \(s.epoch + 1), batch \(s.batchInEpoch), step \(s.step)")
        return true
    }

    /// Refuses a resume whose settings differ from the checkpoint's in anything that changes
    /// the numbers, naming the option; paths, threads, workers, epochs, overlap, evaluation
    /// and checkpoint frequency may change.
    static func checkResumable(saved: TrainConfig, now: TrainConfig, checkpoint: String) throws {
        for (option, a, b) in [("--weights", saved.weightsFingerprint, now.weightsFingerprint), ("--data", saved.dataFingerprint, now.dataFingerprint)] {
            if let a, let b, a != b {
                throw TrainError.checkpoint("\(checkpoint) was made from other \(option) (\(option == "--weights" ? saved.weights : saved.data), fingerprint \(a); now \(b)); repeat the original \(option), or run without --resume into a new --out")
            }
        }
        var a = saved, b = now
        for c in [\TrainConfig.out, \TrainConfig.data, \TrainConfig.weights] { a[keyPath: c] = ""; b[keyPath: c] = "" }
        a.threads = 0; b.threads = 0; a.loaderWorkers = 0; b.loaderWorkers = 0; a.epochs = 0; b.epochs = 0
        a.overlap = true; b.overlap = true; a.evalEvery = 1; b.evalEvery = 1  // none changes the numbers
        a.checkpointEvery = 0; b.checkpointEvery = 0; a.evalLimit = nil; b.evalLimit = nil; a.rankTimeout = nil; b.rankTimeout = nil
        a.weightsFingerprint = nil; b.weightsFingerprint = nil; a.dataFingerprint = nil; b.dataFingerprint = nil
        guard let (was, now) = zip(a.options, b.options).first(where: { $0.value != $1.value }) else { return }
        throw TrainError.checkpoint("\(checkpoint) was made with another \(was.option) (checkpoint: \(was.value), now: \(now.value)); repeat the original options, or run without --resume into a new --out")
    }

    /// The finished epochs' metrics (none before the first epoch ends); a damaged line is an
    /// error naming the file and line, not a silently shorter history.
    func loadHistory() throws -> [EpochMetrics] {
        let path = outDir + "/metrics.jsonl"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try JSONFile.readLines(EpochMetrics.self, from: path)
    }

    public func saveCheckpoint() throws {
        guard comm.isRoot else { return }
        try Checkpoint.save(to: checkpointPath, model: model, optimizer: optimizer, state: state, config: config)
    }

    /// Trains to the end of `config.epochs`, writing metrics, checkpoints and the model.
    public func run() throws {
        let root = comm.isRoot
        if root { try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true) }
        let perEpoch = train.batchesPerEpoch
        guard perEpoch > 0 else { throw TrainError.invalidOption("the training set has fewer images than one batch of \(config.batchSize)") }
        try RankAgreement.check(config, comm: comm)
        if comm.size > 1 {
            CollectiveWatchdog.start(timeout: config.effectiveRankTimeout, rank: comm.rank, peers: comm.processes(),
                                     context: { [unowned self] in "step \(self.state.step + 1), epoch \(self.state.epoch + 1)" },
                                     report: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
        }
        // Every rank starts from rank 0's trainable parameters, and all must agree exactly.
        if let problem = sync.broadcastAndVerify() { throw TrainError.invalidOption(problem) }
        let total = totalSteps
        while state.epoch < config.epochs {
            try trainEpoch(perEpoch: perEpoch, totalSteps: total)
            try finishEpoch(perEpoch: perEpoch)
        }
        // Also when a resumed run had nothing left to train: the exported model is always
        // the final one (a kill during the last export left none, or an older epoch's).
        if root { try exportModel(); try writeSummary() }
    }

    /// Steps through the rest of the current epoch (stopping early, with a checkpoint, when a
    /// signal asked for it).
    func trainEpoch(perEpoch: Int, totalSteps total: Int) throws {
        let epoch = state.epoch
        // Resuming mid-epoch: the order is a function of (seed, epoch), so skip what was done.
        train.startEpoch(epoch, fromBatch: state.batchInEpoch)
        let progress = Progress("epoch \(epoch + 1)/\(config.epochs)", total: perEpoch * config.batchSize)
        progress.enabled = showProgress && comm.isRoot
        progress.resume(at: state.batchInEpoch * config.batchSize)
        while state.batchInEpoch < perEpoch {
            guard try trainStep(perEpoch: perEpoch, totalSteps: total, progress: progress) != nil else { break }
            if let sig = stopSignal { progress.finish(); try stop(by: sig) }
        }
        progress.finish()
    }

    /// The signal every rank agreed to stop for after this step (ranks vote in the step's
    /// allreduce, so all stop at the same step), nil to go on.
    var stopSignal: Int32? { comm.size > 1 ? (stopVotes > 0 ? (StopSignal.pending ?? SIGTERM) : nil) : StopSignal.pending }
    /// Ranks that had received a stop signal by the last step.
    var stopVotes = 0.0

    /// Writes a checkpoint and ends the run with `TrainError.interrupted`.
    func stop(by sig: Int32) throws -> Never {
        try saveCheckpoint()
        let name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal \(sig)"
        throw TrainError.interrupted(signal: sig, message: "stopped by \(name) after step \(state.step) (epoch \(state.epoch + 1), batch \(state.batchInEpoch)); checkpoint: \(checkpointPath); to continue, run the same command with --resume")
    }

    /// One optimizer step on the next batch, recorded in `state`; returns its learning rate,
    /// nil when the epoch's batches have run out.
    func trainStep(perEpoch: Int, totalSteps total: Int, progress: Progress) throws -> Float? {
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard let batch = try train.nextBatch() else { return nil }
        let (localLoss, localCorrect) = step(images: batch.images, labels: batch.labels)
        sync.finish()
        afterGradients?(state)
        // Loss and accuracy over the global batch; every rank decides alike on them.
        let local = [Double(localLoss) * Double(batch.labels.count), Double(localCorrect), Double(batch.labels.count),
                     StopSignal.pending == nil ? 0 : 1]
        let g = comm.size > 1 ? comm.allreduceSum(local) : local
        stopVotes = g[3]
        try checkFinite(loss: g[0] / max(g[2], 1))
        let lr = config.learningRate(step: state.step, total: total)
        optimizer.update(model.params, lr: lr)
        state.step += 1
        state.batchInEpoch += 1
        state.lossSum += g[0]
        state.correct += Int(g[1])
        state.seen += Int(g[2])
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        state.epochSeconds += dt
        state.trainSeconds += dt
        state.commSeconds += sync.lastWaitSeconds
        state.totalCommSeconds += sync.lastWaitSeconds
        progress.status = String(format: "loss %.4f lr %.2e comm %.0f ms/step", state.lossSum / Double(max(state.seen, 1)), lr,
                                 1000 * state.commSeconds / Double(max(state.batchInEpoch, 1)))
        progress.advance(by: Int(g[2]))
        if config.checkpointEvery > 0 && state.step % config.checkpointEvery == 0 && state.batchInEpoch < perEpoch {
            try saveCheckpoint()
        }
        try afterStep?(state)
        return lr
    }

    /// Stops the run before a non-finite loss or gradient reaches the weights.
    func checkFinite(loss: Double) throws {
        func at() -> String { "at step \(state.step + 1) (epoch \(state.epoch + 1), batch \(state.batchInEpoch + 1))" }
        guard loss.isFinite else {
            throw TrainError.nonFinite("non-finite loss (\(loss)) \(at()); \(nonFiniteGradients()) \(lastCheckpoint)")
        }
        if let bad = firstNonFiniteGradient() {
            throw TrainError.nonFinite("non-finite gradient in '\(bad)' \(at()); \(lastCheckpoint)")
        }
    }

    /// Checkpoints the trained epoch (so a failed evaluation costs no training), evaluates,
    /// records and logs it, then checkpoints the next epoch's start and exports the model.
    func finishEpoch(perEpoch: Int) throws {
        let root = comm.isRoot, epoch = state.epoch
        state.skippedImages = Int(comm.allreduceSum([Int64(train.skippedImages)])[0])
        try saveCheckpoint()
        let lr = config.learningRate(step: max(state.step - 1, 0), total: totalSteps)
        let val = config.evaluates(afterEpoch: epoch) ? try validate?(step.tape) : nil
        let steps = Double(max(perEpoch, 1))
        var m = EpochMetrics(epoch: epoch, step: state.step, trainLoss: state.lossSum / Double(max(state.seen, 1)),
                             trainAccuracy: Double(state.correct) / Double(max(state.seen, 1)),
                             valTop1: val?.top1, valPerClass: val?.perClass, epochSeconds: state.epochSeconds,
                             trainImagesPerSecond: Double(state.seen) / max(state.epochSeconds, 1e-9),
                             lr: Double(lr), peakRSSMiB: Machine.peakRSSMiB())
        m.ranks = comm.size
        m.allreduceBytesPerStep = sync.bytesPerStep
        m.commSecondsPerStep = state.commSeconds / steps
        m.computeSecondsPerStep = (state.epochSeconds - state.commSeconds) / steps
        history.append(m)
        log(String(format: "epoch %d/%d: train loss %.4f acc %.2f%%", epoch + 1, config.epochs, m.trainLoss, 100 * m.trainAccuracy)
            + (val.map { String(format: ", val top-1 %.2f%%", 100 * $0.top1) } ?? "")
            + String(format: ", %.1f img/s, %@; allreduce %d bytes/step, comm %.1f ms/step, compute %.0f ms/step",
                     m.trainImagesPerSecond, Progress.clock(m.epochSeconds), m.allreduceBytesPerStep,
                     1000 * m.commSecondsPerStep, 1000 * m.computeSecondsPerStep))
        if root { try writeHistory() }
        state.epoch += 1
        state.batchInEpoch = 0; state.lossSum = 0; state.correct = 0; state.seen = 0; state.epochSeconds = 0; state.commSeconds = 0
        try saveCheckpoint()
        if root && state.epoch < config.epochs { try exportModel() }
    }

    /// Where to resume from after a failure: the last good checkpoint, if one was written.
    var lastCheckpoint: String {
        FileManager.default.fileExists(atPath: checkpointPath) ? "the last good checkpoint is \(checkpointPath)"
            : "no checkpoint was written yet (\(checkpointPath) does not exist)"
    }

    func firstNonFiniteGradient() -> String? {
        let g = model.params.grads
        // One SIMD pass per step; a NaN or ±inf anywhere makes the sum non-finite (an
        // overflowing sum of finite values only costs the exact scan below).
        if rowSum(g, model.params.trainableCount).isFinite { return nil }
        for e in model.params.entries where e.trainable {
            for i in 0..<e.count where !g[e.offset + i].isFinite { return e.name }
        }
        return nil
    }

    func nonFiniteGradients() -> String {
        firstNonFiniteGradient().map { "first non-finite gradient in '\($0)';" } ?? ""
    }

    func writeHistory() throws {
        let lines = try history.map { try JSONFile.line($0) }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: outDir + "/metrics.jsonl")
    }

    /// `model.safetensors` + `config.json`, and for LoRA the peft adapter under `adapter/`.
    public func exportModel() throws {
        try Export.timmModel(model, to: outDir, classNames: classNames)
        if case .lora(let l) = model.mode { try Export.peftAdapter(model, lora: l, to: outDir + "/adapter") }
    }

    /// `summary.json`: the run's record (RunSummary).
    func writeSummary() throws {
        let adapterParams = model.params.entries.filter { $0.name.contains("lora_") }.reduce(0) { $0 + $1.count }
        let images = state.step * config.batchSize, steps = Double(max(state.step, 1))
        let summary = RunSummary(
            mode: config.mode, config: config, epochs: history.count, steps: state.step,
            trainableParams: model.params.trainableCount, totalParams: model.params.count - adapterParams,
            adapterParams: adapterParams, trainSeconds: state.trainSeconds,
            trainImagesPerSecond: Double(images) / max(state.trainSeconds, 1e-9), learningRate: config.learningRate,
            peakRSSMiB: Machine.peakRSSMiB(), ranks: comm.size, threadsPerRank: Parallel.threads, overlap: config.overlap,
            allreduceBytesPerStep: sync.bytesPerStep, commSeconds: state.totalCommSeconds,
            commSecondsPerStep: state.totalCommSeconds / steps,
            computeSecondsPerStep: (state.trainSeconds - state.totalCommSeconds) / steps,
            skippedImages: state.skippedImages, machine: Machine.describe(), gitCommit: gitCommit,
            finalValTop1: history.last?.valTop1, finalValPerClass: history.last?.valPerClass,
            bestValTop1: history.compactMap(\.valTop1).max())
        try JSONFile.write(summary, to: outDir + "/summary.json")
    }
}
