import XCTest
import WoofTestSupport
import WoofCore
import WoofTrain
import WoofIO

/// Fault drills in their fast form: kill -9 and resume, a failing rank, ranks that disagree
/// at the start, an injected NaN gradient, an unwritable checkpoint. The long forms are in
/// scripts/fault-drills.sh.
final class FaultTests: XCTestCase {
    let mpi = MPIRunner()

    func tmp(_ name: String) -> String {
        let p = NSTemporaryDirectory() + "woof-fault-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: p)
        return p
    }

    /// Uninterrupted vs killed (SIGKILL at a random step) then `--resume`.
    func testKillNineThenResumeReachesTheSameParameters() throws {
        var rng = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        for np in [1, 2] {
            for mode in ["full", "lora"] {
                let common = ["--mode", mode, "--epochs", "3", "--images", "32", "--batch-size", "8", "--checkpoint-every", "1"]
                let ref = try mpi.trainedParameters(np: np, common).tensor("values").data
                let dir = tmp("run-\(np)-\(mode)")
                let killAt = 2 + Int(rng.next() % 9)   // steps 2…10 of 12
                let crashed = try mpi.mpirun(np, common + ["--run-dir", dir, "--die-rank", "0", "--die-step", String(killAt)])
                XCTAssertNotEqual(crashed.status, 0, "the killed run must fail")
                let out = tmp("resumed-\(np)-\(mode).safetensors")
                let resumed = try mpi.mpirun(np, common + ["--run-dir", dir, "--resume", "--out", out])
                XCTAssertEqual(resumed.status, 0, resumed.output)
                XCTAssertTrue(resumed.output.contains("resuming from"), resumed.output)
                let got = try SafeTensorsFile(path: out).tensor("values").data
                if np == 1 {
                    XCTAssertTrue(got == ref, "\(mode), killed at step \(killAt): resumed parameters are not bit-identical")
                } else {
                    XCTAssertLessThan(relativeError(got, ref), 1e-6, "\(mode), -np 2, killed at step \(killAt)")
                }
                print("[fault] -np \(np) \(mode): SIGKILL at step \(killAt), resume → relative difference \(String(format: "%.1e", relativeError(got, ref)))")
            }
        }
    }

    /// SIGTERM on rank 0 only: every rank stops after the same step, the checkpoint is
    /// written, the job exits 143 saying how to resume, and --resume reaches the parameters
    /// of an uninterrupted run.
    func testSIGTERMStopsEveryRankWithACheckpointAndResumes() throws {
        for np in [1, 2] {
            let common = ["--mode", "lora", "--epochs", "3", "--images", "32", "--batch-size", "8"]
            let ref = try mpi.trainedParameters(np: np, common).tensor("values").data
            let dir = tmp("sigterm-\(np)")
            let stopped = try mpi.mpirun(np, common + ["--run-dir", dir, "--signal-rank", "0", "--signal-step", "5"])
            XCTAssertEqual(stopped.status, 143, stopped.output)
            // One rank stops at once; ranks learn of it in the next step's allreduce.
            let at = np == 1 ? 5 : 6
            XCTAssertTrue(stopped.output.contains("stopped by SIGTERM after step \(at)") && stopped.output.contains("--resume"), stopped.output)
            let out = tmp("sigterm-resumed-\(np).safetensors")
            let resumed = try mpi.mpirun(np, common + ["--run-dir", dir, "--resume", "--out", out])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            let got = try SafeTensorsFile(path: out).tensor("values").data
            XCTAssertLessThan(relativeError(got, ref), np == 1 ? 1e-30 : 1e-6, "-np \(np)")
            print("[fault] -np \(np): SIGTERM at step 5 → stopped after step \(at), resume → relative difference \(String(format: "%.1e", relativeError(got, ref)))")
        }
    }

    /// An MPMD start where rank 1 has other settings: every rank stops at once, naming the
    /// setting and the rank, instead of training on or hanging.
    func testRanksStartedWithOtherSettingsStopNamingTheSetting() throws {
        let r = try mpi.mpirun(1, ["--epochs", "2", ":", "-np", "1", mpi.binary, "--weights", sharedPath("golden/tiny_vit.safetensors"), "--epochs", "3"])
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("ranks disagree on --epochs: rank(s) 1 were started with other settings than rank 0"), r.output)
        XCTAssertLessThan(r.seconds, 30)
    }

    /// A stopped rank (SIGSTOP) would leave the others waiting forever: after --rank-timeout
    /// a waiting rank ends the job, saying why.
    func testAStoppedRankEndsTheJobAfterTheRankTimeout() throws {
        let r = try mpi.mpirun(2, ["--epochs", "3", "--stop-rank", "1", "--stop-step", "2", "--rank-timeout", "3"], timeout: 45)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("rank 0 waited") && r.output.contains("rank 1 (pid ") && r.output.contains("is stopped (SIGSTOP"), r.output)
        XCTAssertLessThan(r.seconds, 40)
        print("[fault] " + (r.output.split(separator: "\n").first { $0.contains("waited") } ?? ""))
        print("[fault] SIGSTOP on rank 1 at step 2, --rank-timeout 3: job ended after \(String(format: "%.1f", r.seconds)) s")
    }

    func testAFailingRankAbortsTheJobAndIsNamed() throws {
        let r = try mpi.mpirun(2, ["--epochs", "50", "--fail-rank", "1", "--fail-step", "2"], timeout: 30)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertLessThan(r.seconds, 15)
        XCTAssertTrue(r.output.contains("rank 1 of 2 failed: injected failure at step 2"), r.output)
    }

    func testRanksDisagreeingOnFrozenWeightsAbort() throws {
        let r = try mpi.mpirun(2, ["--mode", "lora", "--corrupt-rank", "1"], timeout: 30)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("parameter checksums differ across ranks"), r.output)
    }

    func testInjectedNaNGradientStopsTheRunNamingStepAndTensor() throws {
        let dir = tmp("nan")
        let r = try mpi.mpirun(1, ["--epochs", "3", "--nan-step", "3", "--run-dir", dir, "--checkpoint-every", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("non-finite gradient in 'blocks.0.mlp.fc1.weight' at step 3"), r.output)
        // The last good checkpoint (after step 2) is intact and loads.
        let ck = try SafeTensorsFile(path: dir + "/checkpoint.safetensors")
        XCTAssertTrue(ck.metadata["state"]!.contains("\"step\":2"), ck.metadata["state"]!)
    }

    /// A checkpoint that cannot be written fails with a message naming the path, and the
    /// previous checkpoint stays valid (the write goes to a temp file renamed into place).
    func testFailedCheckpointWriteKeepsThePreviousOne() throws {
        let dir = tmp("ckpt")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/checkpoint.safetensors"
        try SafeTensorsFile.write(["a": NamedTensor(shape: [2], data: [1, 2])], to: path)
        // Block the temp file's name with a directory: open(O_CREAT) fails as it would on a
        // read-only or full filesystem.
        let blocker = dir + "/.checkpoint.safetensors.tmp-\(getpid())"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: true)
        XCTAssertThrowsError(try SafeTensorsFile.write(["a": NamedTensor(shape: [2], data: [3, 4])], to: path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path), "\(e)")
        }
        XCTAssertEqual(try SafeTensorsFile(path: path).tensor("a").data, [1, 2])
        // Writing into a missing directory is an error too, not a crash.
        XCTAssertThrowsError(try SafeTensorsFile.write([:], to: dir + "/missing/x.safetensors"))
    }
}
