import Foundation

/// SIGINT and SIGTERM during training: the first asks the trainer to stop after the current
/// step, write a checkpoint and say how to resume (exit 130 / 143); a second ends the
/// process at once. The handler only stores the signal number and writes a fixed message.
public enum StopSignal {
    /// The first signal received, 0 while none.
    nonisolated(unsafe) static var received: Int32 = 0
    nonisolated(unsafe) static var message: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var installed = false

    /// Installs the handlers (once per process).
    public static func install() {
        guard !installed else { return }
        installed = true
        received = 0
        message = strdup("\nstopping after the current step and writing a checkpoint (signal again to stop at once)\n")
        for s in [SIGINT, SIGTERM] {
            signal(s) { sig in
                if StopSignal.received != 0 { _exit(128 + sig) }
                StopSignal.received = sig
                if let m = StopSignal.message { _ = write(2, m, strlen(m)) }
            }
        }
    }

    /// The signal that asked for a stop, nil if none did.
    public static var pending: Int32? { received == 0 ? nil : received }

    /// For tests: as if `sig` had been received.
    public static func simulate(_ sig: Int32) { received = sig }
    public static func reset() { received = 0 }

    /// The conventional exit status for a run stopped by `sig` (130 for SIGINT, 143 for SIGTERM).
    public static func exitStatus(_ sig: Int32) -> Int32 { 128 + sig }
}
