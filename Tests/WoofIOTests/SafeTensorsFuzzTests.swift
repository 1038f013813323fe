import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofIO

/// A deterministic mutation fuzzer for the safetensors reader: random bytes, bit flips of
/// valid files, truncations, huge declared lengths, out-of-range and overlapping offsets,
/// other dtypes, shape/size mismatches, duplicate keys and non-UTF-8 headers. Every case
/// must either parse into a consistent file or be rejected with a message naming the file.
/// `make test` runs 5,000 cases; `make fuzz` sets WOOF_FUZZ_CASES (≥ 100,000).
final class SafeTensorsFuzzTests: XCTestCase {
    var rng = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["WOOF_FUZZ_SEED"] ?? "") ?? 2026)

    func validFile() -> Data {
        var tensors: [String: NamedTensor] = [:]
        for i in 0..<(1 + Int(rng.next() % 4)) {
            let shape = (0..<(1 + Int(rng.next() % 3))).map { _ in 1 + Int(rng.next() % 4) }
            tensors["t\(i).weight"] = NamedTensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.normal() })
        }
        return SafeTensorsFile.encode(tensors, metadata: rng.next() % 2 == 0 ? ["k": "v"] : [:])
    }

    func headerJSON(_ d: Data) -> (len: Int, json: String)? {
        guard d.count >= 8 else { return nil }
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard n <= d.count - 8 else { return nil }
        return (n, String(decoding: d.subdata(in: 8..<(8 + n)), as: UTF8.self))
    }

    func withHeader(_ json: String, body: Data) -> Data {
        var out = Data()
        var n = UInt64(json.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(json.utf8)); out.append(body)
        return out
    }

    func mutate(_ base: Data) -> (String, Data) {
        var d = base
        switch rng.next() % 10 {
        case 0:
            return ("random bytes", Data((0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        case 1:
            for _ in 0..<(1 + Int(rng.next() % 8)) { let i = Int(rng.next() % UInt64(d.count)); d[i] ^= UInt8(1) << (rng.next() % 8) }
            return ("bit flips", d)
        case 2:
            return ("truncation", d.prefix(Int(rng.next() % UInt64(d.count))))
        case 3:
            var n = [UInt64.max, UInt64(Int.max), UInt64(1) << 40, UInt64(d.count), rng.next() % 1000][Int(rng.next() % 5)].littleEndian
            withUnsafeBytes(of: &n) { d.replaceSubrange(0..<8, with: $0) }
            return ("header length", d)
        default:
            guard let (n, json) = headerJSON(d) else { return ("as is", d) }
            let body = d.subdata(in: (8 + n)..<d.count)
            var j = json
            switch rng.next() % 7 {
            case 0: // offsets out of range / overlapping / negative
                let a = [Int(rng.next() % 64), -4, body.count + 4, Int.max / 2, 0][Int(rng.next() % 5)]
                let b = [a + 4, a, body.count * 2, 3][Int(rng.next() % 4)]
                if let r = j.range(of: #"\[[0-9]+,[0-9]+\]"#, options: .regularExpression) { j.replaceSubrange(r, with: "[\(a),\(b)]") }
                return ("offsets", withHeader(j, body: body))
            case 1:
                j = j.replacingOccurrences(of: "\"F32\"", with: ["\"F16\"", "\"I64\"", "\"BF16\"", "\"\"", "7"][Int(rng.next() % 5)])
                return ("dtype", withHeader(j, body: body))
            case 2: // shape that disagrees with the byte range
                if let r = j.range(of: #""shape":\[[0-9,]*\]"#, options: .regularExpression) {
                    j.replaceSubrange(r, with: ["\"shape\":[99999999,99999999]", "\"shape\":[]", "\"shape\":[-1]", "\"shape\":[2.5]", "\"shape\":\"x\""][Int(rng.next() % 5)])
                }
                return ("shape", withHeader(j, body: body))
            case 3: // duplicate key
                if let r = j.range(of: #""t0\.weight":\{[^}]*\}"#, options: .regularExpression) {
                    j.insert(contentsOf: String(j[r]) + ",", at: r.lowerBound)
                }
                return ("duplicate key", withHeader(j, body: body))
            case 4: // non-UTF-8 bytes in the header
                var h = Data(j.utf8)
                h.insert(contentsOf: [0xC3, 0x28, 0xFF], at: Int(rng.next() % UInt64(h.count)))
                var out = Data(); var len = UInt64(h.count).littleEndian
                withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
                out.append(h); out.append(body)
                return ("non-UTF-8", out)
            case 5: // broken JSON
                j.removeLast(1 + Int(rng.next() % UInt64(min(5, j.count))))
                return ("broken JSON", withHeader(j, body: body))
            default: // header declaring more data than present
                return ("body truncated", withHeader(j, body: body.prefix(max(0, body.count - 1 - Int(rng.next() % 8)))))
            }
        }
    }

    func testMutatedFilesAreParsedConsistentlyOrRejectedWithAMessage() {
        let cases = Int(ProcessInfo.processInfo.environment["WOOF_FUZZ_CASES"] ?? "") ?? 5000
        var rejected: [String: Int] = [:], accepted = 0
        for c in 0..<cases {
            let (kind, bytes) = mutate(validFile())
            do {
                let f = try SafeTensorsFile(path: "fuzz-\(c).safetensors", bytes: bytes)
                // Accepted: everything it holds must be self-consistent.
                for name in f.names { let t = f[name]!; XCTAssertEqual(t.shape.reduce(1, *), t.count, "case \(c) (\(kind))") }
                XCTAssertEqual(Set(f.names).count, f.names.count)
                accepted += 1
            } catch let e as SafeTensorsError {
                XCTAssertEqual(e.path, "fuzz-\(c).safetensors")
                XCTAssertFalse(e.problem.isEmpty, "case \(c) (\(kind)): empty message")
                rejected[kind, default: 0] += 1
            } catch {
                XCTFail("case \(c) (\(kind)): unexpected error type \(type(of: error)): \(error)")
            }
        }
        print("[fuzz] safetensors: \(cases) cases, \(accepted) accepted consistently, rejected by kind: \(rejected.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(rejected.values.reduce(0, +), cases / 2, "most mutations must be caught")
    }

    func testDuplicateKeysAreRejected() {
        let body = Data(count: 8)
        let bytes = withHeader(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, body: body)
        XCTAssertThrowsError(try SafeTensorsFile(path: "d.safetensors", bytes: bytes)) {
            XCTAssertEqual("\($0)", "d.safetensors: header names 'a' more than once")
        }
        // Nested keys with the same name are fine.
        let ok = withHeader(#"{"__metadata__":{"a":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, body: Data(count: 4))
        XCTAssertNoThrow(try SafeTensorsFile(path: "ok.safetensors", bytes: ok))
    }
}
