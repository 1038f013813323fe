import XCTest
import WoofTestSupport
import WoofCore
@testable import WoofData

/// Decoding of generated fixtures (no binary files are committed: JPEGs are written by
/// libjpeg through the shim at run time). Expected hashes/pixels were computed once by
/// decoding the very same bytes with Pillow 13.0.0 (`Image.open(f).convert("RGB")`).
final class DecodeTests: XCTestCase {
    /// Gray 12x10 (19x + 23y), CMYK 12x10 and RGB 16x12 patterns of the Pillow reference run.
    static func fixture(_ kind: Int) -> Data {
        switch kind {
        case 1:
            var g = [UInt8](repeating: 0, count: 120)
            for y in 0..<10 { for x in 0..<12 { g[y * 12 + x] = UInt8((x * 19 + y * 23) % 256) } }
            return try! encodeJPEG(pixels: g, width: 12, height: 10, components: 1, quality: 90)
        case 4:
            var c = [UInt8](repeating: 0, count: 480)
            for y in 0..<10 {
                for x in 0..<12 {
                    let o = (y * 12 + x) * 4
                    c[o] = UInt8((x * 20) % 256); c[o + 1] = UInt8((y * 25) % 256)
                    c[o + 2] = UInt8(((x + y) * 10) % 256); c[o + 3] = UInt8((x * y * 3) % 256)
                }
            }
            return try! encodeJPEG(pixels: c, width: 12, height: 10, components: 4, quality: 90)
        default:
            var p = [UInt8](repeating: 0, count: 16 * 12 * 3)
            for y in 0..<12 {
                for x in 0..<16 {
                    let o = (y * 16 + x) * 3
                    p[o] = UInt8((x * 16) % 256); p[o + 1] = UInt8((y * 21) % 256); p[o + 2] = UInt8((x * y * 5) % 256)
                }
            }
            return try! encodeJPEG(pixels: p, width: 16, height: 12, components: 3, quality: 90)
        }
    }

    func testGrayscaleDecodesToReplicatedRGBLikePillow() throws {
        let data = Self.fixture(1)
        let header = try readJPEGHeader(data: data)
        XCTAssertEqual(header.components, 1)
        let im = try decodeJPEG(data: data)
        XCTAssertEqual(im.width, 12); XCTAssertEqual(im.height, 10)
        XCTAssertEqual(Array(im.pixels[0..<9]), [3, 3, 3, 16, 16, 16, 41, 41, 41])
        XCTAssertTrue(im[7, 5] == (246, 246, 246))
        XCTAssertEqual(fnv1a(im.pixels), 0xad4d_203f_0ac1_f74c)
    }

    func testCMYKDecodesLikePillowConvertRGB() throws {
        let data = Self.fixture(4)
        XCTAssertEqual(try readJPEGHeader(data: data).components, 4)
        let im = try decodeJPEG(data: data)
        XCTAssertEqual(im.width, 12); XCTAssertEqual(im.height, 10)
        XCTAssertTrue(im[11, 9] == (42, 43, 38))
        XCTAssertTrue(im[7, 5] == (58, 51, 49))
        XCTAssertEqual(fnv1a(im.pixels), 0xddfb_a755_2f4d_1fd9)
    }

    func testRGBDecodesLikePillow() throws {
        let im = try decodeJPEG(data: Self.fixture(3))
        XCTAssertEqual(im.width, 16); XCTAssertEqual(im.height, 12)
        XCTAssertTrue(im[15, 11] == (237, 223, 124))
        XCTAssertTrue(im[7, 5] == (118, 107, 150))
        XCTAssertEqual(fnv1a(im.pixels), 0xc9a8_6f53_985e_80a3)
    }

    private func assertFails(_ data: Data, _ kind: ImageDecodeError.Kind, _ needle: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let dir = ScratchDir()
        dir.write("bad.JPEG", data)
        let path = dir.path + "/bad.JPEG"
        XCTAssertThrowsError(try decodeJPEG(path: path), file: file, line: line) { error in
            guard let e = error as? ImageDecodeError else { return XCTFail("wrong error type \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(path), "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.lowercased().contains(needle), "\(e)", file: file, line: line)
        }
    }

    func testBadFilesGiveClearErrors() {
        let good = Self.fixture(3)
        assertFails(Data(), .empty, "empty")
        assertFails(good.prefix(good.count / 2), .truncated, "truncated")
        assertFails(good.prefix(300), .truncated, "truncated")
        assertFails(good.prefix(2), .truncated, "truncated")
        var rng = SplitMix64(keys: 42)
        assertFails(Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), .notJPEG, "not a jpeg")
        // A PNG renamed to .JPEG (signature + IHDR of a 1x1 image).
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
                            0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE]
        assertFails(Data(png), .notJPEG, "png")
        // SOI followed by garbage: libjpeg's own error, returned instead of exit().
        var garbage = Data([0xFF, 0xD8])
        garbage.append(Data((0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next() | 1) }))
        XCTAssertThrowsError(try decodeJPEG(data: garbage, name: "garbage"))
        // Random corruption in the entropy-coded data never crashes (may decode with artefacts).
        for trial in 0..<50 {
            var bytes = [UInt8](good)
            for _ in 0..<8 { bytes[200 + rng.int(below: bytes.count - 200)] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? decodeJPEG(data: Data(bytes), name: "corrupt-\(trial)")
        }
        // Without the final EOI marker: truncated, as Pillow reports it.
        assertFails(good.prefix(good.count - 2), .truncated, "truncated")
        // Missing file.
        XCTAssertThrowsError(try decodeJPEG(path: "/nonexistent/x.JPEG")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/x.JPEG") && "\(e)".contains("no such file"), "\(e)")
        }
    }

    func testHugeDeclaredSizeIsRefusedBeforeAllocation() throws {
        // Patch the SOF0 height/width of a valid file to 60000 x 60000.
        var bytes = [UInt8](Self.fixture(3))
        var i = 2
        var patched = false
        while i + 9 < bytes.count {
            guard bytes[i] == 0xFF else { i += 1; continue }
            let marker = bytes[i + 1]
            let len = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if marker == 0xC0 || marker == 0xC2 {
                bytes[i + 5] = 0xEA; bytes[i + 6] = 0x60; bytes[i + 7] = 0xEA; bytes[i + 8] = 0x60
                patched = true
                break
            }
            i += 2 + len
        }
        XCTAssertTrue(patched)
        XCTAssertEqual(try readJPEGHeader(data: Data(bytes)).width, 60000)
        XCTAssertThrowsError(try decodeJPEG(data: Data(bytes), name: "huge")) { e in
            XCTAssertEqual((e as? ImageDecodeError)?.kind, .tooLarge, "\(e)")
        }
    }
}
