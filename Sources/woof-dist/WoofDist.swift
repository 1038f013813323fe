import ArgumentParser
import Foundation
import WoofTrain
import WoofDist

@main
struct WoofDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "woof-dist",
        abstract: "Fine-tune a pretrained ViT-Ti/16 on ImageWoof: full fine-tuning vs LoRA, data-parallel over MPI.",
        subcommands: [Train.self, Eval.self, Bench.self, Attention.self, Results.self, Scaling.self, DistCheck.self],
        defaultSubcommand: Train.self)
}

/// Prints to standard error (standard output carries results only).
func logLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

/// Runs `body`, turning any error into a message and a non-zero exit (no stack trace).
/// Under MPI the failing rank names itself and aborts the whole job, so no rank is left
/// waiting in a collective.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e } catch {
        let env = ProcessInfo.processInfo.environment
        if let size = env["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), size > 1 {
            let rank = env["OMPI_COMM_WORLD_RANK"] ?? "?"
            logLine("error: rank \(rank) of \(size) failed: \(error) — aborting all ranks")
            Communicator.world.abort(code: 1)
        }
        logLine("error: \(error)")
        throw ExitCode(1)
    }
}

struct Results: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results", abstract: "Write output/results.md from the runs' summary files and print it.")
    @Option(help: "Directory holding baseline/, full_model/ and lora_model/.")
    var output: String = "output"
    func run() throws {
        try reportingErrors { print(try WoofTrain.Results.write(outputDir: output), terminator: "") }
    }
}

/// Hidden: a few steps of a tiny ViT on synthetic data, for the MPI tests.
struct DistCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dist-check", abstract: "Train a tiny ViT on synthetic data for a few steps (MPI self-test).",
        shouldDisplay: false)
    @Option var mode = "full"
    @Option var weights: String
    @Option var epochs = 2
    @Option var batchSize = 8
    @Option var images = 32
    @Flag var noOverlap = false
    @Flag var seedByRank = false
    @Option var dieRank = -1
    @Option var dieStep = 0
    @Option var out = ""
    @Option var runDir = ""
    @Option var checkpointEvery = 0
    @Flag var resume = false
    @Option var failRank = -1
    @Option var failStep = 0
    @Option var corruptRank = -1
    @Option var nanStep = -1
    func run() throws {
        var o = DistCheckOptions()
        o.mode = mode; o.weights = weights; o.epochs = epochs; o.batchSize = batchSize; o.images = images
        o.overlap = !noOverlap; o.seedByRank = seedByRank; o.dieRank = dieRank; o.dieStep = dieStep; o.out = out
        o.runDir = runDir; o.checkpointEvery = checkpointEvery; o.resume = resume; o.failRank = failRank
        o.failStep = failStep; o.corruptRank = corruptRank; o.nanStep = nanStep
        try reportingErrors { try runDistCheck(o, log: logLine) }
        Communicator.world.finalize()
    }
}

struct Scaling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling", abstract: "Plot a scaling CSV (scripts/bench-scaling.sh) and project it to many nodes.")
    @Option(help: "The CSV written by scripts/bench-scaling.sh.")
    var csv: String = "output/scaling/scaling.csv"
    @Option(help: "Where the plots, projection.csv and summary.txt go.")
    var out: String = "output/scaling"
    func run() throws {
        try reportingErrors { print(try ScalingReport.write(csv: csv, outDir: out), terminator: "") }
    }
}
