import ArgumentParser
import Foundation
import WoofCore
import WoofTrain
import WoofAnalysis
import WoofModel
import WoofData
import WoofDist
import WoofIO

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time real steps on synthetic input and print one JSON line (images/s, GFLOP/s, peak RSS).")

    @Option(help: "What to time: full, lora (training steps), eval (forward only), data (JPEG decode + transforms on real images), allreduce (one float allreduce per message size, as CSV; --steps repetitions) or gemm (sgemm on the ViT's products at --batch-size, 1 thread and all; JSON lines, the roofline R last).")
    var mode: String = "full"
    @Option(help: "Images per step.")
    var batchSize: Int = 32
    @Option(help: "Timed steps (the median is reported).")
    var steps: Int = 10
    @Option(help: "Untimed steps first.")
    var warmup: Int = 2
    @Option(help: "Compute threads per rank (default: cores / ranks on this node).")
    var threads: Int?
    @Flag(help: "Also print time per op kind (forward and backward) and its share, on stderr.")
    var profile = false
    @Flag(help: "Print a CSV row (see --csv-header) instead of JSON.")
    var csv = false
    @Flag(help: "Print the CSV header and exit.")
    var csvHeader = false
    @Flag(help: "Blocking allreduce after the backward pass instead of overlapped buckets.")
    var noOverlap = false
    /// Adapters timed by --mode lora.
    @OptionGroup var lora: LoRAOptions
    @Option(help: "Data root for --mode data (default: $WOOF_DATA, data/imagewoof2-320, ../shared/data/imagewoof2-256).")
    var data: String?

    func validate() throws {
        guard ["full", "lora", "eval", "data", "allreduce", "gemm"].contains(mode) else {
            throw ValidationError("--mode must be full, lora, eval, data, allreduce or gemm, not '\(mode)'")
        }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be a positive integer") }
        guard steps > 0, warmup >= 0 else { throw ValidationError("--steps must be positive and --warmup non-negative") }
        if let t = threads, t <= 0 { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        if csvHeader { print(BenchmarkResult.csvHeader); return }
        if mode == "allreduce" { runAllreduce(); return }
        if mode == "gemm" { try runGemm(); return }
        if mode == "data" {
            try reportingErrors {
                for line in try runDataBenchmark(data: data, images: batchSize * steps, threads: threads) { print(line) }
            }
            return
        }
        try reportingErrors {
            let comm = Communicator.world
            let profiler = profile ? OpProfiler() : nil
            let result = try runBenchmark(mode: mode, batch: batchSize, steps: steps, warmup: warmup,
                                          threads: threads ?? defaultThreadsPerRank(comm),
                                          lora: lora.config,
                                          overlap: !noOverlap,
                                          profiler: profiler, log: comm.isRoot ? logLine : { _ in })
            if comm.isRoot {
                if let profiler { logLine(profiler.table()) }
                print(csv ? result.csvRow : try result.jsonLine())
            }
        }
        Communicator.world.finalize()
    }

    /// Prints the allreduce timings as CSV on rank 0 (header first).
    func runAllreduce() {
        let comm = Communicator.world
        let rows = runAllreduceBenchmark(bytes: AllreduceTiming.defaultBytes, repeats: steps, log: comm.isRoot ? logLine : { _ in })
        if comm.isRoot {
            var table = CSVTable(header: AllreduceTiming.csvColumns)
            for r in rows { table.append(r.csvRow) }
            print(table.text, terminator: "")
        }
        comm.finalize()
    }

    /// Prints one JSON line per product and the roofline line last.
    func runGemm() throws {
        try reportingErrors {
            let r = GemmBenchmark.run(batch: batchSize, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                      repeats: steps, log: logLine)
            for row in r.rows { print(try JSONFile.line(row)) }
            print(try JSONFile.line(r.roofline))
        }
    }
}
