import Foundation
import WoofTrain
import WoofCore
import WoofModel
import WoofDist
import WoofIO
import WoofData

/// Result of `runBenchmark`, printed as one JSON line (`woof-dist bench`; the scripts read it).
public struct BenchmarkResult: VersionedRecord {
    public static let currentVersion = 1
    @RecordVersion<BenchmarkResult> public var version = BenchmarkResult.currentVersion
    public var mode: String
    public var batch: Int
    public var threads: Int
    public var steps: Int
    public var imagesPerSecond: Double
    public var msPerStep: Double
    public var gflopsPerSecond: Double
    public var peakRSSMiB: Double
    public var trainableParameters: Int
    public var ranks: Int = 1
    public var oversubscribed: Bool = false
    public var computeSecondsPerStep: Double = 0
    public var commSecondsPerStep: Double = 0
    public var allreduceBytesPerStep: Int = 0
    public var overlap: Bool = true
    /// The adapters timed in `lora` mode (nil otherwise).
    public var loraRank: Int? = nil
    public var loraTargets: String? = nil

    enum CodingKeys: String, CodingKey {
        case version, mode, batch, threads, steps, ranks, oversubscribed, overlap
        case loraRank = "lora_rank", loraTargets = "lora_targets"
        case computeSecondsPerStep = "compute_s_per_step", commSecondsPerStep = "comm_s_per_step"
        case allreduceBytesPerStep = "allreduce_bytes_per_step"
        case imagesPerSecond = "img_per_s", msPerStep = "ms_per_step", gflopsPerSecond = "gflop_per_s"
        case peakRSSMiB = "peak_rss_mib", trainableParameters = "trainable_params"
    }

    /// The columns of `scripts/bench-scaling.sh`'s scaling.csv, one row per benchmark.
    public static let csvColumns = ["ranks", "mode", "threads_per_rank", "batch", "img_per_s", "compute_s_per_step",
                                    "comm_s_per_step", "bytes_per_step", "oversubscribed", "overlap"]
    public static var csvHeader: String { CSVTable(header: csvColumns).text.trimmingCharacters(in: .newlines) }
    public var csvRow: String {
        let fields = [String(ranks), mode, String(threads), String(batch), String(format: "%.3f", imagesPerSecond),
                      String(format: "%.5f", computeSecondsPerStep), String(format: "%.5f", commSecondsPerStep),
                      String(allreduceBytesPerStep), oversubscribed ? "1" : "0", overlap ? "1" : "0"]
        return fields.map(CSVTable.quote).joined(separator: ",")
    }

    /// The result as one JSON line (fails on a non-finite rate, which JSON cannot hold).
    public func jsonLine() throws -> String { try JSONFile.line(self) }
}

/// Runs real training (`full`, `lora`: forward, backward, gradient allreduce, AdamW) or
/// inference (`eval`) steps of ViT-Ti on synthetic input and reports the median step time.
/// Weights are random: speed does not depend on them. Under `mpirun -np N`, `batch` is the
/// global batch (batch/N per rank) and the gradient allreduce is timed separately.
public func runBenchmark(mode: String, batch: Int, steps: Int, warmup: Int, threads: Int,
                         lora: LoRAConfig = LoRAConfig(),
                         overlap: Bool = true, profiler: OpProfiler? = nil,
                         log: (String) -> Void = { _ in }) throws -> BenchmarkResult {
    let comm = Communicator.world
    guard batch % comm.size == 0 else { throw ModelError.invalidConfig("batch \(batch) is not divisible by \(comm.size) ranks") }
    Parallel.configure(threads: threads)
    let trainMode: TrainMode
    switch mode {
    case "full": trainMode = .full
    case "lora": try lora.validate(); trainMode = .lora(lora)
    case "eval": trainMode = .frozen
    default: throw ModelError.invalidConfig("unknown benchmark mode '\(mode)' (full, lora, eval)")
    }
    let model = try VisionTransformer(config: .vitTiny(numClasses: 10), mode: trainMode, seed: 1)
    let c = model.config
    let local = batch / comm.size
    var rng = SplitMix64(seed: 2, stream: UInt64(comm.rank))
    let images = (0..<(local * c.inChans * c.imgSize * c.imgSize)).map { _ in rng.uniformFloat(-1, 1) }
    let labels = (0..<local).map { _ in Int32(rng.next() % 10) }
    let training = mode != "eval"
    let sync = training ? GradientSync(store: model.params, comm: comm, overlap: overlap) : nil
    let optimizer = training ? AdamW(count: model.params.trainableCount) : nil
    let step = GradientStep(model: model, sync: sync)
    var times: [Double] = [], comms: [Double] = []
    for i in 0..<(warmup + steps) {
        step.tape.profiler = i >= warmup ? profiler : nil
        comm.barrier()
        let t0 = DispatchTime.now().uptimeNanoseconds
        images.withUnsafeBufferPointer { p in
            if !training { _ = step.logits(images: p.baseAddress!, count: local) }
            else {
                _ = step(images: p.baseAddress!, labels: labels)
                sync!.finish()
                optimizer!.update(model.params, lr: 1e-5)
            }
        }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if i >= warmup { times.append(dt); comms.append(sync?.lastWaitSeconds ?? 0) }
        log("step \(i + 1)/\(warmup + steps)\(i < warmup ? " (warm-up)" : ""): \(String(format: "%.1f", Double(batch) / dt)) img/s")
    }
    let median = times.sorted()[times.count / 2]
    let commMedian = comms.sorted()[comms.count / 2]
    var r = BenchmarkResult(mode: mode, batch: batch, threads: threads, steps: steps,
                            imagesPerSecond: Double(batch) / median, msPerStep: median * 1000,
                            gflopsPerSecond: FLOPs.perImage(c, mode: mode) * Double(batch) / median / 1e9,
                            peakRSSMiB: Machine.peakRSSMiB(), trainableParameters: model.trainableParameterCount)
    r.ranks = comm.size
    r.oversubscribed = comm.localSize * threads > ProcessInfo.processInfo.activeProcessorCount
    r.commSecondsPerStep = commMedian
    r.computeSecondsPerStep = median - commMedian
    r.allreduceBytesPerStep = sync?.bytesPerStep ?? 0
    r.overlap = overlap
    if mode == "lora" { r.loraRank = lora.rank; r.loraTargets = LoRAConfig.key(lora.targets) }
    return r
}

/// `woof-dist bench --mode data`: JPEG decode + train and eval transforms of `images` real
/// training images, on one thread and on `threads` (default: all cores); one line per run.
public func runDataBenchmark(data: String?, images: Int, threads: Int?) throws -> [String] {
    let root = resolveDataRoot(explicit: data)
    let set = try ImageFolder(root: root.path, split: "train")
    var lines: [String] = []
    for t in Set([1, threads ?? ProcessInfo.processInfo.activeProcessorCount]).sorted() {
        for train in [true, false] {
            lines.append(benchmarkDataPipeline(dataset: set, images: images, threads: t, train: train).summary)
        }
    }
    return lines
}
