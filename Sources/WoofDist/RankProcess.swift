import Foundation

/// One rank's process as the other ranks know it: which host it runs on and its pid. A rank
/// on the same host can then look at it in /proc when it stops answering.
public struct RankProcess: Equatable, Sendable {
    public let rank: Int
    /// A hash of the host name (the collectives carry integers, not strings).
    public let hostKey: Int64
    public let pid: Int32

    static func current(rank: Int) -> RankProcess {
        RankProcess(rank: rank, hostKey: hostKey(ProcessInfo.processInfo.hostName), pid: getpid())
    }

    static func hostKey(_ name: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a, kept below 2^62 so a sum cannot overflow
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(h >> 2)
    }

    /// What /proc says about this process when it runs on this host: "stopped (SIGSTOP)",
    /// "gone", "a zombie", "running"…; nil on another host (nothing to look at).
    public func localState(procRoot: String = "/proc") -> String? {
        guard hostKey == RankProcess.hostKey(ProcessInfo.processInfo.hostName) else { return nil }
        guard let stat = try? String(contentsOfFile: "\(procRoot)/\(pid)/stat", encoding: .utf8) else { return "gone (no process \(pid))" }
        // The state letter follows the command name, which is in parentheses and may hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let letter = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        switch letter {
        case "T", "t": return "stopped (SIGSTOP or a debugger)"
        case "Z": return "dead (a zombie)"
        case "D": return "blocked in the kernel (uninterruptible I/O)"
        case "R", "S": return "running"
        default: return letter.map { "in state \($0)" }
        }
    }

    /// One line naming the ranks that look to blame, for the watchdog's message.
    public static func diagnosis(of peers: [RankProcess], excluding me: Int) -> String {
        var blamed: [String] = [], remote: [Int] = []
        for p in peers where p.rank != me {
            guard let state = p.localState() else { remote.append(p.rank); continue }
            if state != "running" { blamed.append("rank \(p.rank) (pid \(p.pid)) is \(state)") }
        }
        if !blamed.isEmpty { return blamed.joined(separator: "; ") }
        if !remote.isEmpty { return "every rank on this host is running; look at rank(s) \(remote.map(String.init).joined(separator: ", ")) on other hosts" }
        return "every other rank is running, so one of them is hung or waiting elsewhere"
    }
}
