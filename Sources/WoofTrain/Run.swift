import Foundation
import WoofCore
import WoofModel
import WoofData
import WoofDist
import WoofIO

/// The pretrained weights file: `--weights FILE`, else `$WOOF_WEIGHTS`, else
/// `weights/model.safetensors` (downloaded by `make weights`), else the shared copy.
public func resolveWeights(explicit: String?) -> String {
    if let e = explicit, !e.isEmpty { return e }
    if let e = ProcessInfo.processInfo.environment["WOOF_WEIGHTS"], !e.isEmpty { return e }
    let local = "weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"
    if FileManager.default.fileExists(atPath: local) { return local }
    return "../shared/weights/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors"
}

/// Builds the pretrained ViT-Ti for fine-tuning: timm weights and a 10-class head, fresh
/// from `seed` (`headInit` "random") or the pretrained ImageNet head's rows of the ten
/// ImageWoof classes ("imagenet": the model starts at the zero-shot baseline).
public func pretrainedForFineTuning(weights: String, mode: TrainMode, classes: Int, seed: UInt64,
                                    headInit: String = "random", headFrom: String? = nil) throws -> VisionTransformer {
    let model = try VisionTransformer(config: .vitTiny(numClasses: classes), mode: mode, seed: seed)
    let file = try SafeTensorsFile(path: weights)
    try model.loadWeights(file, replaceHead: true)
    model.reinitializeHead(seed: seed)
    if headInit == "imagenet" {
        guard classes == ImageWoof.imageNetIndices.count, let w = file["head.weight"], let b = file["head.bias"],
              w.shape == [1000, model.config.embedDim], b.shape == [1000] else {
            throw TrainError.invalidOption("--head-init imagenet needs a 1000 × \(model.config.embedDim) ImageNet head in \(weights) (has \(file["head.weight"]?.shape.description ?? "none")) and the ten ImageWoof classes (the data has \(classes))")
        }
        let d = w.shape[1]
        var hw: [Float] = [], hb: [Float] = []
        for idx in ImageWoof.imageNetIndices { hw += w.data[(idx * d)..<((idx + 1) * d)]; hb.append(b.data[idx]) }
        model.params.set("head.weight", hw)
        model.params.set("head.bias", hb)
    }
    if let headFrom {
        // LP-FT: the head trained by the linear probe.
        let probe = try SafeTensorsFile(path: headFrom)
        let w = try probe.tensor("head.weight"), b = try probe.tensor("head.bias")
        guard w.shape == model.params["head.weight"].shape, b.count == classes else {
            throw TrainError.invalidOption("\(headFrom): its head \(w.shape) does not fit a \(classes)-class model")
        }
        model.params.set("head.weight", w.data)
        model.params.set("head.bias", b.data)
    }
    return model
}

/// Loads a model for evaluation: a timm file of any class count (1000 or 10), ViT-Ti shaped.
public func modelForEvaluation(weights: String) throws -> VisionTransformer {
    try modelForEvaluation(SafeTensorsFile(path: weights))
}

/// A frozen ViT-Ti holding a timm state dict (a file, or bytes made in memory), its class
/// count taken from the head.
public func modelForEvaluation(_ file: SafeTensorsFile) throws -> VisionTransformer {
    guard let head = file["head.weight"], head.shape.count == 2 else {
        throw ModelError.weights(path: file.path, problems: ["no 2-D 'head.weight': not a timm ViT classifier"])
    }
    let model = try VisionTransformer(config: .vitTiny(numClasses: head.shape[0]), mode: .frozen)
    try model.loadWeights(file)
    return model
}

/// A run stops once more than this fraction of a rank's training images proved unreadable
/// (each is skipped with a warning until then): beyond it the data is broken, not noisy.
public let maxUnreadableTrainingFraction = 0.05

/// Compute threads per rank by default: the cores shared among the ranks on this node.
public func defaultThreadsPerRank(_ comm: Communicator = .world) -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
}

/// The run's training images (less those held out, then the first `limit`) and val images.
func trainingData(_ cfg: TrainConfig, root: DataRoot, log: (String) -> Void) throws -> (train: ImageFolder, val: ImageFolder) {
    var trainSet = try ImageFolder(root: root.path, split: "train")
    var valSet = try ImageFolder(root: root.path, split: "val")
    if let n = cfg.holdOut {
        trainSet = try trainSet.holdingOut(perClass: n).kept
        log("data: \(n) training images per class held out (the selection split of soup --greedy), not trained on")
    }
    if let l = cfg.limit { trainSet = trainSet.limited(to: l) }
    if let l = cfg.evalLimit { valSet = valSet.limited(to: l) }
    log("data: \(root.path) (from \(root.source.rawValue)): \(trainSet.count) train, \(valSet.count) val images, \(trainSet.classes.count) classes")
    return (trainSet, valSet)
}

