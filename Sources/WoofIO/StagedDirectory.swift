import Foundation

/// Changes a directory as a set: the work happens on a copy, and only when it has all
/// succeeded are the copy's new, changed and removed files carried over, each by an atomic
/// rename. A failure part-way (a missing input, a number without a format rule) leaves the
/// directory exactly as it was, instead of half the files new and half old.
public enum StagedDirectory {
    /// Runs `body` on a copy of `dir` (created empty when `dir` does not exist) and, when it
    /// returns, makes `dir` what the copy became. The copy is removed either way.
    public static func update<T>(_ dir: String, _ body: (_ staging: String) throws -> T) throws -> T {
        let fm = FileManager.default
        // Absolute, so the copy is a sibling even for "." or "results/".
        let base = URL(fileURLWithPath: dir).standardizedFileURL.path
        let staging = base + ".staging-\(getpid())"
        try? fm.removeItem(atPath: staging)
        do {
            if fm.fileExists(atPath: base) { try fm.copyItem(atPath: base, toPath: staging) }
            else { try fm.createDirectory(atPath: staging, withIntermediateDirectories: true) }
        } catch {
            throw SafeTensorsError(base, "cannot make a working copy at \(staging): \(error.localizedDescription)")
        }
        defer { try? fm.removeItem(atPath: staging) }
        let result = try body(staging)
        try commit(staging, into: base)
        return result
    }

    /// `path` with a staging directory's prefix turned back into the directory's own.
    public static func original(_ path: String, staging: String, dir: String) -> String {
        path.hasPrefix(staging) ? dir + path.dropFirst(staging.count) : path
    }

    /// Moves the files that differ into `dir`, then removes those the copy no longer has.
    static func commit(_ staging: String, into dir: String) throws {
        let fm = FileManager.default
        let new = try files(under: staging), old = Set(try files(under: dir))
        for f in new where !fm.contentsEqual(atPath: staging + "/" + f, andPath: dir + "/" + f) {
            let target = dir + "/" + f
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard rename(staging + "/" + f, target) == 0 else {
                throw SafeTensorsError(target, "rename from \(staging) failed: \(String(cString: strerror(errno)))")
            }
        }
        for f in old.subtracting(new) { try fm.removeItem(atPath: dir + "/" + f) }
    }

    /// Regular files under `dir`, as paths relative to it (none when `dir` does not exist).
    public static func files(under dir: String) throws -> [String] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir) else { return [] }
        return try fm.subpathsOfDirectory(atPath: dir).filter { p in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: dir + "/" + p, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }
}
