import Foundation

/// Progress of a long loop: a redrawn bar with rate and ETA on a terminal, or a plain line
/// every `lineEvery` items otherwise (so log files stay readable).
public final class Progress {
    let title: String
    let total: Int
    let unit: String
    let isTTY: Bool
    let lineEvery: Int
    let start = Date()
    var done = 0
    /// Items already done when this process started (a resumed run): not counted in the rate.
    var resumedAt = 0
    var lastLine = 0
    /// Extra text shown after the rate (e.g. the running loss).
    public var status = ""
    let output: (String) -> Void
    public var enabled = true

    public init(_ title: String, total: Int, unit: String = "img", lineEvery: Int? = nil,
                output: ((String) -> Void)? = nil) {
        self.title = title; self.total = total; self.unit = unit
        isTTY = isatty(STDERR_FILENO) != 0
        self.lineEvery = lineEvery ?? max(1, total / 10)
        self.output = output ?? { FileHandle.standardError.write($0.data(using: .utf8)!) }
    }

    /// Starts from `n` items already done (resuming), without counting them in the rate.
    public func resume(at n: Int) {
        done = n; resumedAt = n; lastLine = n
    }

    public func advance(by n: Int) {
        done += n
        guard enabled else { return }
        if isTTY { output("\r" + line(bar: true)) }
        else if done - lastLine >= lineEvery || done >= total { lastLine = done; output(line(bar: false) + "\n") }
    }

    public func finish() {
        guard enabled else { return }
        if isTTY { output("\r" + line(bar: true) + "\n") }
    }

    func line(bar: Bool) -> String {
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - resumedAt) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let frac = total > 0 ? Double(done) / Double(total) : 1
        var s = title + " "
        if bar { let w = 24, filled = Int(frac * Double(w)); s += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: w - filled) + "] " }
        s += "\(done)/\(total) " + String(format: "%.1f %@/s", rate, unit) + " ETA " + Progress.clock(eta)
        if !status.isEmpty { s += " " + status }
        return s
    }

    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
