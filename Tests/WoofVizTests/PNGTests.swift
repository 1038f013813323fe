import XCTest
import WoofTestSupport
@testable import WoofViz

final class PNGTests: XCTestCase {
    func pattern(_ w: Int, _ h: Int) -> RGBCanvas {
        var c = RGBCanvas(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w { c.setPixel(x: x, y: y, RGBColor(UInt8((x * 37) & 255), UInt8((y * 91) & 255), UInt8((x ^ y) & 255))) }
        }
        return c
    }

    func testRoundTripKeepsSizeAndPixels() throws {
        let dir = ScratchDir()
        let c = pattern(37, 23)
        let path = dir.file("a.png")
        try c.writePNG(path: path)
        let back = try RGBCanvas.readPNG(path: path)
        XCTAssertEqual(back.width, 37)
        XCTAssertEqual(back.height, 23)
        XCTAssertEqual(back.pixels, c.pixels)
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["a.png"])
    }

    func testOverwriteReplacesFile() throws {
        let dir = ScratchDir()
        let path = dir.file("b.png")
        try RGBCanvas(width: 4, height: 4, background: .black).writePNG(path: path)
        try RGBCanvas(width: 6, height: 2, background: .white).writePNG(path: path)
        let back = try RGBCanvas.readPNG(path: path)
        XCTAssertEqual(back.width, 6)
        XCTAssertEqual(back.pixel(x: 5, y: 1), .white)
    }

    func testTruncatedFileGivesErrorNamingPath() throws {
        let dir = ScratchDir()
        let path = dir.file("t.png")
        try pattern(64, 64).writePNG(path: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.file("truncated.png")
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try RGBCanvas.readPNG(path: cut)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(cut), text)
            XCTAssertTrue(text.contains("PNG"), text)
        }
    }

    func testCorruptInputsGiveClearErrors() throws {
        let dir = ScratchDir()
        let cases: [(String, Data, String)] = [
            ("empty.png", Data(), "empty"),
            ("text.png", Data("hello, not an image".utf8), "not a PNG"),
            ("jpeg.png", Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46, 0x49, 0x46]), "JPEG"),
            ("sig.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]), "corrupt"),
        ]
        for (name, bytes, expected) in cases {
            let path = dir.file(name)
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try RGBCanvas.readPNG(path: path)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(path), text)
                XCTAssertTrue(text.contains(expected), "\(name): \(text)")
            }
        }
        // Flipped bytes inside the compressed data: CRC or zlib error, never a crash.
        try pattern(32, 32).writePNG(path: dir.file("ok.png"))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("ok.png"))))
        for i in stride(from: 60, to: bytes.count - 20, by: 7) { bytes[i] ^= 0x5A }
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("flipped.png")))
        XCTAssertThrowsError(try RGBCanvas.readPNG(path: dir.file("flipped.png")))
    }

    func testMissingFileAndDirectory() {
        XCTAssertThrowsError(try RGBCanvas.readPNG(path: "/nonexistent/x.png")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/x.png"))
            XCTAssertTrue("\(error)".contains("No such file"), "\(error)")
        }
        XCTAssertThrowsError(try RGBCanvas(width: 2, height: 2).writePNG(path: "/nonexistent/dir/y.png")) { error in
            guard case let VizError.writeFailed(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/dir/y.png")
        }
    }
}