/// `woof-dist train`: resolves data and weights, builds the model and this rank's loaders,
/// trains. Under `mpirun -np N` each rank takes batch/N images of its shard per step.
public func runTraining(_ config: TrainConfig, resume: Bool, log rawLog: @escaping (String) -> Void) throws {
    guard config.linearProbeEpochs > 0, config.mode != "head" else {
        return try runTrainingPhase(config, resume: resume, headFrom: nil, log: rawLog)
    }
    // LP-FT: phase 1 trains the head alone into <out>/linear_probe (skipped once done),
    // phase 2 fine-tunes from the probed head.
    let out = config.out.isEmpty ? "output/\(config.mode)_model" : config.out
    var probe = config
    probe.mode = "head"; probe.epochs = config.linearProbeEpochs; probe.lr = 1e-3; probe.out = out + "/linear_probe"
    probe.linearProbeEpochs = 0; probe.layerDecay = 1
    if !FileManager.default.fileExists(atPath: probe.out + "/summary.json") {
        if Communicator.world.isRoot { rawLog("LP-FT phase 1: linear probe (head only) for \(probe.epochs) epochs → \(probe.out)") }
        try runTrainingPhase(probe, resume: resume || FileManager.default.fileExists(atPath: probe.out + "/checkpoint.safetensors"),
                             headFrom: nil, log: rawLog)
    }
    if Communicator.world.isRoot { rawLog("LP-FT phase 2: \(config.mode) fine-tuning from the probed head") }
    var main = config
    main.out = out
    try runTrainingPhase(main, resume: resume, headFrom: probe.out + "/model.safetensors", log: rawLog)
}

func runTrainingPhase(_ config: TrainConfig, resume: Bool, headFrom: String?, log rawLog: @escaping (String) -> Void) throws {
    let comm = Communicator.world
    let log: (String) -> Void = comm.isRoot ? rawLog : { _ in }
    try config.validate()
    guard config.batchSize % comm.size == 0 else {
        throw TrainError.invalidOption("--batch-size \(config.batchSize) is not divisible by the \(comm.size) ranks")
    }
    try config.checkMemory(perRankBatch: config.batchSize / comm.size, ranksOnNode: comm.localSize)
    Parallel.configure(threads: config.threads)
    let root = resolveDataRoot(explicit: config.data.isEmpty ? nil : config.data)
    var cfg = config
    cfg.data = root.path
    cfg.weights = resolveWeights(explicit: config.weights.isEmpty ? nil : config.weights)
    cfg.out = config.out.isEmpty ? "output/\(config.mode)_model" : config.out
    let (trainSet, valSet) = try trainingData(cfg, root: root, log: log)
    cfg.weightsFingerprint = try weightsFingerprint(cfg.weights)
    cfg.dataFingerprint = Fingerprint.list(trainSet.samples.map(\.relativePath))
    let model = try pretrainedForFineTuning(weights: cfg.weights, mode: cfg.trainMode, classes: trainSet.classes.count,
                                            seed: cfg.seed, headInit: cfg.headInit, headFrom: headFrom)
    log("model: ViT-Ti/16 from \(cfg.weights), \(cfg.mode) fine-tuning, \(model.params.trainableCount) trainable of \(model.params.count) parameters, head \(headFrom.map { "from \($0)" } ?? "init " + cfg.headInit)\(cfg.layerDecay < 1 ? ", layer decay \(cfg.layerDecay)" : "")")
    log("ranks: \(comm.size) (\(comm.localSize) on this node), \(Parallel.threads) compute threads per rank, gradient allreduce \(cfg.overlap ? "overlapped with the backward pass" : "blocking after the backward pass")")

    let lock = try prepareOutputDirectory(cfg.out, resume: resume, comm: comm)
    try checkReadable(valSet, split: "val", rank: comm.rank, of: comm.size, log: log)
    defer { withExtendedLifetime(lock) {} }
    let perRank = cfg.batchSize / comm.size
    let trainLoader = BatchLoader(dataset: trainSet, batchSize: perRank, mode: .train(seed: cfg.seed),
                                  workers: cfg.loaderWorkers, prefetch: 2, rank: comm.rank, worldSize: comm.size,
                                  warn: { rawLog("rank \(comm.rank): \($0)") })
    trainLoader.maxSkippedFraction = maxUnreadableTrainingFraction
    let valLoader = BatchLoader(dataset: valSet, batchSize: perRank, mode: .eval, workers: cfg.loaderWorkers, prefetch: 2,
                                rank: comm.rank, worldSize: comm.size)
    var lastEvaluation: EvalResult?
    let trainer = Trainer(config: cfg, model: model, train: trainLoader, classNames: trainSet.classes,
                          validate: { tape in
                              let p = Progress("  val", total: valLoader.order(epoch: 0).count)
                              p.enabled = comm.isRoot
                              lastEvaluation = try evaluate(model: model, loader: valLoader, progress: p, comm: comm, tape: tape)
                              return lastEvaluation!
                          }, outDir: cfg.out, comm: comm)
    trainer.log = log
    StopSignal.install()
    if resume, try !trainer.resume() { log("--resume: no checkpoint in \(cfg.out), starting from the beginning") }
    log("training: \(cfg.epochs) epochs × \(trainLoader.batchesPerEpoch) steps of \(cfg.batchSize) (\(perRank) per rank), lr \(cfg.learningRate), warm-up \(cfg.warmup), weight decay \(cfg.weightDecay)")
    try trainer.run()
    // The last epoch always evaluates: on the whole val split, that evaluation is the final
    // model's, and its predictions are written instead of evaluating the model again.
    if let final = lastEvaluation, cfg.evalLimit == nil {
        try FinalEvaluation.write(final, dataset: valSet, to: cfg.out, comm: comm)
        log("done: \(cfg.out)/model.safetensors, metrics.jsonl, summary.json, val_predictions.csv")
    } else {
        log("done: \(cfg.out)/model.safetensors, metrics.jsonl, summary.json")
    }
}

