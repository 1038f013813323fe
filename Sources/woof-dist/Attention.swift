import ArgumentParser
import Foundation
import WoofCore
import WoofData
import WoofTrain
import WoofAnalysis

struct Attention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Attention maps for the original ViT and the fine-tuned models: the last block's class-token attention (per head, mean, DINO mask), rollout, and gradient-weighted relevance for the true and the predicted class (Chefer et al. 2021); how attention changed (JS divergence, mask IoU); high-norm patch tokens; and a deletion test of each map's faithfulness.")

    @Option(help: "Comma-separated models: `pretrained` (the timm file), a run directory holding model.safetensors, or a safetensors file.")
    var models: String = "pretrained,output/full_model,output/lora_model"
    @Option(parsing: .upToNextOption, help: "JPEG files to draw (default: --per-class images of each val class).")
    var images: [String] = []
    @Option(help: "Without --images: the first K val images of each class (sorted path order).")
    var perClass: Int = 2
    @Option(help: "Data root with train/ and val/ (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?
    @Option(help: "Output directory.")
    var out: String = "output/attention"
    @Option(help: "DINO mask threshold: the fraction of the CLS attention mass the mask keeps.")
    var threshold: Float = 0.6
    @Option(help: "Val images per class for the change metrics (default: all; 0: no metrics).")
    var metricImages: Int?
    @Option(help: "Maps to draw, comma-separated: cls (last block), rollout, gt / pred (gradient-weighted relevance for the true / predicted class).")
    var explain: String = "cls,rollout,gt,pred"
    @Option(help: "Val images (a seeded choice over all classes) for the deletion test of each map's faithfulness; 0: none.")
    var faithfulnessImages: Int = 500
    @Option(help: "Seed of the deletion test's image choice and random orders.")
    var faithfulnessSeed: UInt64 = 0
    @Option(help: "A patch token entering the last block is high-norm above this multiple of the model's median patch norm.")
    var artifactFactor: Double = 2
    @Option(help: "Images per forward pass.")
    var batchSize: Int = 32
    @Option(help: "Pretrained weights file behind `pretrained` (default: weights/ or ../shared/weights).")
    var weights: String?
    @Option(help: "Compute threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard perClass > 0 else { throw ValidationError("--per-class must be positive") }
        guard threshold > 0 && threshold <= 1 else { throw ValidationError("--threshold must be in (0, 1]") }
        if let m = metricImages, m < 0 { throw ValidationError("--metric-images must be ≥ 0") }
        guard faithfulnessImages >= 0 else { throw ValidationError("--faithfulness-images must be ≥ 0") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        try reportingErrors {
            Parallel.configure(threads: threads)
            var o = AttentionOptions()
            o.models = models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            o.images = images
            o.perClass = perClass
            o.data = data
            o.out = out
            o.threshold = threshold
            o.metricImages = metricImages
            o.batchSize = batchSize
            o.weights = weights
            o.classNames = ImageWoof.names
            o.explain = Set(explain.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            o.faithfulnessImages = faithfulnessImages
            o.faithfulnessSeed = faithfulnessSeed
            o.artifactFactor = artifactFactor
            let result = try AttentionReport.run(o, log: logLine)
            print(result.table, terminator: "")
        }
    }
}
