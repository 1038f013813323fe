import XCTest
import WoofTestSupport
@testable import WoofIO

final class SafeTensorsTests: XCTestCase {
    func tmp(_ name: String) -> String { NSTemporaryDirectory() + "woof-st-\(getpid())-\(name)" }

    func header(_ json: String, data: [UInt8] = []) -> Data {
        var d = Data()
        var n = UInt64(json.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(json.utf8)); d.append(contentsOf: data)
        return d
    }

    func expectError(_ bytes: Data, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(path: "x.safetensors", bytes: bytes), file: file, line: line) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.hasPrefix("x.safetensors: "), "error does not name the file: \(msg)", file: file, line: line)
            XCTAssertTrue(msg.contains(fragment), "expected '\(fragment)' in: \(msg)", file: file, line: line)
        }
    }

    func testRoundTrip() throws {
        let path = tmp("rt.safetensors")
        defer { unlink(path) }
        let a = NamedTensor(shape: [2, 3], data: [1, -2, 3.5, 4, 5, .pi])
        let b = NamedTensor(shape: [1], data: [7])
        let c = NamedTensor(shape: [0], data: [])
        try SafeTensorsFile.write(["a.weight": a, "b": b, "empty": c], metadata: ["k": "v\"q"], to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f["a.weight"]!.shape, [2, 3]); XCTAssertEqual(f["a.weight"]!.data, a.data)
        XCTAssertEqual(f["b"]!.data, [7]); XCTAssertEqual(f["empty"]!.count, 0)
        XCTAssertEqual(f.metadata["k"], "v\"q")
    }

    func testReadsGoldenFile() throws {
        let f = try SafeTensorsFile(path: sharedPath("golden/tiny_vit.safetensors"))
        XCTAssertEqual(f["blocks.0.attn.qkv.weight"]!.shape, [144, 48])
        XCTAssertEqual(f["cls_token"]!.shape, [1, 1, 48])
    }

    func testTruncatedFile() throws {
        let good = SafeTensorsFile.encode(["w": NamedTensor(shape: [4], data: [1, 2, 3, 4])])
        expectError(good.prefix(good.count - 3), "outside")
        expectError(good.prefix(5), "shorter than the 8-byte")
    }

    func testHeaderLengthPastEnd() {
        var d = Data(); var n = UInt64(1000).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array("{}".utf8))
        expectError(d, "runs past the end")
        var huge = Data(); var h = UInt64.max.littleEndian
        withUnsafeBytes(of: &h) { huge.append(contentsOf: $0) }
        expectError(huge, "implausibly large")
    }

    func testOffsetsOutOfRange() {
        expectError(header(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "outside")
        expectError(header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8)), "out of order")
        expectError(header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: [0, 0, 0, 0]), "out of order")
    }

    func testOverlap() {
        expectError(header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                           data: [UInt8](repeating: 0, count: 12)), "overlap")
    }

    func testWrongShape() {
        expectError(header(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "needs 12 bytes")
        expectError(header(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "invalid dimension")
        expectError(header(#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "invalid dimension")
    }

    func testOtherDtype() {
        expectError(header(#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "only F32")
    }

    func testNonJSONHeader() {
        expectError(header("this is not json", data: []), "not valid JSON")
        expectError(header("[1,2]", data: []), "not an object")
        // Bad JSON in a value the reader does not otherwise look at is still bad JSON.
        expectError(header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[0-4]}}"#, data: [0, 0, 0, 0]), "not valid JSON")
        expectError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":\"\u{1}\"}}", data: [0, 0, 0, 0]),
                    "not valid JSON")
        expectError(header(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k":1}}"#, data: [0, 0, 0, 0]),
                    "__metadata__ value for 'k' is not a string")
        expectError(header(#"{"w":[1]}"#, data: []), "entry 'w' is not an object")
        var bad = Data(); var n = UInt64(2).littleEndian
        withUnsafeBytes(of: &n) { bad.append(contentsOf: $0) }
        bad.append(contentsOf: [0xff, 0xfe])
        expectError(bad, "UTF-8")
    }

    func testMissingFileIsNamed() {
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/w.safetensors")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/w.safetensors: no such file")
        }
    }
}

final class SafeTensorsPathTests: XCTestCase {
    func testADirectoryIsNamedNotAFoundationError() {
        XCTAssertThrowsError(try SafeTensorsFile(path: NSTemporaryDirectory())) {
            XCTAssertTrue("\($0)".contains("is a directory, not a safetensors file"), "\($0)")
        }
    }
}
