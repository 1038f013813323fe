import Foundation

// What every test target needs: the shared reference files beside the repository, scratch
// directories, and the executables built next to the test bundle.

/// The package root (three levels above this file).
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A path under ../shared (next to the repository), or under $WOOF_SHARED.
public func sharedPath(_ rel: String) -> String {
    let root = ProcessInfo.processInfo.environment["WOOF_SHARED"] ?? (packageRoot + "/../shared")
    return root + "/" + rel
}

/// The shared data, golden tensors and weights.
public enum TestPaths {
    public static let sharedData = sharedPath("data/imagewoof2-256")
    public static let golden = sharedPath("golden/vit_tiny_pretrained_io.safetensors")
}

/// A fresh temporary directory, removed when the object goes away.
public final class ScratchDir {
    public let path: String

    public init(_ prefix: String = "woof-test") {
        path = NSTemporaryDirectory() + "/\(prefix)-\(getpid())-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `data` at `rel`, creating its directories.
    public func write(_ rel: String, _ data: Data) {
        let full = path + "/" + rel
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        try! data.write(to: URL(fileURLWithPath: full))
    }

    public func mkdir(_ rel: String) {
        try! FileManager.default.createDirectory(atPath: path + "/" + rel, withIntermediateDirectories: true)
    }
}

/// An executable of this package (`woof-dist`, `dist-check`) built next to the test bundle.
public func builtExecutable(_ name: String) -> String {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return packageRoot + "/.build/release/" + name
}

/// Relative L2 error of `a` against the reference `b`.
public func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for i in 0..<a.count { let d = Double(a[i]) - Double(b[i]); num += d * d; den += Double(b[i]) * Double(b[i]) }
    return num.squareRoot() / max(den.squareRoot(), 1e-30)
}

/// Runs `executable` with `arguments` to completion; returns its exit status and its
/// standard output and error together.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       in directory: String? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    p.standardOutput = pipe; p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
