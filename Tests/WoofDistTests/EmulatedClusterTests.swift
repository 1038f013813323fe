import XCTest
import Foundation
import WoofTestSupport

/// scripts/emulated-cluster.sh: `up` builds nodes that reach each other through a capped
/// bridge, `down` leaves no namespace behind, and the root namespace's links are never
/// touched. As root where namespaces can be made, it builds and removes a real cluster (with
/// its own name prefix); otherwise it checks the script refuses and says why.
final class EmulatedClusterTests: XCTestCase {
    let prefix = "wooftest\(getpid())"

    func run(_ args: [String]) throws -> (status: Int32, output: String) {
        try runProcess(packageRoot + "/scripts/emulated-cluster.sh", args,
                       environment: ProcessInfo.processInfo.environment.merging(["WOOF_NETNS_PREFIX": prefix]) { $1 })
    }

    /// The standard output of a shell command (its errors go to /dev/null).
    func shell(_ command: String) -> String {
        (try? runProcess("/bin/sh", ["-c", "{ " + command + "; } 2>/dev/null"]).output) ?? ""
    }

    func testUpThenDownLeavesNothingBehindAndTheRootNamespaceUntouched() throws {
        let linksBefore = shell("ip -o link show | awk -F': ' '{print $2}' | sort")
        let qdiscsBefore = shell("tc qdisc show"), hostBefore = ProcessInfo.processInfo.hostName
        let retriesBefore = shell("cat /proc/sys/net/ipv4/tcp_retries2")
        let out = NSTemporaryDirectory() + "woof-net-\(getpid())"
        defer { _ = try? run(["down"]); try? FileManager.default.removeItem(atPath: out) }
        let up = try run(["up", "2", "--bandwidth", "100mbit", "--out", out])
        let refusals = ["must run as root", "cannot create network namespaces", "this kernel cannot make", "is missing (Debian package"]
        guard getuid() == 0, !refusals.dropFirst().contains(where: up.output.contains) else {
            XCTAssertNotEqual(up.status, 0, "without root or what the kernel needs, up must refuse")
            XCTAssertTrue(refusals.contains(where: up.output.contains), up.output)
            return
        }
        XCTAssertEqual(up.status, 0, up.output)
        let hostfile = try String(contentsOfFile: out + "/hostfile", encoding: .utf8)
        XCTAssertEqual(hostfile, "198.18.0.10 slots=1\n198.18.0.11 slots=1\n")
        let namespaces = shell("ip netns list | awk '{print $1}' | grep '^\(prefix)-' | sort")
        XCTAssertEqual(namespaces, "\(prefix)-br\n\(prefix)-n0\n\(prefix)-n1\n")
        XCTAssertTrue(shell("ip netns exec \(prefix)-n0 tc class show dev eth0").contains("rate 100Mbit"))
        XCTAssertEqual(shell("ip -o link show | awk -F': ' '{print $2}' | sort"), linksBefore, "up changed the root namespace's links")
        // A node's processes see its name as their host name (the watchdog names nodes by it), also
        // through mpirun's launch agent; the machine's own host name stays.
        XCTAssertEqual(try run(["exec", "1", "hostname"]).output, "\(prefix)-n1\n")
        let agent = try runProcess(packageRoot + "/scripts/netns-agent.sh", ["-x", "198.18.0.11", "hostname"],
                                   environment: ProcessInfo.processInfo.environment.merging(["WOOF_NETNS_PREFIX": prefix]) { $1 })
        XCTAssertEqual(agent.output, "\(prefix)-n1\n")
        XCTAssertEqual(shell("hostname"), hostBefore + "\n")
        // Nodes give up on a silent peer in seconds; the machine's own setting stays.
        XCTAssertEqual(try run(["exec", "1", "cat", "/proc/sys/net/ipv4/tcp_retries2"]).output, "5\n")
        XCTAssertEqual(shell("cat /proc/sys/net/ipv4/tcp_retries2"), retriesBefore)
        let second = try run(["up", "2"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.output.contains("already up"), second.output)

        let down = try run(["down"])
        XCTAssertEqual(down.status, 0, down.output)
        XCTAssertEqual(shell("ip netns list | grep '^\(prefix)-' || true"), "")
        XCTAssertEqual(shell("ip -o link show | awk -F': ' '{print $2}' | sort"), linksBefore, "down left links in the root namespace")
        XCTAssertEqual(shell("tc qdisc show"), qdiscsBefore, "the root namespace's qdiscs changed")
    }

    func testBadArgumentsAreRefusedByName() throws {
        let n = try run(["up", "x"])
        XCTAssertNotEqual(n.status, 0)
        XCTAssertTrue(n.output.contains("N must be a number of nodes, got 'x'"), n.output)
        let latency = try run(["up", "2", "--latency", "5ms"])
        XCTAssertNotEqual(latency.status, 0)
        XCTAssertTrue(latency.output.contains("netem"), latency.output)
    }
}
