import Foundation

/// Exclusive use of a run's output directory: a `flock` on `<dir>/.lock` held while the
/// process lives, so two runs into one `--out` cannot both write it. Also clears the temp
/// files of writes a killed process left behind.
public final class RunDirectoryLock {
    public let path: String
    private let fd: Int32

    /// Takes the lock or fails naming the directory and the process that holds it.
    public init(directory: String) throws {
        path = directory + "/.lock"
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw FileFormatError("\(path): cannot open the run's lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw FileFormatError("\(directory): another run (pid \(holder)) is writing this directory; wait for it, or choose another --out")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { Foundation.write(fd, $0, strlen($0)) }
    }

    deinit { flock(fd, LOCK_UN); close(fd) }

    /// Removes `.<name>.tmp-<pid>` files (AtomicFile's temp files) whose writer is gone.
    /// Returns the names removed.
    @discardableResult
    public static func removeStaleTempFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[r.upperBound...]) else { continue }
            // The writer is alive (kill 0 succeeds, or fails only for permission): leave it.
            if pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }
}
