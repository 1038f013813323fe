import XCTest
import WoofTestSupport
@testable import WoofViz

final class LinePlotTests: XCTestCase {
    func scalingPlot(xLog: Bool = true) -> LinePlot {
        var p = LinePlot(title: "Top-1 vs. training images per class", xLabel: "images per class",
                         yLabel: "top-1 accuracy (%)", xLog: xLog, logBase: 2)
        let xs: [Double] = [1, 2, 4, 8, 16, 32, 64, 128]
        p.series = [
            .init(name: "full fine-tune", points: xs.map { ($0, 90 - 55 / pow($0, 0.45)) }, marker: .circle),
            .init(name: "LoRA r=8", points: xs.map { ($0, 88 - 58 / pow($0, 0.5)) }, marker: .square),
            .init(name: "linear probe", points: xs.map { ($0, 80 - 50 / pow($0, 0.4)) }, dashed: true, marker: .triangle),
        ]
        return p
    }

    func count(_ c: RGBCanvas, _ color: RGBColor, in r: (Int, Int, Int, Int)? = nil) -> Int {
        let (x0, y0, x1, y1) = r ?? (0, 0, c.width, c.height)
        var n = 0
        for y in y0..<y1 { for x in x0..<x1 where c.pixel(x: x, y: y) == color { n += 1 } }
        return n
    }

    func testRendersRequestedSizeWithSeriesColours() throws {
        let plot = scalingPlot()
        let c = plot.render()
        XCTAssertEqual(c.width, 900)
        XCTAssertEqual(c.height, 600)
        XCTAssertEqual(c.pixel(x: 0, y: 0), .white)
        // The plot area (central region) has ink, and each series' exact colour appears.
        var ink = 0
        for y in 150..<450 { for x in 200..<700 where c.pixel(x: x, y: y) != .white { ink += 1 } }
        XCTAssertGreaterThan(ink, 1000)
        for i in plot.series.indices {
            XCTAssertGreaterThan(count(c, plot.color(ofSeries: i)), 200, "series \(i)")
        }
        XCTAssertGreaterThan(count(c, .ink), 500)  // axes, ticks, labels
    }

    func testOtherSizesAndOptions() {
        var p = scalingPlot(xLog: false)
        p.size = (420, 300)
        p.yRange = 0...100
        p.legend = .bottomRight
        let c = p.render()
        XCTAssertEqual(c.width, 420)
        XCTAssertEqual(c.height, 300)
        XCTAssertGreaterThan(count(c, p.color(ofSeries: 0)), 50)
        // Degenerate inputs render without trapping.
        _ = LinePlot().render()
        _ = LinePlot(series: [.init(name: "one", points: [(1, 1)])], xLog: true).render()
        _ = LinePlot(series: [.init(name: "nan", points: [(.nan, 1), (2, .infinity), (3, 3), (4, 3)])], yLog: true).render()
        _ = LinePlot(size: (10, 10)).render()
        _ = LinePlot(series: [.init(name: "big", points: [(0, 1e7), (1, 3e7)])], size: (300, 200)).render()
    }

    /// A legend below the figure leaves the figure itself exactly as with no legend, adds its
    /// rows underneath, and draws every series' sample there.
    func testLegendBelowLeavesThePlotUntouched() {
        var p = scalingPlot()
        p.series += (0..<5).map { k in .init(name: "extra series \(k)", points: [(Double(1 << k), 60 + Double(k))]) }
        p.legend = .hidden
        let bare = p.render()
        p.legend = .below
        let c = p.render()
        XCTAssertEqual(c.width, 900)
        XCTAssertGreaterThan(c.height, 600)
        XCTAssertEqual(Array(c.pixels[0..<(900 * 600 * 3)]), bare.pixels, "the figure above the legend changed")
        for i in p.series.indices {
            XCTAssertGreaterThan(count(c, p.color(ofSeries: i), in: (0, 600, c.width, c.height)), 10, "series \(i) in the legend")
        }
        XCTAssertGreaterThan(count(c, .ink, in: (0, 600, c.width, c.height)), 500)  // the names
        // Eight entries take two columns: four rows.
        XCTAssertLessThan(c.height - 600, 5 * (BitmapFont.lineHeight * 2 + 4) + 30)
    }

