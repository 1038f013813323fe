import Foundation

/// One rank's process as the other ranks know it: which host it runs on and its pid. A rank
/// on the same host can then look at it in /proc when it stops answering; one on another
/// host is named by its host.
public struct RankProcess: Equatable, Sendable {
    public let rank: Int
    /// A hash of the host name, to compare hosts.
    public let hostKey: Int64
    public let pid: Int32
    /// The host name (up to `hostSlots` × 8 bytes of it), for messages.
    public let host: String

    public init(rank: Int, hostKey: Int64, pid: Int32, host: String = "") {
        self.rank = rank; self.hostKey = hostKey; self.pid = pid; self.host = host
    }

    static func current(rank: Int) -> RankProcess {
        let name = ProcessInfo.processInfo.hostName
        return RankProcess(rank: rank, hostKey: hostKey(name), pid: getpid(), host: name)
    }

    /// Int64 slots that carry a host name through an integer allreduce.
    static let hostSlots = 8

    /// The host name's first 64 UTF-8 bytes as `hostSlots` integers (each 7 bytes + 0, so a
    /// sum with the other ranks' zeros cannot overflow).
    static func packHost(_ name: String) -> [Int64] {
        let bytes = Array(name.utf8.prefix(7 * hostSlots))
        return (0..<hostSlots).map { slot in
            var v: Int64 = 0
            for (k, b) in bytes.dropFirst(7 * slot).prefix(7).enumerated() { v |= Int64(b) << (8 * k) }
            return v
        }
    }

    static func unpackHost(_ slots: ArraySlice<Int64>) -> String {
        var bytes: [UInt8] = []
        for v in slots { for k in 0..<7 { let b = UInt8((v >> (8 * k)) & 0xff); if b != 0 { bytes.append(b) } } }
        return String(decoding: bytes, as: UTF8.self)
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
        var blamed: [String] = [], remote: [RankProcess] = []
        for p in peers where p.rank != me {
            guard let state = p.localState() else { remote.append(p); continue }
            if state != "running" { blamed.append("rank \(p.rank) (pid \(p.pid)) is \(state)") }
        }
        if !blamed.isEmpty { return blamed.joined(separator: "; ") }
        if !remote.isEmpty {
            let named = remote.map { $0.host.isEmpty ? "rank \($0.rank)" : "rank \($0.rank) on host \($0.host) (pid \($0.pid))" }
            return "every rank on this host is running; look at \(named.joined(separator: ", ")): a rank on another host that stopped, or the network to it"
        }
        return "every other rank is running, so one of them is hung or waiting elsewhere"
    }
}
