import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofData

/// Mutated real JPEGs (bit flips, truncations, overwritten markers, random bytes) through
/// decode and both transforms: each decodes to a valid image or fails with a message naming
/// the input — never a crash. 600 cases in `make test`; `make fuzz` sets WOOF_FUZZ_CASES.
final class JPEGFuzzTests: XCTestCase {
    func testMutatedJPEGsDecodeOrFailCleanly() throws {
        let cases = (Int(ProcessInfo.processInfo.environment["WOOF_FUZZ_CASES"] ?? "") ?? 5000) / 8
        let dir = TestPaths.sharedData + "/val/n02086240"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().prefix(4)
        let seeds = try names.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) }
        var rng = SplitMix64(seed: 77)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 3 * 224 * 224)
        defer { out.deallocate() }
        var decoded = 0, rejected = 0
        for c in 0..<cases {
            var d = seeds[c % seeds.count]
            switch rng.next() % 5 {
            case 0: for _ in 0..<(1 + Int(rng.next() % 16)) { let i = Int(rng.next() % UInt64(d.count)); d[i] ^= UInt8(1) << (rng.next() % 8) }
            case 1: d = d.prefix(Int(rng.next() % UInt64(d.count)))
            case 2: // overwrite bytes right after a marker (SOF/DHT/DQT lengths and dimensions)
                let i = Int(rng.next() % UInt64(min(d.count, 700)))
                for k in i..<min(d.count, i + 4) { d[k] = UInt8(truncatingIfNeeded: rng.next()) }
            case 3: d = Data((0..<Int(rng.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            default: let i = Int(rng.next() % UInt64(d.count)); d.insert(contentsOf: [0xFF, 0xD9], at: i)
            }
            do {
                let img = try decodeJPEG(data: d, name: "case-\(c).jpg")
                XCTAssertEqual(img.pixels.count, img.width * img.height * 3)
                evalTransform(img, into: out)
                trainTransform(img, seed: 1, epoch: 0, index: c, into: out)
                decoded += 1
            } catch {
                XCTAssertTrue("\(error)".contains("case-\(c).jpg"), "case \(c): message does not name the input: \(error)")
                rejected += 1
            }
        }
        print("[fuzz] jpeg: \(cases) mutated files through decode + transforms: \(decoded) decoded, \(rejected) rejected with a message")
    }
}

final class JPEGEdgeCaseTests: XCTestCase {
    /// A progressive JPEG decodes to the same pixels as the baseline encoding of the same
    /// image would be expected to approximate, and a 1×1 image goes through both transforms.
    func testProgressiveAndOnePixelImages() throws {
        var rng = SplitMix64(seed: 5)
        let w = 40, h = 30
        let px = (0..<(w * h * 3)).map { i in UInt8(truncatingIfNeeded: (i % (w * 3)) * 3 + Int(rng.next() % 8)) }
        let prog = try encodeJPEG(pixels: px, width: w, height: h, components: 3, quality: 95, progressive: true)
        XCTAssertTrue(try readJPEGHeader(data: prog, name: "p.jpg").progressive, "fixture is progressive")
        let img = try decodeJPEG(data: prog, name: "p.jpg")
        XCTAssertEqual(img.width, w); XCTAssertEqual(img.height, h)
        let base = try decodeJPEG(data: try encodeJPEG(pixels: px, width: w, height: h, components: 3, quality: 95), name: "b.jpg")
        let maxDiff = zip(img.pixels, base.pixels).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThan(maxDiff, 24, "progressive and baseline decodes of one image differ by \(maxDiff)")
        let one = try decodeJPEG(data: try encodeJPEG(pixels: [200, 100, 50], width: 1, height: 1, components: 3), name: "1x1.jpg")
        XCTAssertEqual(one.width, 1); XCTAssertEqual(one.height, 1)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 3 * 224 * 224); defer { out.deallocate() }
        evalTransform(one, into: out)
        trainTransform(one, seed: 0, epoch: 0, index: 0, into: out)
        XCTAssertTrue((0..<(3 * 224 * 224)).allSatisfy { out[$0].isFinite && abs(out[$0]) <= 1 })
    }
}
