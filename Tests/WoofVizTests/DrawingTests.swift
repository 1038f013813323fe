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

    func testHorizontalLineIsCrispAndThick() {
        var c = RGBCanvas(width: 20, height: 10)
        c.drawLine(from: (2, 4.5), to: (17, 4.5), .black, thickness: 1)
        XCTAssertEqual(c.pixel(x: 10, y: 4), .black)
        XCTAssertEqual(c.pixel(x: 10, y: 3), .white)
        XCTAssertEqual(c.pixel(x: 10, y: 5), .white)
        var t = RGBCanvas(width: 20, height: 10)
        t.drawLine(from: (2, 5), to: (17, 5), .black, thickness: 2)
        XCTAssertEqual(t.pixel(x: 10, y: 4), .black)
        XCTAssertEqual(t.pixel(x: 10, y: 5), .black)
        XCTAssertEqual(t.pixel(x: 10, y: 6), .white)
    }

    func testDiagonalAndDashedLines() {
        var c = RGBCanvas(width: 50, height: 50)
        c.drawLine(from: (0, 0), to: (50, 50), .black, thickness: 1.5)
        XCTAssertEqual(c.pixel(x: 25, y: 25), .black)
        XCTAssertEqual(c.pixel(x: 40, y: 10), .white)
        var solid = RGBCanvas(width: 100, height: 10)
        solid.drawLine(from: (0, 5), to: (100, 5), .black, thickness: 2)
        var dashed = RGBCanvas(width: 100, height: 10)
        dashed.drawDashedLine(from: (0, 5), to: (100, 5), .black, thickness: 2, dash: (6, 4))
        let ns = inkCount(solid), nd = inkCount(dashed)
        XCTAssertGreaterThan(nd, ns / 3)
        XCTAssertLessThan(nd, ns * 9 / 10)
        // Gap in the first period: x in [6, 10) is off (allowing the round cap's pixel).
        XCTAssertEqual(dashed.pixel(x: 8, y: 5), .white)
        XCTAssertEqual(dashed.pixel(x: 3, y: 5), .black)
    }

    func testRectsCirclesMarkersAndClipping() {
        var c = RGBCanvas(width: 30, height: 30)
        c.fillRect(x: -5, y: -5, width: 10, height: 10, .black)
        XCTAssertEqual(inkCount(c), 25)
        c.strokeRect(x: 10, y: 10, width: 10, height: 10, .black, thickness: 2)
        XCTAssertEqual(c.pixel(x: 11, y: 15), .black)
        XCTAssertEqual(c.pixel(x: 15, y: 15), .white)
        var d = RGBCanvas(width: 41, height: 41)
        d.fillCircle(center: (20.5, 20.5), radius: 10, .black)
        let area = inkCount(d)
        XCTAssertGreaterThan(area, 300)
        XCTAssertLessThan(area, 360)  // πr² ≈ 314 plus an anti-aliased rim
        for m in Marker.allCases {
            var e = RGBCanvas(width: 21, height: 21)
            e.drawMarker(m, at: (10.5, 10.5), size: 9, .black)
            if m == .none { XCTAssertEqual(inkCount(e), 0) } else { XCTAssertGreaterThan(inkCount(e), 15, "\(m)") }
        }
        var f = RGBCanvas(width: 10, height: 10)
        f.drawLine(from: (-100, -100), to: (200, 300), .black, thickness: 3)  // far outside: no crash
        f.fillCircle(center: (1e9, 5), radius: 3, .black)
        f.drawLine(from: (.nan, 1), to: (5, 5), .black)
    }

    func testBlit() {
        var big = RGBCanvas(width: 10, height: 10)
        let small = RGBCanvas(width: 4, height: 4, background: .black)
        big.draw(small, x: 8, y: -2)
        XCTAssertEqual(inkCount(big), 4)
        XCTAssertEqual(big.pixel(x: 9, y: 1), .black)
    }
}
