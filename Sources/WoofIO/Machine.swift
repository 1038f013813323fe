import Foundation

/// The machine a run or benchmark ran on, as recorded in its summary.
public struct MachineInfo: Codable, Equatable, Sendable {
    public var cpu: String
    public var cores: Int
    public var memoryGiB: Double

    public init(cpu: String, cores: Int, memoryGiB: Double) {
        self.cpu = cpu; self.cores = cores; self.memoryGiB = memoryGiB
    }

    enum CodingKeys: String, CodingKey { case cpu, cores, memoryGiB = "memory_gib" }
}

/// Facts about the machine for summaries.
public enum Machine {
    public static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        }
        return "unknown"
    }

    public static func describe() -> MachineInfo {
        MachineInfo(cpu: cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
                    memoryGiB: Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824)
    }

    /// Peak resident set size of this process, MiB.
    public static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024 // Linux reports KiB
    }

    /// The commit checked out in `directory` (default: the working directory), nil outside git.
    public static func gitCommit(in directory: String? = nil) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + (directory.map { ["-C", $0] } ?? []) + ["rev-parse", "HEAD"]
        let pipe = Pipe(); p.standardOutput = pipe; p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
