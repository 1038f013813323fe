import Foundation
import WoofCore
import WoofModel
import WoofIO

/// Everything that defines a training run (recorded in summary.json and the checkpoint).
public struct TrainConfig: Codable, Equatable {
    /// The record's format (Records.swift); a config without one was written as version 1.
    @RecordVersion<TrainConfig> public var version = TrainConfig.currentVersion
    public var mode: String = "full"                 // full | lora | head (LP-FT's linear probe, set internally)
    public var epochs: Int = 5
    public var batchSize: Int = 32                   // global batch
    public var lr: Double? = nil                     // default: 1e-4 full, 1e-3 LoRA
    public var weightDecay: Double = 0.05
    public var warmup: Double = 0.05                 // fraction of all steps
    public var loraRank: Int = 8
    public var loraAlpha: Double = 16
    public var loraTargets: [String] = LoRAConfig.allTargets
    public var labelSmoothing: Double = 0
    public var seed: UInt64 = 0
    public var limit: Int? = nil                     // first N training images (sorted path order)
    /// Training images per class kept out of training (`ImageFolder.holdingOut`): the split
    /// a greedy soup selects on. Applied before `limit`.
    public var holdOut: Int? = nil
    public var evalLimit: Int? = nil                 // first N validation images
    public var checkpointEvery: Int = 0              // steps; 0 = at epoch ends only
    public var data: String = ""
    public var weights: String = ""
    public var out: String = ""
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    public var loaderWorkers: Int = 2
    /// Overlap the gradient allreduce with the backward pass (bucketed, non-blocking).
    public var overlap: Bool = true
    /// `random` (trunc-normal) or `imagenet` (the pretrained head's rows of the ten classes).
    public var headInit: String = "random"
    /// Layer-wise learning-rate decay (BEiT/MAE): block i trains at lr · d^(depth − i); 1 = off.
    public var layerDecay: Double = 1
    /// LP-FT: first train only the head for this many epochs (lr 1e-3), then `mode` from there.
    public var linearProbeEpochs: Int = 0
    /// Evaluate on val after every N-th epoch (and always after the last).
    public var evalEvery: Int = 1
    /// What the run trains from, so a resume on other weights or data is refused: the
    /// weights file's size and hashes of its header and data, and a hash of the training
    /// file list (set by the run; absent in checkpoints from before they were recorded).
    /// Seconds a rank may wait in one collective before it ends the job (0: never; unset:
    /// `defaultRankTimeout`); see `CollectiveWatchdog`.
    public var rankTimeout: Double? = nil
    public static let defaultRankTimeout = 600.0
    public var effectiveRankTimeout: Double { rankTimeout ?? Self.defaultRankTimeout }
    public var weightsFingerprint: String? = nil
    public var dataFingerprint: String? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case version, mode, epochs, batchSize, lr, weightDecay, warmup, loraRank, loraAlpha, loraTargets, labelSmoothing
        case seed, limit, holdOut, evalLimit, checkpointEvery, data, weights, out, threads, loaderWorkers, overlap
        case headInit, layerDecay, linearProbeEpochs, evalEvery, rankTimeout, weightsFingerprint, dataFingerprint
    }

    // Options added later decode to their defaults, so older checkpoints still resume.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainConfig()
        _version = try c.decode(RecordVersion<TrainConfig>.self, forKey: .version)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? d.mode
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        lr = try c.decodeIfPresent(Double.self, forKey: .lr)
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        warmup = try c.decodeIfPresent(Double.self, forKey: .warmup) ?? d.warmup
        loraRank = try c.decodeIfPresent(Int.self, forKey: .loraRank) ?? d.loraRank
        loraAlpha = try c.decodeIfPresent(Double.self, forKey: .loraAlpha) ?? d.loraAlpha
        loraTargets = try c.decodeIfPresent([String].self, forKey: .loraTargets) ?? d.loraTargets
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing) ?? d.labelSmoothing
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        holdOut = try c.decodeIfPresent(Int.self, forKey: .holdOut)
        evalLimit = try c.decodeIfPresent(Int.self, forKey: .evalLimit)
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? d.checkpointEvery
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? d.data
        weights = try c.decodeIfPresent(String.self, forKey: .weights) ?? d.weights
        out = try c.decodeIfPresent(String.self, forKey: .out) ?? d.out
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
        loaderWorkers = try c.decodeIfPresent(Int.self, forKey: .loaderWorkers) ?? d.loaderWorkers
        overlap = try c.decodeIfPresent(Bool.self, forKey: .overlap) ?? d.overlap
        headInit = try c.decodeIfPresent(String.self, forKey: .headInit) ?? d.headInit
        layerDecay = try c.decodeIfPresent(Double.self, forKey: .layerDecay) ?? d.layerDecay
        linearProbeEpochs = try c.decodeIfPresent(Int.self, forKey: .linearProbeEpochs) ?? d.linearProbeEpochs
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? d.evalEvery
        rankTimeout = try c.decodeIfPresent(Double.self, forKey: .rankTimeout)
        weightsFingerprint = try c.decodeIfPresent(String.self, forKey: .weightsFingerprint)
        dataFingerprint = try c.decodeIfPresent(String.self, forKey: .dataFingerprint)
    }

    /// Whether the epoch `epoch` (0-based) ends with an evaluation.
    public func evaluates(afterEpoch epoch: Int) -> Bool { (epoch + 1) % evalEvery == 0 || epoch + 1 == epochs }

    public var learningRate: Double { lr ?? (mode == "full" ? 1e-4 : 1e-3) }

    public var trainMode: TrainMode {
        switch mode {
        case "lora": return .lora(LoRAConfig(rank: loraRank, alpha: Float(loraAlpha), targets: loraTargets))
        case "head": return .headOnly
        default: return .full
        }
    }

    /// Rejects nonsense before any work starts; messages name the option. `forUser`: the
    /// options as given on the command line, where the internal mode "head" (the linear-probe
    /// phase of LP-FT, `--linear-probe-epochs`) is not one to choose.
    public func validate(forUser: Bool = false) throws {
        func bad(_ s: String) -> TrainError { .invalidOption(s) }
        let modes = forUser ? ["full", "lora"] : ["full", "lora", "head"]
        guard modes.contains(mode) else { throw bad("--mode must be full or lora, not '\(mode)'") }
        guard loaderWorkers > 0 else { throw bad("--loader-workers must be positive") }
        guard linearProbeEpochs >= 0 else { throw bad("--linear-probe-epochs must be ≥ 0") }
        guard epochs > 0, epochs <= Self.maxEpochs else { throw bad("--epochs must be in 1…\(Self.maxEpochs)") }
        guard batchSize > 0 else { throw bad("--batch-size must be a positive integer") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr must be positive") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw bad("--weight-decay must be ≥ 0") }
        guard warmup >= 0, warmup < 1 else { throw bad("--warmup is a fraction of the steps in [0, 1)") }
        guard labelSmoothing >= 0, labelSmoothing < 1 else { throw bad("--label-smoothing must be in [0, 1)") }
        guard threads > 0, threads <= Self.maxThreads else { throw bad("--threads must be in 1…\(Self.maxThreads) (4 × the \(Self.cores) cores)") }
        guard loaderWorkers <= Self.maxThreads else { throw bad("--loader-workers must be at most \(Self.maxThreads) (4 × the \(Self.cores) cores)") }
        guard checkpointEvery >= 0 else { throw bad("--checkpoint-every must be ≥ 0") }
        if let l = limit, l <= 0 { throw bad("--limit must be positive") }
        if let h = holdOut, h <= 0 { throw bad("--hold-out must be a positive number of images per class") }
        guard headInit == "random" || headInit == "imagenet" else { throw bad("--head-init must be random or imagenet, not '\(headInit)'") }
        guard layerDecay > 0, layerDecay <= 1 else { throw bad("--layer-decay must be in (0, 1]") }
        if let l = evalLimit, l <= 0 { throw bad("--eval-limit must be positive") }
        guard effectiveRankTimeout >= 0, effectiveRankTimeout.isFinite else { throw bad("--rank-timeout must be ≥ 0 seconds (0: no limit)") }
        guard evalEvery > 0 else { throw bad("--eval-every must be a positive integer") }
        if mode == "lora", let widest = Self.maxLoRARank(targets: loraTargets), loraRank > widest {
            throw bad("--lora-rank \(loraRank) is above the width of the adapted layers (\(widest)): a rank-r update cannot exceed it")
        }
        if mode == "lora" {
            do { try LoRAConfig(rank: loraRank, alpha: Float(loraAlpha), targets: loraTargets).validate() }
            catch { throw bad("\(error)".replacingOccurrences(of: "invalid model configuration: ", with: "")) }
        }
    }

    static let maxEpochs = 10_000
    static let cores = ProcessInfo.processInfo.activeProcessorCount
    static var maxThreads: Int { 4 * cores }

    /// The largest meaningful LoRA rank for `targets`: the smallest in/out width among them.
    static func maxLoRARank(targets: [String]) -> Int? {
        ViTConfig.vitTiny().denseLayers.filter { targets.contains($0.short) }.map { min($0.inputs, $0.outputs) }.min()
    }

    /// Resident memory a training step needs per image, measured on ViT-Ti (1,433 MiB peak at
    /// batch 32 in full fine-tuning, about 150 MiB of it weights, optimizer and code).
    static let trainingMiBPerImage = 40.0
    static let baseMiB = 150.0

    /// Refuses a batch whose step would need more memory than this machine has, before
    /// anything is allocated. `ranksOnNode` ranks share the machine.
    public func checkMemory(perRankBatch: Int, ranksOnNode: Int) throws {
        let needMiB = Double(ranksOnNode) * (Self.baseMiB + Double(perRankBatch) * Self.trainingMiBPerImage)
        let haveMiB = Double(ProcessInfo.processInfo.physicalMemory) / 1_048_576
        guard needMiB <= haveMiB else {
            let fit = max(0, Int((haveMiB / Double(ranksOnNode) - Self.baseMiB) / Self.trainingMiBPerImage))
            throw TrainError.invalidOption(String(format: "--batch-size %d needs about %.0f GiB for %d rank(s) on this machine, which has %.0f GiB: at most %d images per rank fit",
                                                  batchSize, needMiB / 1024, ranksOnNode, haveMiB / 1024, fit))
        }
    }

    /// Learning rate at optimizer step `step` (0-based) of `total`: linear warm-up over the
    /// first `warmup` fraction, then cosine decay to 0.
    public func learningRate(step: Int, total: Int) -> Float {
        let base = learningRate
        let warm = Int((warmup * Double(total)).rounded())
        if step < warm { return Float(base * Double(step + 1) / Double(warm)) }
        let span = max(1, total - warm)
        let progress = min(1, Double(step - warm) / Double(span))
        return Float(base * 0.5 * (1 + cos(Double.pi * progress)))
    }
}

extension TrainConfig {
    /// Every setting as the option a user types (`--batch-size`) and its value as typed
    /// (`unset` for an absent one): what messages name when two configs differ.
    var options: [(option: String, value: String)] {
        Mirror(reflecting: self).children.compactMap { child in
            guard let label = child.label, !label.hasPrefix("_") else { return nil }   // `_version`
            let option = "--" + label.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1-$2", options: .regularExpression).lowercased()
            let s = "\(child.value)"
            let value = s == "nil" ? "unset" : s.hasPrefix("Optional(") && s.hasSuffix(")") ? String(s.dropFirst(9).dropLast()) : s
            return (option, value)
        }
    }
}

public enum TrainError: Error, CustomStringConvertible {
    case invalidOption(String)
    case nonFinite(String)
    case checkpoint(String)
    case io(String)
    /// Stopped by a signal after writing a checkpoint (the message says how to resume).
    case interrupted(signal: Int32, message: String)

    public var description: String {
        switch self {
        case .invalidOption(let s): return s
        case .nonFinite(let s): return s
        case .checkpoint(let s): return s
        case .io(let s): return s
        case .interrupted(_, let s): return s
        }
    }
}
