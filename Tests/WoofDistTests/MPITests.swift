import XCTest
import WoofTestSupport
import WoofCore
import WoofIO

/// Data parallelism end to end: `mpirun -np 2` against one process, on the golden tiny ViT
/// with synthetic data, through the real trainer (the `dist-check` executable).
/// Runs `dist-check` under mpirun.
struct MPIRunner {
    /// The MPI test harness built next to this test bundle.
    var binary: String { builtExecutable("dist-check") }

    struct Run { var status: Int32; var output: String; var seconds: Double }

    func mpirun(_ np: Int, _ args: [String], timeout: Double = 60) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", String(np), binary,
                       "--weights", sharedPath("golden/tiny_vit.safetensors")] + args
        // An earlier test may have started MPI in this process (a singleton), which sets
        // OMPI_/PMIX_ variables; a child mpirun that inherits them fails at once.
        p.environment = ProcessInfo.processInfo.environment.filter { k, _ in
            !(k.hasPrefix("OMPI_") || k.hasPrefix("PMIX_") || k.hasPrefix("OPAL_"))
        }
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        let t0 = Date()
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); XCTFail("mpirun -np \(np) \(args) still running after \(timeout) s") }
        p.waitUntilExit()
        let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
        return Run(status: p.terminationStatus, output: out, seconds: Date().timeIntervalSince(t0))
    }

    func trainedParameters(np: Int, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> SafeTensorsFile {
        let out = NSTemporaryDirectory() + "woof-mpi-\(getpid())-\(np)-\(args.joined(separator: "_")).safetensors"
        let r = try mpirun(np, args + ["--out", out])
        XCTAssertEqual(r.status, 0, "mpirun -np \(np) \(args) failed:\n\(r.output)", file: file, line: line)
        return try SafeTensorsFile(path: out)
    }
}

final class MPITests: XCTestCase {
    let runner = MPIRunner()
    func mpirun(_ np: Int, _ args: [String], timeout: Double = 60) throws -> MPIRunner.Run { try runner.mpirun(np, args, timeout: timeout) }
    func trainedParameters(np: Int, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> SafeTensorsFile {
        try runner.trainedParameters(np: np, args, file: file, line: line)
    }

    func testTwoRanksMatchOneRankInBothModesWithAndWithoutOverlap() throws {
        for mode in ["full", "lora"] {
            let single = try trainedParameters(np: 1, ["--mode", mode])
            let ref = try single.tensor("values").data
            for overlap in [[], ["--no-overlap"]] {
                let two = try trainedParameters(np: 2, ["--mode", mode] + overlap)
                let err = relativeError(try two.tensor("values").data, ref)
                XCTAssertLessThan(err, 1e-5, "\(mode) \(overlap): -np 2 vs -np 1 relative error \(err)")
                print("[mpi] \(mode) \(overlap.isEmpty ? "overlap" : "blocking"): -np 2 vs -np 1 relative error \(String(format: "%.2e", err)), final loss \(two.metadata["final_loss"] ?? "?")")
                // Bytes allreduced per step: 4 × trainable parameters.
                XCTAssertEqual(Int(two.metadata["bytes_per_step"]!)!, 4 * Int(two.metadata["trainable"]!)!)
            }
            // Training changed something: the check is not comparing two untouched models.
            XCTAssertGreaterThan(relativeError(try single.tensor("initial").data, ref), 1e-4)
        }
    }

    func testBroadcastMakesDifferentlySeededRanksAgree() throws {
        for mode in ["full", "lora"] {
            let ref = try trainedParameters(np: 1, ["--mode", mode]).tensor("values").data
            let mixed = try trainedParameters(np: 2, ["--mode", mode, "--seed-by-rank"]).tensor("values").data
            let err = relativeError(mixed, ref)
            XCTAssertLessThan(err, 1e-5, "\(mode): ranks seeded 100 and 101 should train like one rank seeded 100 (error \(err))")
        }
    }

    func testADeadRankEndsTheJobPromptly() throws {
        let r = try mpirun(2, ["--epochs", "50", "--die-rank", "1", "--die-step", "2"], timeout: 30)
        XCTAssertNotEqual(r.status, 0, "the job must fail when a rank dies:\n\(r.output)")
        XCTAssertLessThan(r.seconds, 15, "the job took \(r.seconds) s to end after a rank died")
        XCTAssertTrue(r.output.contains("rank 1"), "the failed rank is named:\n\(r.output)")
        print("[mpi] killed rank 1 at step 2: job exited with status \(r.status) after \(String(format: "%.1f", r.seconds)) s")
    }
}
