import Foundation

/// A fresh temporary directory, removed when the object goes away.
final class ScratchDir {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "woofviz-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}
