import Foundation
import WoofCore
import WoofModel

/// Result of `runBenchmark`, printed as one JSON line.
public struct BenchmarkResult: Codable {
    public var mode: String
    public var batch: Int
    public var threads: Int
    public var steps: Int
    public var imagesPerSecond: Double
    public var msPerStep: Double
    public var gflopsPerSecond: Double
    public var peakRSSMiB: Double
    public var trainableParameters: Int

    enum CodingKeys: String, CodingKey {
        case mode, batch, threads, steps
        case imagesPerSecond = "img_per_s", msPerStep = "ms_per_step", gflopsPerSecond = "gflop_per_s"
        case peakRSSMiB = "peak_rss_mib", trainableParameters = "trainable_params"
    }

    public var jsonLine: String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        return String(data: try! enc.encode(self), encoding: .utf8)!
    }
}

/// Peak resident set size of this process, MiB.
public func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024 // Linux reports KiB
}

/// Runs real training (`full`, `lora`) or inference (`eval`) steps of ViT-Ti on synthetic
/// input and reports the median step time. Weights are random: speed does not depend on them.
public func runBenchmark(mode: String, batch: Int, steps: Int, warmup: Int, threads: Int,
                         profiler: OpProfiler? = nil,
                         log: (String) -> Void = { _ in }) throws -> BenchmarkResult {
    Parallel.configure(threads: threads)
    let trainMode: TrainMode
    switch mode {
    case "full": trainMode = .full
    case "lora": trainMode = .lora(LoRAConfig())
    case "eval": trainMode = .frozen
    default: throw ModelError.invalidConfig("unknown benchmark mode '\(mode)' (full, lora, eval)")
    }
    let model = try VisionTransformer(config: .vitTiny(numClasses: 10), mode: trainMode, seed: 1)
    let c = model.config
    var rng = SeededRNG(seed: 2)
    let images = (0..<(batch * c.inChans * c.imgSize * c.imgSize)).map { _ in rng.uniform(-1, 1) }
    let labels = (0..<batch).map { _ in Int32(rng.next() % 10) }
    let step = GradientStep(model: model)
    var times: [Double] = []
    for i in 0..<(warmup + steps) {
        step.tape.profiler = i >= warmup ? profiler : nil
        let t0 = DispatchTime.now().uptimeNanoseconds
        images.withUnsafeBufferPointer { p in
            if mode == "eval" { _ = step.logits(images: p.baseAddress!, count: batch) }
            else { _ = step(images: p.baseAddress!, labels: labels) }
        }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if i >= warmup { times.append(dt) }
        log("step \(i + 1)/\(warmup + steps)\(i < warmup ? " (warm-up)" : ""): \(String(format: "%.1f", Double(batch) / dt)) img/s")
    }
    let median = times.sorted()[times.count / 2]
    return BenchmarkResult(mode: mode, batch: batch, threads: threads, steps: steps,
                           imagesPerSecond: Double(batch) / median, msPerStep: median * 1000,
                           gflopsPerSecond: FLOPs.perImage(c, mode: mode) * Double(batch) / median / 1e9,
                           peakRSSMiB: peakRSSMiB(), trainableParameters: model.trainableParameterCount)
}
