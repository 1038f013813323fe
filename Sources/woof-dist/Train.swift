import ArgumentParser
import Foundation
import WoofModel
import WoofTrain
import WoofAnalysis
import WoofDist

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune ViT-Ti/16 on ImageWoof (full or LoRA); the default command.")

    @Option(help: "full: every weight trains; lora: low-rank adapters + head, the rest frozen.")
    var mode: String = "full"
    @Option(help: "Passes over the training set.")
    var epochs: Int = 5
    @Option(help: "Global batch size (images per optimizer step).")
    var batchSize: Int = 32
    @Option(help: "Peak learning rate (default 1e-4 for full, 1e-3 for LoRA).")
    var lr: Double?
    @Option(help: "AdamW decoupled weight decay, on weight matrices only.")
    var weightDecay: Double = 0.05
    @Option(help: "Fraction of all steps spent in linear warm-up before the cosine decay.")
    var warmup: Double = 0.05
    @OptionGroup var lora: LoRAOptions
    @Option(help: "Label smoothing of the cross-entropy.")
    var labelSmoothing: Double = 0
    @Option(help: "Head initialisation: random (trunc-normal σ .02) or imagenet (the pretrained head's rows of the ten classes).")
    var headInit: String = "random"
    @Option(help: "Layer-wise lr decay d (BEiT): block i trains at lr·d^(12−i), embeddings at lr·d^13; 1 = off.")
    var layerDecay: Double = 1
    @Option(help: "LP-FT: first train only the head for K epochs (lr 1e-3, into <out>/linear_probe), then --mode from it.")
    var linearProbeEpochs: Int = 0
    @Option(help: "Data root with train/ and val/ (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Pretrained timm weights (default: $WOOF_WEIGHTS, weights/…, ../shared/weights/…).")
    var weights: String?
    @Option(help: "Output directory (default output/full_model or output/lora_model).")
    var out: String?
    @Option(help: "Seed of the head initialisation, data order and augmentation.")
    var seed: UInt64 = 0
    @Option(help: "Train on the first N training images only (sorted path order).")
    var limit: Int?
    @Option(help: "Keep N training images per class out of training (chosen by a hash of their paths): the selection split of `soup --greedy`.")
    var holdOut: Int?
    @Option(help: "Evaluate on the first N validation images only.")
    var evalLimit: Int?
    @Option(help: "Evaluate on val after every N-th epoch (the last epoch always).")
    var evalEvery: Int = 1
    @Option(help: "Under MPI: seconds a rank may wait in one collective before it ends the job, naming itself (0: never).")
    var rankTimeout: Double = TrainConfig.defaultRankTimeout
    @Option(help: "Also checkpoint every N optimizer steps (0: at epoch ends only).")
    var checkpointEvery: Int = 0
    @Option(help: "Compute threads per rank (default: cores / ranks on this node).")
    var threads: Int?
    @Option(help: "Background threads decoding images.")
    var loaderWorkers: Int = 2
    @Flag(help: "Continue the run in --out from its checkpoint.")
    var resume = false
    @Flag(help: "Allreduce gradients in one blocking call after the backward pass instead of overlapping bucketed allreduces with it.")
    var noOverlap = false

    func config() -> TrainConfig {
        var c = TrainConfig()
        c.mode = mode; c.epochs = epochs; c.batchSize = batchSize; c.lr = lr; c.weightDecay = weightDecay
        c.warmup = warmup; c.loraRank = lora.loraRank; c.loraAlpha = lora.loraAlpha; c.loraTargets = lora.targets
        c.labelSmoothing = labelSmoothing; c.headInit = headInit; c.layerDecay = layerDecay; c.linearProbeEpochs = linearProbeEpochs; c.data = data ?? ""; c.weights = weights ?? ""; c.out = out ?? ""
        c.seed = seed; c.limit = limit; c.holdOut = holdOut; c.evalLimit = evalLimit; c.checkpointEvery = checkpointEvery; c.evalEvery = evalEvery; c.rankTimeout = rankTimeout
        c.threads = threads ?? defaultThreadsPerRank(); c.loaderWorkers = loaderWorkers; c.overlap = !noOverlap
        return c
    }

    // The library validates the options (one place); the CLI only turns its error into usage.
    func validate() throws {
        do { try config().validate(forUser: true) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        try reportingErrors { try runTraining(config(), resume: resume, log: logLine) }
        Communicator.world.finalize()
    }
}
