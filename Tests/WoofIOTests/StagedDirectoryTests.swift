import XCTest
import WoofTestSupport
@testable import WoofIO

/// StagedDirectory: a directory changes as a set — all of the work's new, changed and
/// removed files when it succeeds, none of them when it throws — and no working copy is left.
final class StagedDirectoryTests: XCTestCase {
    struct Failed: Error {}

    func contents(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for f in try StagedDirectory.files(under: dir) { out[f] = try String(contentsOfFile: dir + "/" + f, encoding: .utf8) }
        return out
    }

    func leftovers(_ scratch: ScratchDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".staging-") }
    }

    func testChangesLandTogetherOrNotAtAll() throws {
        let scratch = ScratchDir("woof-staged"), dir = scratch.file("results")
        scratch.write("results/kept.csv", Data("kept\n".utf8))
        scratch.write("results/changed.csv", Data("old\n".utf8))
        scratch.write("results/gone.tex", Data("gone\n".utf8))
        scratch.write("results/attention/00.jpg", Data("jpg\n".utf8))
        let before = try contents(dir)
        func edit(_ staging: String) throws {
            try AtomicFile.write(Data("new\n".utf8), to: staging + "/changed.csv")
            try AtomicFile.write(Data("added\n".utf8), to: staging + "/added.json")
            try FileManager.default.createDirectory(atPath: staging + "/sub", withIntermediateDirectories: true)
            try AtomicFile.write(Data("deep\n".utf8), to: staging + "/sub/deep.csv")
            try FileManager.default.removeItem(atPath: staging + "/gone.tex")
        }
        // A failure after every edit: nothing changes.
        XCTAssertThrowsError(try StagedDirectory.update(dir) { staging in try edit(staging); throw Failed() }) { XCTAssert($0 is Failed) }
        XCTAssertEqual(try contents(dir), before)
        XCTAssertEqual(try leftovers(scratch), [])
        // Success: every edit, and the untouched files as they were.
        let value = try StagedDirectory.update(dir + "/") { staging -> Int in try edit(staging); return 7 }
        XCTAssertEqual(value, 7)
        XCTAssertEqual(try contents(dir), ["kept.csv": "kept\n", "changed.csv": "new\n", "added.json": "added\n",
                                           "sub/deep.csv": "deep\n", "attention/00.jpg": "jpg\n"])
        XCTAssertEqual(try leftovers(scratch), [])
    }

    func testAMissingDirectoryIsCreatedOnlyOnSuccess() throws {
        let scratch = ScratchDir("woof-staged"), dir = scratch.file("new/results")
        XCTAssertThrowsError(try StagedDirectory.update(dir) { staging in
            try AtomicFile.write(Data("x".utf8), to: staging + "/a.csv"); throw Failed()
        })
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
        try StagedDirectory.update(dir) { staging in try AtomicFile.write(Data("x".utf8), to: staging + "/a.csv") }
        XCTAssertEqual(try contents(dir), ["a.csv": "x"])
        XCTAssertEqual(StagedDirectory.original(scratch.path + "/s/a.csv", staging: scratch.path + "/s", dir: "results"), "results/a.csv")
    }
}
