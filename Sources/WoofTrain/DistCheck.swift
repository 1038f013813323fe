import Foundation
import WoofCore
import WoofModel
import WoofDist

/// A deterministic synthetic training set in memory, sharded like the real loader: rank r
/// of n takes the global batch's elements r, r+n, r+2n, …, so the union over ranks of one
/// step's batches is exactly the single-process batch.
public final class SyntheticShard: BatchSource {
    let perImage: Int, globalBatch: Int, rank: Int, ranks: Int, count: Int, seed: UInt64
    let buffer: UnsafeMutablePointer<Float>
    var cursor = 0
    var epochOrder: [Int] = []

    public init(config: ViTConfig, count: Int, globalBatch: Int, rank: Int, ranks: Int, seed: UInt64 = 11) {
        perImage = config.inChans * config.imgSize * config.imgSize
        self.globalBatch = globalBatch; self.rank = rank; self.ranks = ranks; self.count = count; self.seed = seed
        buffer = .allocate(capacity: (globalBatch / ranks) * perImage)
    }
    deinit { buffer.deallocate() }

    public var batchesPerEpoch: Int { count / globalBatch }
    public var skippedImages: Int { 0 }

    public func startEpoch(_ epoch: Int, fromBatch: Int) {
        var rng = SeededRNG(seed: seed, stream: UInt64(epoch))
        epochOrder = Array(0..<count).shuffled(using: &rng)
        cursor = fromBatch
    }

    /// Image `i`: noise plus a class-dependent offset, label i mod 10.
    func fill(_ dst: UnsafeMutablePointer<Float>, index i: Int) -> Int32 {
        var rng = SeededRNG(seed: seed, stream: 0xDA7A, UInt64(i))
        let label = i % 10
        for c in 0..<perImage { dst[c] = rng.normal() * 0.5 + (c % 10 == label ? 1 : 0) }
        return Int32(label)
    }

    public func nextBatch() throws -> (images: UnsafeMutablePointer<Float>, labels: [Int32])? {
        guard cursor < batchesPerEpoch else { return nil }
        let local = globalBatch / ranks
        var labels: [Int32] = []
        for k in 0..<local {
            let i = epochOrder[cursor * globalBatch + rank + k * ranks]
            labels.append(fill(buffer + k * perImage, index: i))
        }
        cursor += 1
        return (buffer, labels)
    }
}

/// `woof-dist dist-check`: a few training steps of a tiny ViT on synthetic data under the
/// real trainer and gradient allreduce, for the MPI tests (same result for any rank count,
/// broadcast at start, a rank that dies ends the job).
public struct DistCheckOptions {
    public var mode = "full"
    public var weights = ""          // a tiny timm ViT (the golden tiny_vit.safetensors)
    public var epochs = 2
    public var batchSize = 8
    public var images = 32
    public var overlap = true
    public var seedByRank = false    // initialise each rank differently (the broadcast must fix it)
    public var dieRank = -1          // this rank kills itself with SIGKILL after `dieStep` steps
    public var dieStep = 0
    public var out = ""              // rank 0 writes the final parameters here
    public var runDir = ""           // the trainer's output directory (checkpoints); temporary if empty
    public var checkpointEvery = 0
    public var resume = false
    public var failRank = -1         // this rank throws an error after `failStep` steps
    public var failStep = 0
    public var corruptRank = -1      // this rank perturbs a frozen weight before the start check
    public var nanStep = -1          // a NaN is put into a gradient at this step (1-based)
    public init() {}
}

public func runDistCheck(_ o: DistCheckOptions, log: @escaping (String) -> Void) throws {
    let comm = Communicator.world
    let file = try SafeTensorsFile(path: o.weights)
    guard let pos = file["pos_embed"], let pe = file["patch_embed.proj.weight"], let head = file["head.weight"] else {
        throw TrainError.invalidOption("\(o.weights): not a timm ViT file")
    }
    let dim = pe.shape[0], patch = pe.shape[2], grid = Int(Double(pos.shape[1] - 1).squareRoot())
    let depth = file.names.filter { $0.hasSuffix(".norm1.weight") }.count
    var heads = 1
    if let json = file.metadata["config"].flatMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }),
       let h = json["num_heads"] as? Int { heads = h }
    let vit = ViTConfig(imgSize: grid * patch, patchSize: patch, embedDim: dim, depth: depth, numHeads: heads,
                        numClasses: head.shape[0])
    var cfg = TrainConfig()
    cfg.mode = o.mode; cfg.epochs = o.epochs; cfg.batchSize = o.batchSize; cfg.overlap = o.overlap
    cfg.loraRank = 4; cfg.loraAlpha = 8; cfg.lr = o.mode == "lora" ? 3e-3 : 1e-3; cfg.warmup = 0.1
    cfg.checkpointEvery = o.checkpointEvery
    try cfg.validate()
    guard o.batchSize % comm.size == 0 else { throw TrainError.invalidOption("batch \(o.batchSize) not divisible by \(comm.size) ranks") }
    Parallel.configure(threads: 1)
    let seed: UInt64 = o.seedByRank ? UInt64(100 + comm.rank) : 100
    let model = try VisionTransformer(config: vit, mode: cfg.trainMode, seed: seed)
    try model.loadWeights(file, replaceHead: true)
    model.reinitializeHead(seed: seed)
    let source = SyntheticShard(config: vit, count: o.images, globalBatch: o.batchSize, rank: comm.rank, ranks: comm.size)
    let out = o.runDir.isEmpty ? NSTemporaryDirectory() + "woof-distcheck-\(getpid())" : o.runDir
    let trainer = Trainer(config: cfg, model: model, train: source, classNames: (0..<vit.numClasses).map(String.init),
                          validate: nil, outDir: out, comm: comm)
    trainer.showProgress = false
    trainer.log = comm.isRoot ? log : { _ in }
    struct InjectedFailure: Error, CustomStringConvertible { let step: Int; var description: String { "injected failure at step \(step)" } }
    trainer.afterStep = { s in
        if comm.rank == o.dieRank && s.step == o.dieStep {
            log("rank \(comm.rank): simulating a crash (SIGKILL) after step \(s.step)")
            kill(getpid(), SIGKILL)
        }
        if comm.rank == o.failRank && s.step == o.failStep { throw InjectedFailure(step: s.step) }
    }
    trainer.afterGradients = { s in
        if s.step + 1 == o.nanStep, let e = model.params.entries.first(where: { $0.trainable && $0.name.contains("fc1") }) {
            model.params.grads[e.offset + 1] = .nan
        }
    }
    if comm.rank == o.corruptRank, let e = model.params.entries.first(where: { !$0.trainable }) {
        model.params.values[e.offset] += 1e-3
    }
    if o.resume { _ = try trainer.resume() }
    let initial = Array(UnsafeBufferPointer(start: model.params.values, count: model.params.count))
    try trainer.run()
    if comm.isRoot {
        if o.runDir.isEmpty { try? FileManager.default.removeItem(atPath: out) }
        if !o.out.isEmpty {
            let p = model.params
            try SafeTensorsFile.write(["values": NamedTensor(shape: [p.count], data: Array(UnsafeBufferPointer(start: p.values, count: p.count))),
                                       "initial": NamedTensor(shape: [p.count], data: initial)],
                                      metadata: ["ranks": String(comm.size), "bytes_per_step": String(trainer.sync.bytesPerStep),
                                                 "trainable": String(p.trainableCount), "buckets": String(trainer.sync.buckets.count),
                                                 "final_loss": String(trainer.history.last?.trainLoss ?? .nan)],
                                      to: o.out)
        }
    }
}