/// Refuses to start a second run into a directory that holds one (unless resuming) or a
/// finished model, makes sure the directory exists and is writable, and locks it for this
/// run (rank 0). Temp files of writes a killed run left behind are removed.
func prepareOutputDirectory(_ out: String, resume: Bool, comm: Communicator) throws -> RunDirectoryLock? {
    let fm = FileManager.default
    let hasCheckpoint = fm.fileExists(atPath: out + "/checkpoint.safetensors")
    if !resume && hasCheckpoint {
        throw TrainError.invalidOption("\(out) already holds a run (checkpoint.safetensors): pass --resume to continue it, or choose another --out")
    }
    if !hasCheckpoint && fm.fileExists(atPath: out + "/model.safetensors") {
        throw TrainError.invalidOption("\(out) holds a finished model (model.safetensors) and no checkpoint to resume: choose another --out, or move the model away to train again")
    }
    guard comm.isRoot else { return nil }
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: out, isDirectory: &isDir), !isDir.boolValue {
        throw TrainError.io("\(out): --out is a file, not a directory")
    }
    do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
        throw TrainError.io("\(out): cannot create the output directory (\(String(cString: strerror(errno))))")
    }
    guard fm.isWritableFile(atPath: out) else { throw TrainError.io("\(out): output directory is not writable") }
    let lock = try RunDirectoryLock(directory: out)
    RunDirectoryLock.removeStaleTempFiles(in: out)
    return lock
}

/// The fingerprint of a readable weights file; a missing file or a directory is named.
public func weightsFingerprint(_ path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
          FileManager.default.isReadableFile(atPath: path) else {
        throw TrainError.invalidOption("\(path): weights file not found, unreadable or a directory (use --weights FILE or run `make weights`)")
    }
    return try Fingerprint.file(path)
}

/// Decodes every image of this rank's share of `set` before training, so an unreadable
/// validation image stops the run now, not after an epoch of training.
func checkReadable(_ set: ImageFolder, split: String, rank: Int, of ranks: Int, log: (String) -> Void) throws {
    let t0 = Date()
    let mine = Array(stride(from: rank, to: set.count, by: ranks))
    final class Failures: @unchecked Sendable { let lock = NSLock(); var list: [String] = [] }
    let failures = Failures()
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        for i in stride(from: worker, to: mine.count, by: workers) {
            do { _ = try decodeJPEG(path: set.path(of: mine[i])) } catch {
                failures.lock.lock(); failures.list.append("\(error)"); failures.lock.unlock()
            }
        }
    }
    guard failures.list.isEmpty else {
        throw TrainError.io("\(split): \(failures.list.count) unreadable image(s), first \(failures.list.sorted()[0]); fix or remove them before training (evaluation would fail after the first epoch)")
    }
    log(String(format: "\(split): %d images decode%@ (%.1f s)", mine.count, ranks > 1 ? " (this rank's share)" : "", Date().timeIntervalSince(t0)))
}
