import XCTest
import WoofTestSupport
@testable import WoofViz

final class ColormapTests: XCTestCase {
    func luminance(_ c: (UInt8, UInt8, UInt8)) -> Double {
        0.2126 * Double(c.0) + 0.7152 * Double(c.1) + 0.0722 * Double(c.2)
    }

    func testViridisEndpointsAndReference() {
        // matplotlib's _viridis_data entries 0, 128 and 255 (the polynomial fit is within 4/255).
        let refs: [(Float, (Double, Double, Double))] = [
            (0, (0.267004, 0.004874, 0.329415)),
            (128 / 255, (0.127568, 0.566949, 0.550556)),
            (1, (0.993248, 0.906157, 0.143936)),
        ]
        for (v, ref) in refs {
            let c = colormap(v)
            XCTAssertEqual(Double(c.0), ref.0 * 255, accuracy: 4, "r at \(v)")
            XCTAssertEqual(Double(c.1), ref.1 * 255, accuracy: 4, "g at \(v)")
            XCTAssertEqual(Double(c.2), ref.2 * 255, accuracy: 4, "b at \(v)")
        }
        XCTAssertTrue(colormap(-1) == colormap(0))
        XCTAssertTrue(colormap(7) == colormap(1))
        XCTAssertTrue(colormap(.nan) == colormap(0))
    }

    func testLuminanceIsMonotone() {
        var last = -1.0
        for i in 0...255 {
            let l = luminance(colormap(Float(i) / 255))
            XCTAssertGreaterThanOrEqual(l, last - 0.5, "at \(i)")
            last = max(last, l)
        }
        XCTAssertGreaterThan(luminance(colormap(1)) - luminance(colormap(0)), 150)
    }

    func testUpsamplePreservesConstantsAndCorners() {
        let constant = upsampleBilinear([Float](repeating: 0.3, count: 12), gw: 4, gh: 3, to: 37, 29)
        XCTAssertEqual(constant.count, 37 * 29)
        XCTAssertTrue(constant.allSatisfy { abs($0 - 0.3) < 1e-6 })
        let grid: [Float] = [0, 1, 2, 3, 4, 5]  // 3x2
        let up = upsampleBilinear(grid, gw: 3, gh: 2, to: 30, 20)
        XCTAssertEqual(up[0], 0)
        XCTAssertEqual(up[29], 2)
        XCTAssertEqual(up[19 * 30], 3)
        XCTAssertEqual(up[19 * 30 + 29], 5)
        XCTAssertTrue(up.allSatisfy { $0 >= 0 && $0 <= 5 })
        // Monotone along a row of an increasing grid.
        for x in 1..<30 { XCTAssertGreaterThanOrEqual(up[x], up[x - 1]) }
        // Identity size is a copy.
        XCTAssertEqual(upsampleBilinear(grid, gw: 3, gh: 2, to: 3, 2), grid)
    }

    func testNormalizedOverlayHeatmapAndTile() {
        XCTAssertEqual(normalized([2, 4, 3]), [0, 1, 0.5])
        XCTAssertEqual(normalized([1, 1]), [0, 0])
        let img = RGBCanvas(width: 8, height: 4, background: .white)
        let heat = [Float](repeating: 1, count: 32)
        let none = overlay(image: img, heat: heat, alpha: 0)
        XCTAssertEqual(none, img)
        let full = overlay(image: img, heat: heat, alpha: 1)
        XCTAssertEqual(full.pixel(x: 3, y: 2), colormapColor(1))
        XCTAssertEqual(heatmap(heat, width: 8, height: 4), full)

        let a = RGBCanvas(width: 10, height: 6, background: .black)
        let b = RGBCanvas(width: 6, height: 10, background: .black)
        let grid = tile([a, b, a], columns: 2, padding: 2)
        XCTAssertEqual(grid.width, 2 * 10 + 3 * 2)
        XCTAssertEqual(grid.height, 2 * 10 + 3 * 2)
        XCTAssertEqual(grid.pixel(x: 0, y: 0), .white)
        XCTAssertEqual(grid.pixel(x: 2, y: 2), .white)       // first tile (6 high) centred in a 10-high cell
        XCTAssertEqual(grid.pixel(x: 2, y: 2 + 2), .black)
        let plain = tile([a, a, a, a], columns: 4, padding: 0)
        XCTAssertEqual(plain.width, 40)
        XCTAssertEqual(plain.height, 6)
    }
}
