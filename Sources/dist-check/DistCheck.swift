import ArgumentParser
import Foundation
import WoofCore
import WoofModel
import WoofDist
import WoofTrain
import WoofIO

/// The MPI test harness: a few training steps of a tiny ViT on synthetic data under the
/// real trainer and gradient allreduce (the same result for any rank count, broadcast at
/// the start, a rank that dies ends the job). Run by `WoofDistTests` under mpirun.
@main
struct DistCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dist-check", abstract: "Train a tiny ViT on synthetic data for a few steps (the MPI tests' harness).")
    @Option var mode = "full"
    @Option(help: "A tiny timm ViT (the golden tiny_vit.safetensors).") var weights: String
    @Option var epochs = 2
    @Option var batchSize = 8
    @Option var images = 32
    @Flag var noOverlap = false
    @Flag(help: "Initialise each rank differently (the start-up broadcast must fix it).") var seedByRank = false
    @Option(help: "This rank kills itself with SIGKILL after --die-step steps.") var dieRank = -1
    @Option var dieStep = 0
    @Option(help: "Rank 0 writes the final parameters here.") var out = ""
    @Option(help: "The trainer's output directory (checkpoints); temporary if empty.") var runDir = ""
    @Option var checkpointEvery = 0
    @Flag var resume = false
    @Option(help: "This rank throws an error after --fail-step steps.") var failRank = -1
    @Option var failStep = 0
    @Option(help: "This rank perturbs a frozen weight before the start check.") var corruptRank = -1
    @Option(help: "A NaN is put into a gradient at this step (1-based).") var nanStep = -1
    @Option(help: "This rank sends itself SIGTERM after --signal-step steps.") var signalRank = -1
    @Option(help: "This rank stops itself (SIGSTOP) after --stop-step steps.") var stopRank = -1
    @Option var stopStep = 0
    @Option(help: "Seconds a rank may wait in one collective (the trainer's --rank-timeout).") var rankTimeout = 600.0
    @Option var signalStep = 0

    func run() throws {
        let comm = Communicator.world
        do { try train(comm) } catch TrainError.interrupted(let sig, let message) {
            if comm.isRoot { log(message) }
            comm.finalize()
            throw ExitCode(StopSignal.exitStatus(sig))
        } catch {
            FileHandle.standardError.write(Data("error: rank \(comm.rank) of \(comm.size) failed: \(error)\n".utf8))
            if comm.size > 1 { comm.abort(code: 1) }
            throw ExitCode(1)
        }
        comm.finalize()
    }

    func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// The tiny ViT's architecture, read off its weights (heads from the file's metadata).
    static func architecture(of file: SafeTensorsFile, path: String) throws -> ViTConfig {
        guard let pos = file["pos_embed"], let pe = file["patch_embed.proj.weight"], let head = file["head.weight"] else {
            throw TrainError.invalidOption("\(path): not a timm ViT file")
        }
        struct Metadata: Decodable { var num_heads: Int? }
        let heads = file.metadata["config"].flatMap { try? JSONDecoder().decode(Metadata.self, from: Data($0.utf8)) }?.num_heads ?? 1
        let dim = pe.shape[0], patch = pe.shape[2], grid = Int(Double(pos.shape[1] - 1).squareRoot())
        let depth = file.names.filter { $0.hasSuffix(".norm1.weight") }.count
        return ViTConfig(imgSize: grid * patch, patchSize: patch, embedDim: dim, depth: depth, numHeads: heads,
                         numClasses: head.shape[0])
    }

    var trainConfig: TrainConfig {
        var cfg = TrainConfig()
        cfg.mode = mode; cfg.epochs = epochs; cfg.batchSize = batchSize; cfg.overlap = !noOverlap
        cfg.loraRank = 4; cfg.loraAlpha = 8; cfg.lr = mode == "lora" ? 3e-3 : 1e-3; cfg.warmup = 0.1
        cfg.checkpointEvery = checkpointEvery; cfg.rankTimeout = rankTimeout
        return cfg
    }

    func train(_ comm: Communicator) throws {
        let file = try SafeTensorsFile(path: weights)
        let vit = try Self.architecture(of: file, path: weights)
        let cfg = trainConfig
        try cfg.validate()
        guard batchSize % comm.size == 0 else { throw TrainError.invalidOption("batch \(batchSize) not divisible by \(comm.size) ranks") }
        Parallel.configure(threads: 1)
        let seed: UInt64 = seedByRank ? UInt64(100 + comm.rank) : 100
        let model = try VisionTransformer(config: vit, mode: cfg.trainMode, seed: seed)
        try model.loadWeights(file, replaceHead: true)
        model.reinitializeHead(seed: seed)
        let source = SyntheticShard(config: vit, count: images, globalBatch: batchSize, rank: comm.rank, ranks: comm.size)
        let dir = runDir.isEmpty ? NSTemporaryDirectory() + "woof-distcheck-\(getpid())" : runDir
        let trainer = Trainer(config: cfg, model: model, train: source, classNames: (0..<vit.numClasses).map(String.init),
                              validate: nil, outDir: dir, comm: comm)
        trainer.showProgress = false
        trainer.log = comm.isRoot ? log : { _ in }
        injectFaults(into: trainer, comm: comm)
        StopSignal.install()
        if resume { _ = try trainer.resume() }
        let initial = Array(UnsafeBufferPointer(start: model.params.values, count: model.params.count))
        try trainer.run()
        guard comm.isRoot else { return }
        if runDir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
        if !out.isEmpty { try writeParameters(trainer, initial: initial, comm: comm) }
    }

    /// The options' simulated crashes, failures, corrupt weights and NaN gradients.
    func injectFaults(into trainer: Trainer, comm: Communicator) {
        struct InjectedFailure: Error, CustomStringConvertible { let step: Int; var description: String { "injected failure at step \(step)" } }
        let model = trainer.model
        let (dieRank, dieStep, failRank, failStep, nanStep) = (dieRank, dieStep, failRank, failStep, nanStep)
        let (signalRank, signalStep, stopRank, stopStep) = (signalRank, signalStep, stopRank, stopStep)
        let log = self.log
        trainer.afterStep = { s in
            if comm.rank == dieRank && s.step == dieStep {
                log("rank \(comm.rank): simulating a crash (SIGKILL) after step \(s.step)")
                kill(getpid(), SIGKILL)
            }
            if comm.rank == failRank && s.step == failStep { throw InjectedFailure(step: s.step) }
            if comm.rank == signalRank && s.step == signalStep { raise(SIGTERM) }
            if comm.rank == stopRank && s.step == stopStep { raise(SIGSTOP) }
        }
        trainer.afterGradients = { s in
            if s.step + 1 == nanStep, let e = model.params.entries.first(where: { $0.trainable && $0.name.contains("fc1") }) {
                model.params.grads[e.offset + 1] = .nan
            }
        }
        if comm.rank == corruptRank, let e = model.params.entries.first(where: { !$0.trainable }) {
            model.params.values[e.offset] += 1e-3
        }
    }

    /// The final and initial parameters, with the run's facts as metadata, for the tests.
    func writeParameters(_ trainer: Trainer, initial: [Float], comm: Communicator) throws {
        let p = trainer.model.params
        try SafeTensorsFile.write(["values": NamedTensor(shape: [p.count], data: Array(UnsafeBufferPointer(start: p.values, count: p.count))),
                                   "initial": NamedTensor(shape: [p.count], data: initial)],
                                  metadata: ["ranks": String(comm.size), "bytes_per_step": String(trainer.sync.bytesPerStep),
                                             "trainable": String(p.trainableCount), "buckets": String(trainer.sync.buckets.count),
                                             "final_loss": String(trainer.history.last?.trainLoss ?? .nan)],
                                  to: out)
    }
}
