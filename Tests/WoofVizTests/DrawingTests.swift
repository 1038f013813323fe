import XCTest
import WoofTestSupport
@testable import WoofViz

final class DrawingTests: XCTestCase {
    func inkCount(_ c: RGBCanvas, background: RGBColor = .white) -> Int {
        var n = 0
        for y in 0..<c.height { for x in 0..<c.width where c.pixel(x: x, y: y) != background { n += 1 } }
        return n
    }

    func testFillSetBlend() {
        var c = RGBCanvas(width: 4, height: 3, background: .black)
        XCTAssertEqual(c.pixels.count, 36)
        c.setPixel(x: 1, y: 2, .white)
        c.setPixel(x: 9, y: 9, .white)  // clipped
        XCTAssertEqual(c.pixel(x: 1, y: 2), .white)
        c.blendPixel(x: 0, y: 0, .white, alpha: 0.5)
        XCTAssertEqual(c.pixel(x: 0, y: 0), RGBColor(128, 128, 128))
        XCTAssertNil(c.pixel(x: 4, y: 0))
        XCTAssertThrowsError(try RGBCanvas(width: 2, height: 2, pixels: [0, 1, 2]))
    }

    func testFillRectIsClipped() {
        var c = RGBCanvas(width: 10, height: 10)
        c.fillRect(x: -5, y: 8, width: 8, height: 8, .black)
        XCTAssertEqual(inkCount(c), 3 * 2)
        c.fillRect(x: 0, y: 0, width: 10, height: 1, .black, alpha: 0.5)
        XCTAssertEqual(c.pixel(x: 5, y: 0), RGBColor(128, 128, 128))
    }

    func testBlit() {
        var big = RGBCanvas(width: 10, height: 10)
        let small = RGBCanvas(width: 4, height: 4, background: .black)
        big.draw(small, x: 8, y: -2)
        XCTAssertEqual(inkCount(big), 4)
        XCTAssertEqual(big.pixel(x: 9, y: 1), .black)
    }
}
