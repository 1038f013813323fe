import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS chooses its kernels from the CPU model when it loads. On a model it does not know
/// (virtual machines often report a generic "Intel(R) Xeon(R) Processor"), Debian's OpenBLAS
/// 0.3.21 falls back to its Prescott (SSE3) kernels: a full training step ran at 3.5 img/s
/// with them and 9.9 img/s with the AVX-512 ones on a 2-core Sapphire Rapids VM. The choice can only be overridden before the library loads, through
/// `OPENBLAS_CORETYPE`, so the command line restarts itself once with it set.
public enum BLASKernels {
    /// The kernel family OpenBLAS runs (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The best OpenBLAS kernel family the CPU's feature flags allow (`nil`: nothing beyond SSE3).
    public static func coreType(cpuFlags f: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(f.contains) { return "SkylakeX" }
        if f.contains("avx2") && f.contains("fma") { return "Haswell" }
        if f.contains("avx") { return "SandyBridge" }
        return nil
    }

    /// The `flags` line of /proc/cpuinfo (empty where there is none).
    static func cpuFlags(cpuinfo: String) -> Set<String> {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// If OpenBLAS fell back to Prescott kernels on a CPU that supports better ones and the user
    /// has not chosen (`OPENBLAS_CORETYPE` unset), re-executes this process with the better
    /// kernels; otherwise returns. Call first thing in `main`, before any work.
    public static func restartWithNativeKernelsIfNeeded(log: (String) -> Void) {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == "Prescott",
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let better = coreType(cpuFlags: cpuFlags(cpuinfo: info)) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        // Under MPI every rank restarts; one line says it for all.
        if ["0", nil].contains(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"]) {
            log("OpenBLAS does not know this CPU model and chose its slow Prescott kernels; restarting with OPENBLAS_CORETYPE=\(better)")
        }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        log("warning: restart failed (\(String(cString: strerror(errno)))); continuing with Prescott kernels")
    }
}
