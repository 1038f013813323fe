import XCTest
import Foundation
@testable import WoofDist

/// The watchdog names the rank to blame from /proc: parse real processes in each state.
final class RankProcessTests: XCTestCase {
    private func peer(_ pid: Int32, rank: Int = 1) -> RankProcess {
        RankProcess(rank: rank, hostKey: RankProcess.hostKey(ProcessInfo.processInfo.hostName), pid: pid)
    }

    func testAStoppedChildIsNamedAsStoppedAndAGoneOneAsGone() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { child.terminate() }
        // Just after exec the child may still be reading its binary (uninterruptible): wait for it to settle.
        var live: String? = nil
        for _ in 0..<50 where live != "running" { live = peer(child.processIdentifier).localState(); usleep(20_000) }
        XCTAssertEqual(live, "running")
        kill(child.processIdentifier, SIGSTOP)
        var state: String? = nil
        for _ in 0..<50 where state != "stopped (SIGSTOP or a debugger)" {   // the kernel applies it asynchronously
            state = peer(child.processIdentifier).localState(); usleep(20_000)
        }
        XCTAssertEqual(state, "stopped (SIGSTOP or a debugger)")
        let line = RankProcess.diagnosis(of: [peer(getpid(), rank: 0), peer(child.processIdentifier)], excluding: 0)
        XCTAssertEqual(line, "rank 1 (pid \(child.processIdentifier)) is stopped (SIGSTOP or a debugger)")
        kill(child.processIdentifier, SIGCONT)
        child.terminate(); child.waitUntilExit()
        XCTAssertTrue(peer(child.processIdentifier).localState()?.hasPrefix("gone") ?? false)
    }

    func testARankOnAnotherHostIsPointedAtNotGuessed() {
        let remote = RankProcess(rank: 2, hostKey: RankProcess.hostKey("some-other-node"), pid: 1, host: "some-other-node")
        XCTAssertNil(remote.localState())
        XCTAssertEqual(RankProcess.diagnosis(of: [peer(getpid(), rank: 0), remote], excluding: 0),
                       "every rank on this host is running; look at rank 2 on host some-other-node (pid 1): "
                       + "a rank on another host that stopped, or the network to it")
    }

    func testAHostNameSurvivesTheIntegerAllreduceEncoding() {
        for name in ["", "woofnet-n1", "node-ü", String(repeating: "x", count: 56), String(repeating: "y", count: 80)] {
            let slots = RankProcess.packHost(name)
            XCTAssertEqual(slots.count, RankProcess.hostSlots)
            XCTAssertTrue(slots.allSatisfy { $0 >= 0 && $0 < (1 << 56) }, "a sum of ranks' slots must not overflow")
            XCTAssertEqual(RankProcess.unpackHost(slots[...]), String(decoding: Array(name.utf8.prefix(56)), as: UTF8.self))
        }
    }
}
