import ArgumentParser
import Foundation
import WoofTrain
import WoofAnalysis
import WoofDist
import WoofCore
import WoofIO

@main
struct WoofDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "woof-dist",
        abstract: "Fine-tune a pretrained ViT-Ti/16 on ImageWoof: full fine-tuning vs LoRA, data-parallel over MPI.",
        version: WoofDist.version,
        subcommands: [Train.self, Eval.self, Bench.self, Attention.self, Results.self, Report.self, Scaling.self, StudyCommand.self, Interpolate.self, Soup.self, AlphaSweep.self, WeightSpaceStudyCommand.self],
        defaultSubcommand: Train.self)

    /// The release and the commit of the checkout the binary sits in (`--version`).
    static let version: String = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let commit = Machine.gitCommit(in: exe).map { " (commit \($0.prefix(12)))" } ?? ""
        return "woof-dist \(release)\(commit)"
    }()
    static let release = "0.20.0"

    static func main() {
        BLASKernels.restartWithNativeKernelsIfNeeded(log: logLine)
        main(nil)
    }
}

/// Prints to standard error (standard output carries results only).
func logLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

/// Runs `body`, turning any error into a message and a non-zero exit (no stack trace).
/// Under MPI the failing rank names itself and aborts the whole job, so no rank is left
/// waiting in a collective.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e }
    catch TrainError.interrupted(let sig, let message) {
        // Every rank stopped at the same step after the checkpoint: end MPI cleanly.
        if Communicator.world.isRoot { logLine(message) }
        Communicator.world.finalize()
        throw ExitCode(StopSignal.exitStatus(sig))
    } catch {
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
        commandName: "results",
        abstract: "Write output/results.md, the paper's result files (report/results/) and the README's results table.",
        discussion: """
            From output/ (baseline/, full_model/, lora_model/, scaling/, attention/, and study/, bench/ and network/ if present) \
            writes report/results/summary.json and CSVs, then from those files alone numbers.tex (LaTeX macros), \
            the table_*.tex fragments and the README block. --tex-only does the second half only. \
            `make` writes a run's results to output/results (--report-dir output/results --readme ''), leaving the \
            committed reference in report/results alone; `make publish-results` adopts a run as the reference.
            """)
    @Option(help: "Directory holding baseline/, full_model/, lora_model/, scaling/ and attention/.")
    var output: String = "output"
    @Option(help: "Where the paper's result files go.")
    var reportDir: String = "report/results"
    @Option(help: "README whose results block is rewritten ('' to leave it alone).")
    var readme: String = "README.md"
    @Flag(help: "Regenerate the LaTeX and README table from --report-dir only (no output/ needed).")
    var texOnly = false
    @Flag(help: "Let an absent study/bench input remove its file from --report-dir (default: refuse, keeping committed results).")
    var dropMissing = false
    @Flag(help: "Replace only the attention section of --report-dir (tiles, CSVs, its numbers in summary.json) from --output's attention/, keeping every other result.")
    var attentionOnly = false
    @Flag(help: "Replace only the emulated-network section of --report-dir (network.csv, allreduce.csv, the α–β fits, the model check) from --output's network/, and recompute the many-node projection with the calibrated latency and bandwidth.")
    var networkOnly = false
    @Flag(help: "Replace only the speed benchmark of --report-dir (bench.csv and its numbers) from --output's bench/ (scripts/bench-vs-pytorch.sh), keeping every other result.")
    var benchOnly = false
    @Flag(help: "Replace only the weight-space study of --report-dir (ws_*.csv and its numbers) from --output's weightspace/ (woof-dist weight-space), keeping every other result.")
    var weightspaceOnly = false
    @Option(help: "A results directory (e.g. output/results) to set beside --report-dir in the paper's appendix.")
    var thisRun: String?
    @Option(help: "Where the appendix comparing --this-run with --report-dir goes.")
    var thisRunTex = "report/build/this_run.tex"
    /// The one section an --…-only flag names (nil: all of them).
    var only: WoofAnalysis.Results.Section? {
        let flags: [(Bool, WoofAnalysis.Results.Section)] = [(attentionOnly, .attention), (networkOnly, .network), (benchOnly, .bench),
                                                               (weightspaceOnly, .weightspace)]
        return flags.first { $0.0 }?.1
    }

    func validate() throws {
        guard [attentionOnly, networkOnly, benchOnly, weightspaceOnly].filter({ $0 }).count <= 1 else {
            throw ValidationError("--attention-only, --network-only, --bench-only and --weightspace-only replace different sections: give one")
        }
    }

    func run() throws {
        try reportingErrors {
            let r = try WoofAnalysis.Results.run(outputDir: output, reportDir: reportDir, readme: readme.isEmpty ? nil : readme,
                                              texOnly: texOnly, dropMissing: dropMissing, only: only,
                                              thisRun: thisRun.map { ($0, thisRunTex) }, log: logLine)
            print(r.markdown, terminator: "")
            logLine("wrote " + r.files.joined(separator: ", "))
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the study as one self-contained HTML page (tables, SVG charts, the attention grid) from a results directory.")
    @Option(help: "A results directory written by `woof-dist results` (summary.json, CSVs, attention/).")
    var results: String = "output/results"
    @Option(help: "The run's output directory, for links to the per-image attention maps.")
    var output: String = "output"
    @Option(help: "The HTML file to write.")
    var out: String = "output/report.html"
    func run() throws {
        var o = HTMLReport.Options()
        o.results = results; o.output = output; o.out = out
        try reportingErrors {
            let w = try HTMLReport.write(o)
            print("report: \(w.path) (\(w.bytes / 1024) KiB): \(w.sections.joined(separator: ", "))"
                  + (w.missing.isEmpty ? "" : "; not made yet: \(w.missing.joined(separator: ", "))"))
        }
    }
}

struct Scaling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling", abstract: "Summarise a scaling CSV (scripts/bench-scaling.sh) and project it to many nodes (projection.csv).")
    @Option(help: "The CSV written by scripts/bench-scaling.sh.")
    var csv: String = "output/scaling/scaling.csv"
    @Option(help: "Where projection.csv and summary.txt go.")
    var out: String = "output/scaling"
    func run() throws {
        try reportingErrors { print(try ScalingReport.write(csv: csv, outDir: out), terminator: "") }
    }
}

struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study", abstract: "Collect a sweep's runs (scripts/sweep.sh) into runs.csv, groups.csv (mean ± std over seeds), ranks.csv.")
    @Option(help: "The sweep directory holding runs/<name>/summary.json.")
    var dir: String = "output/study"
    @Option(help: "Zero-shot summary (woof-dist eval --summary) whose class names label per_class.csv; skipped if missing.")
    var baseline: String = "output/baseline/summary.json"
    func run() throws {
        try reportingErrors { print(try Study.write(dir: dir, baselinePath: baseline), terminator: "") }
    }
}