    func testTicks() {
        XCTAssertEqual(niceStep(0.13), 0.2)
        XCTAssertEqual(niceStep(2.2), 2.5)
        XCTAssertEqual(niceStep(7), 10)
        let lin = Axis(values: [0, 1], fixed: 0...1, log: false, base: 10, padFraction: 0)
            .ticks(pixels: 500, minSpacing: 80, labelWidth: { _ in 30 })
        XCTAssertEqual(lin.map(\.label), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let log2 = Axis(values: [1, 128], fixed: nil, log: true, base: 2, padFraction: 0.04)
            .ticks(pixels: 700, minSpacing: 48, labelWidth: { _ in 30 })
        XCTAssertEqual(log2.filter(\.major).map(\.label), ["1", "2", "4", "8", "16", "32", "64", "128"])
        let log10 = Axis(values: [0.001, 1000], fixed: nil, log: true, base: 10, padFraction: 0)
            .ticks(pixels: 700, minSpacing: 48, labelWidth: { _ in 40 })
        XCTAssertEqual(log10.filter(\.major).map(\.label), ["0.001", "0.01", "0.1", "1", "10", "100", "1000"])
        XCTAssertEqual(formatCompact(20000), "20k")
        XCTAssertEqual(formatCompact(2.5e6), "2.5M")
    }

    func testWriteAndReadBack() throws {
        let dir = ScratchDir()
        let path = dir.file("plot.png")
        try scalingPlot().write(to: path)
        let back = try RGBCanvas.readPNG(path: path)
        XCTAssertEqual(back, scalingPlot().render())
    }

    /// Writes sample figures for eyeballing when WOOFVIZ_SAMPLES names a directory.
    func testSampleFigures() throws {
        guard let dir = ProcessInfo.processInfo.environment["WOOFVIZ_SAMPLES"] else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try scalingPlot().write(to: dir + "/scaling.png")
        var lin = LinePlot(title: "Training loss", xLabel: "step", yLabel: "loss", yLog: true)
        func curve(_ tau: Double, _ floor: Double) -> [(x: Double, y: Double)] {
            (0...200).map { (i: Int) -> (x: Double, y: Double) in
                let t = Double(i)
                return (t * 50, 2.3 * exp(-t / tau) + floor)
            }
        }
        lin.series = [
            LinePlot.Series(name: "lr=1e-3", points: curve(60, 0.05), marker: .none),
            LinePlot.Series(name: "lr=3e-4 (α=16)", points: curve(120, 0.08), dashed: true, marker: .none),
        ]
        try lin.write(to: dir + "/loss.png")
        // Attention-style overlay grid.
        var img = RGBCanvas(width: 112, height: 112)
        for y in 0..<112 { for x in 0..<112 { img.setPixel(x: x, y: y, RGBColor(UInt8(100 + x), UInt8(90 + y), 120)) } }
        var tiles: [RGBCanvas] = []
        for k in 0..<4 {
            var g = [Float](repeating: 0, count: 49)
            for j in 0..<7 { for i in 0..<7 { g[j * 7 + i] = exp(-Float((i - k - 1) * (i - k - 1) + (j - 3) * (j - 3)) / 3) } }
            tiles.append(overlay(image: img, heat: normalized(upsampleBilinear(g, gw: 7, gh: 7, to: 112, 112)), alpha: 0.6))
        }
        try tile(tiles, columns: 2, padding: 6, captions: ["head 0", "head 1", "head 2", "head 3 (long caption)"], captionScale: 1)
            .writePNG(path: dir + "/attention.png")
        var glyphs = RGBCanvas(width: 620, height: 120)
        let all = String((32...126).map { Character(UnicodeScalar(UInt8($0))) })
        glyphs.drawText(String(all.prefix(48)) + "\n" + String(all.dropFirst(48)) + "\nαβλμσ×±°·≈≤≥² é–?", x: 4, y: 4, color: .ink, scale: 2)
        try glyphs.writePNG(path: dir + "/font.png")
    }
}
