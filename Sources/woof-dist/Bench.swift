import ArgumentParser
import Foundation
import WoofCore
import WoofTrain

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time real steps on synthetic input and print one JSON line (images/s, GFLOP/s, peak RSS).")

    @Option(help: "What to time: full, lora (training steps) or eval (forward only).")
    var mode: String = "full"
    @Option(help: "Images per step.")
    var batchSize: Int = 32
    @Option(help: "Timed steps (the median is reported).")
    var steps: Int = 10
    @Option(help: "Untimed steps first.")
    var warmup: Int = 2
    @Option(help: "Compute threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Also print time per op kind (forward and backward) and its share, on stderr.")
    var profile = false

    func validate() throws {
        guard ["full", "lora", "eval"].contains(mode) else { throw ValidationError("--mode must be full, lora or eval, not '\(mode)'") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be a positive integer") }
        guard steps > 0, warmup >= 0 else { throw ValidationError("--steps must be positive and --warmup non-negative") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let profiler = profile ? OpProfiler() : nil
            let result = try runBenchmark(mode: mode, batch: batchSize, steps: steps, warmup: warmup, threads: threads,
                                          profiler: profiler, log: logLine)
            if let profiler { logLine(profiler.table()) }
            print(result.jsonLine)
        }
    }
}
