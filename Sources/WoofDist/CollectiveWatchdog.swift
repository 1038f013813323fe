import Foundation

/// Ends the job when this rank has waited in one collective longer than a timeout: a rank
/// that is stopped (SIGSTOP), hung or on a lost node otherwise leaves every other rank
/// waiting forever. The rank exits without finalizing MPI, and mpirun then ends the rest,
/// the unresponsive rank included.
public enum CollectiveWatchdog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var since = 0.0
    nonisolated(unsafe) private static var started = false

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Runs `body`, a blocking collective, with the clock running.
    @inline(__always)
    static func waiting<T>(_ body: () -> T) -> T {
        lock.lock(); since = now(); lock.unlock()
        defer { lock.lock(); since = 0; lock.unlock() }
        return body()
    }

    /// Seconds this rank has been waiting in the current collective (0 outside one).
    public static var waitedSeconds: Double {
        lock.lock(); defer { lock.unlock() }
        return since == 0 ? 0 : now() - since
    }

    /// Starts the watchdog thread (once per process). `context` says where the run is (for
    /// the message); `peers` lets it name the rank that stopped; `report` prints it.
    public static func start(timeout: Double, rank: Int, peers: [RankProcess], context: @escaping () -> String, report: @escaping (String) -> Void) {
        lock.lock(); defer { lock.unlock() }
        guard timeout > 0, !started else { return }
        started = true
        let t = Thread {
            while true {
                Thread.sleep(forTimeInterval: min(1, timeout / 4))
                let waited = waitedSeconds
                guard waited > timeout else { continue }
                report(String(format: "error: rank %d waited %.0f s in a collective (%@): %@; ending the job (--rank-timeout %g)",
                              rank, waited, context(), RankProcess.diagnosis(of: peers, excluding: rank), timeout))
                _exit(1)
            }
        }
        t.name = "woof-collective-watchdog"
        t.start()
    }
}
