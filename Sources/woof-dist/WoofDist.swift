import ArgumentParser
import Foundation
import WoofTrain

@main
struct WoofDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "woof-dist",
        abstract: "Fine-tune a pretrained ViT-Ti/16 on ImageWoof: full fine-tuning vs LoRA, data-parallel over MPI.",
        subcommands: [Train.self, Eval.self, Bench.self, Results.self],
        defaultSubcommand: Train.self)
}

/// Prints to standard error (standard output carries results only).
func logLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

/// Runs `body`, turning any error into a message and a non-zero exit (no stack trace).
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e } catch {
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
