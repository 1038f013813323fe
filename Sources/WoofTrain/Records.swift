import Foundation
import WoofCore
import WoofIO

// The records a run writes and the analysis reads back, each a `Codable` type with a
// `version` (files from before versions read as version 1). `JSONFile` reads and writes
// them; a missing or mistyped field fails as `<path>: <field>: <problem>`.

extension TrainConfig: VersionedRecord {
    public static let currentVersion = 1
}

/// One epoch's line of `metrics.jsonl`.
public struct EpochMetrics: VersionedRecord {
    public static let currentVersion = 1
    @RecordVersion<EpochMetrics> public var version = EpochMetrics.currentVersion
    public var epoch: Int
    public var step: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// Absent for an epoch without evaluation (`--eval-every`).
    public var valTop1: Double?
    public var valPerClass: [Double]?
    public var epochSeconds: Double
    public var trainImagesPerSecond: Double
    public var lr: Double
    public var peakRSSMiB: Double
    public var ranks: Int = 1
    /// Gradient bytes allreduced per step, and seconds per step spent waiting for them and
    /// computing (forward + backward + optimizer).
    public var allreduceBytesPerStep: Int = 0
    public var commSecondsPerStep: Double = 0
    public var computeSecondsPerStep: Double = 0

    enum CodingKeys: String, CodingKey {
        case version, epoch, step, lr, ranks
        case allreduceBytesPerStep = "allreduce_bytes_per_step", commSecondsPerStep = "comm_s_per_step"
        case computeSecondsPerStep = "compute_s_per_step"
        case trainLoss = "train_loss", trainAccuracy = "train_acc", valTop1 = "val_top1", valPerClass = "val_per_class"
        case epochSeconds = "epoch_seconds", trainImagesPerSecond = "train_img_per_s", peakRSSMiB = "peak_rss_mib"
    }
}

/// A finished training run's `summary.json`: what was trained, how it did, what it cost.
public struct RunSummary: VersionedRecord, Equatable {
    public static let currentVersion = 1
    @RecordVersion<RunSummary> public var version = RunSummary.currentVersion
    public var mode: String
    public var config: TrainConfig
    /// Epochs trained and optimizer steps taken.
    public var epochs: Int
    public var steps: Int
    public var trainableParams: Int
    /// Parameters of the model as exported (LoRA's adapters merged, so not counted).
    public var totalParams: Int
    public var adapterParams: Int
    /// Wall time spent training (evaluation excluded), and training images per second.
    public var trainSeconds: Double
    public var trainImagesPerSecond: Double
    public var learningRate: Double
    public var peakRSSMiB: Double
    public var ranks: Int
    public var threadsPerRank: Int
    public var overlap: Bool
    public var allreduceBytesPerStep: Int
    /// Seconds blocked in the gradient allreduce (all steps, and per step), and computing per step.
    public var commSeconds: Double
    public var commSecondsPerStep: Double
    public var computeSecondsPerStep: Double
    public var skippedImages: Int
    public var machine: MachineInfo
    /// The commit checked out when the run started; `null` outside a git checkout.
    @ExplicitNull public var gitCommit: String? = nil
    /// The last evaluation's top-1 and per-class accuracy, and the best epoch's top-1; absent
    /// when the run never evaluated.
    public var finalValTop1: Double?
    public var finalValPerClass: [Double]?
    public var bestValTop1: Double?

    enum CodingKeys: String, CodingKey {
        case version, mode, config, epochs, steps, ranks, overlap, machine
        case trainableParams = "trainable_params", totalParams = "total_params", adapterParams = "adapter_params"
        case trainSeconds = "train_seconds", trainImagesPerSecond = "train_img_per_s", learningRate = "learning_rate"
        case peakRSSMiB = "peak_rss_mib", threadsPerRank = "threads_per_rank"
        case allreduceBytesPerStep = "allreduce_bytes_per_step", commSeconds = "comm_seconds"
        case commSecondsPerStep = "comm_s_per_step", computeSecondsPerStep = "compute_s_per_step"
        case skippedImages = "skipped_images", gitCommit = "git_commit"
        case finalValTop1 = "final_val_top1", finalValPerClass = "final_val_per_class", bestValTop1 = "best_val_top1"
    }
}

/// `woof-dist eval --summary`: accuracy, per-class accuracy and the confusion matrix of one
/// model on one split (the zero-shot baseline's is the paper's reference point).
public struct EvalSummary: VersionedRecord, Equatable {
    public static let currentVersion = 1
    @RecordVersion<EvalSummary> public var version = EvalSummary.currentVersion
    /// The weights file evaluated, and whether the ImageNet head was restricted to the ten classes.
    public var weights: String
    public var zeroShot: Bool
    public var images: Int
    public var correct: Int
    public var top1: Double
    public var perClass: [Double]
    public var classes: [String]
    /// confusion[label][prediction]; predictions outside the classes are `otherPredictions`.
    public var confusion: [[Int]]
    public var imagesPerSecond: Double
    public var otherPredictions: Int
    /// Horizontal-flip test-time augmentation was on (absent in files written before it existed).
    public var flipTTA: Bool?

    enum CodingKeys: String, CodingKey {
        case version, weights, images, correct, top1, classes, confusion
        case zeroShot = "zero_shot", flipTTA = "flip_tta", perClass = "per_class", imagesPerSecond = "img_per_s", otherPredictions = "other_predictions"
    }

    public init(_ result: EvalResult, weights: String, zeroShot: Bool, flipTTA: Bool = false, classNames: [String]) {
        self.weights = weights; self.zeroShot = zeroShot; self.flipTTA = flipTTA
        images = result.images; correct = result.correct; top1 = result.top1; perClass = result.perClass
        classes = classNames; confusion = result.confusion
        imagesPerSecond = result.imagesPerSecond; otherPredictions = result.otherPredictions
    }
}
