import XCTest
import WoofTestSupport
@testable import WoofIO

/// JSONFile: records round-trip, and a file that does not decode fails as
/// `<path>: <field>: <problem>`; versions default to 1 and newer ones are refused.
final class JSONFileTests: XCTestCase {
    struct Inner: Codable, Equatable { var cores: Int; var names: [String] }

    struct Record: VersionedRecord, Equatable {
        static let currentVersion = 1
        @RecordVersion<Record> var version = Record.currentVersion
        var name: String
        var top1: Double
        var steps: Int
        var inner: Inner
        @ExplicitNull var commit: String? = nil
        var best: Double?
    }

    let sample = Record(name: "run/a", top1: 0.9307711885976075, steps: 282, inner: Inner(cores: 2, names: ["qkv", "proj"]))

    func expectError(_ json: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONFile.decode(Record.self, from: Data(json.utf8), path: "out/summary.json"), file: file, line: line) {
            XCTAssertEqual("\($0)", message, file: file, line: line)
            XCTAssert($0 is FileFormatError, file: file, line: line)
        }
    }

    func testRecordRoundTripsThroughAFile() throws {
        let dir = ScratchDir("woof-json")
        var r = sample
        r.best = 0.94
        try JSONFile.write(r, to: dir.file("r.json"))
        XCTAssertEqual(try JSONFile.read(Record.self, from: dir.file("r.json")), r)
        let text = try String(contentsOfFile: dir.file("r.json"), encoding: .utf8)
        XCTAssert(text.hasPrefix("{\n  \"best\" : 0.94,\n  \"commit\" : null,\n"), text)  // sorted keys, explicit null
        XCTAssert(text.contains("\"version\" : 1\n}\n"), text)
        XCTAssert(text.contains("\"name\" : \"run\\/a\""), text)
        // Without `best`, the key is left out; `commit` stays an explicit null.
        let line = try JSONFile.line(sample)
        XCTAssertFalse(line.contains("best"), line)
        XCTAssert(line.contains("\"commit\":null"), line)
        XCTAssertNil(try JSONFile.readIfPresent(Record.self, from: dir.file("absent.json")))
        XCTAssertThrowsError(try JSONFile.read(Record.self, from: dir.file("absent.json"), missing: "run `make full`")) {
            XCTAssertEqual("\($0)", dir.file("absent.json") + ": missing (run `make full`)")
        }
    }

    func testAFileWithoutVersionReadsAsVersionOne() throws {
        let json = #"{"name": "a", "top1": 0.5, "steps": 3, "inner": {"cores": 2, "names": []}}"#
        let r = try JSONFile.decode(Record.self, from: Data(json.utf8), path: "old.json")
        XCTAssertEqual(r.version, 1)
        XCTAssertNil(r.commit)
        XCTAssertNil(r.best)
    }

    func testMissingAndMistypedFieldsAreNamed() {
        let inner = #""inner": {"cores": 2, "names": ["qkv"]}"#
        expectError(#"{"name": "a", "steps": 3, \#(inner)}"#, "out/summary.json: top1: missing")
        expectError(#"{"name": "a", "top1": "high", "steps": 3, \#(inner)}"#, "out/summary.json: top1: expected a number")
        expectError(#"{"name": "a", "top1": 0.5, "steps": null, \#(inner)}"#, "out/summary.json: steps: null, expected an integer")
        expectError(#"{"name": "a", "top1": 0.5, "steps": 3, "inner": {"cores": "two", "names": []}}"#,
                    "out/summary.json: inner.cores: expected an integer")
        expectError(#"{"name": "a", "top1": 0.5, "steps": 3, "inner": {"cores": 2, "names": ["qkv", 7]}}"#,
                    "out/summary.json: inner.names[1]: expected text")
        // Foundation reports these without a path; JSONFile finds the number.
        expectError(#"{"name": "a", "top1": 0.5, "steps": 2.5, \#(inner)}"#, "out/summary.json: steps: expected an integer, found 2.5")
        expectError(#"{"name": "a", "top1": 0.5, "steps": 3, "inner": {"cores": 1e30, "names": []}}"#,
                    "out/summary.json: inner.cores: 1e+30 is out of range")
        expectError(#"{"name": "a", "#, "out/summary.json: not valid JSON")
        expectError(#"[1, 2]"#, "out/summary.json: not a JSON object")
    }

    func testANewerVersionIsRefused() {
        expectError(#"{"version": 2, "name": "a", "top1": 0.5, "steps": 3, "inner": {"cores": 2, "names": []}}"#,
                    "out/summary.json: version: 2 is newer than this build reads (1)")
        // The version is checked first, so a newer file's other changes do not hide it.
        expectError(#"{"version": 3, "top1": "moved"}"#, "out/summary.json: version: 3 is newer than this build reads (1)")
    }

    func testJSONLinesNameTheLine() throws {
        let dir = ScratchDir("woof-jsonl")
        let good = try JSONFile.line(sample)
        try Data((good + "\n" + good + "\n").utf8).write(to: URL(fileURLWithPath: dir.file("m.jsonl")))
        XCTAssertEqual(try JSONFile.readLines(Record.self, from: dir.file("m.jsonl")), [sample, sample])
        try Data((good + "\n" + good.replacingOccurrences(of: "\"steps\":282,", with: "") + "\n").utf8)
            .write(to: URL(fileURLWithPath: dir.file("m.jsonl")))
        XCTAssertThrowsError(try JSONFile.readLines(Record.self, from: dir.file("m.jsonl"))) {
            XCTAssertEqual("\($0)", dir.file("m.jsonl") + ": line 2: steps: missing")
        }
    }

    func testRequireNamesTheField() throws {
        XCTAssertEqual(try JSONFile.require(Optional(3), "steps", in: "s.json"), 3)
        XCTAssertThrowsError(try JSONFile.require(Int?.none, "final_val_top1", in: "out/full_model/summary.json")) {
            XCTAssertEqual("\($0)", "out/full_model/summary.json: final_val_top1: missing")
        }
    }
}
