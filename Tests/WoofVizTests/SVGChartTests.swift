import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import WoofViz

final class SVGChartTests: XCTestCase {
    // MARK: Helpers

    /// The root element of `svg`, which must parse as well-formed XML.
    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> XMLElement {
        let doc = try XMLDocument(xmlString: svg, options: [])
        return try XCTUnwrap(doc.rootElement(), "no root element", file: file, line: line)
    }

    /// `e` and all elements below it, in document order.
    func elements(in e: XMLElement) -> [XMLElement] {
        [e] + (e.children ?? []).compactMap { $0 as? XMLElement }.flatMap { elements(in: $0) }
    }

    /// The attribute `name` of `e` (by walking `attributes`: on Linux, `attribute(forName:)`
    /// misses attributes of an element in the default SVG namespace).
    func attr(_ e: XMLElement, _ name: String) -> String? {
        e.attributes?.first { $0.name == name }?.stringValue
    }

    func hasClass(_ e: XMLElement, _ cls: String) -> Bool {
        (attr(e, "class") ?? "").split(separator: " ").contains { $0 == cls }
    }

    /// Elements below `root` with all of `classes` (and, if given, the tag `name`).
    func find(_ root: XMLElement, _ classes: String..., name: String? = nil) -> [XMLElement] {
        elements(in: root).filter { e in
            classes.allSatisfy { hasClass(e, $0) } && (name == nil || e.localName == name)
        }
    }

    /// The one `<g class="axis KIND">` group.
    func axis(_ root: XMLElement, _ kind: String) throws -> XMLElement {
        let groups = find(root, "axis", kind, name: "g")
        XCTAssertEqual(groups.count, 1, "axis \(kind)")
        return try XCTUnwrap(groups.first)
    }

    func tickLabels(_ root: XMLElement, _ kind: String) throws -> [String] {
        find(try axis(root, kind), "tick-label", name: "text").map { $0.stringValue ?? "" }
    }

    func number(_ e: XMLElement, _ name: String) throws -> Double {
        try XCTUnwrap(Double(attr(e, name) ?? ""), "\(e.localName ?? "?") lacks numeric \(name)")
    }

    func twoSeriesChart() -> SVGChart {
        SVGChart(title: "Top-1 vs. images per class", xLabel: "images per class", yLabel: "top-1 (%)",
                 series: [.init(name: "full fine-tune", points: [(1, 60), (2, 70), (4, 80)]),
                          .init(name: "LoRA r=8", points: [(1, 55), (2, 68), (4, 79)], dashed: true)],
                 references: [.init(y: 50, label: "zero-shot head")])
    }

    // MARK: Structure

    func testRootIsAnAccessibleChartElementWithATitle() throws {
        let chart = twoSeriesChart()
        let svg = chart.svg()
        XCTAssertTrue(svg.hasPrefix("<svg class=\"chart\" viewBox=\"0 0 640 360\" role=\"img\" aria-label=\"Top-1 vs. images per class\" xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.hasSuffix("</svg>"))
        XCTAssertFalse(svg.contains("<script"))
        let root = try parse(svg)
        XCTAssertEqual(root.localName, "svg")
        XCTAssertEqual(attr(root, "class"), "chart")
        XCTAssertEqual(elements(in: root).first { $0.localName == "title" }?.stringValue, chart.title)
        XCTAssertEqual(find(root, "title", name: "text").map(\.stringValue), [chart.title])
        XCTAssertTrue(attr(root, "font-family")?.contains("sans-serif") ?? false)
    }

    func testAxesTicksLegendAndMarksHaveTheExpectedCounts() throws {
        let root = try parse(twoSeriesChart().svg())
        for kind in ["x", "y"] {
            let g = try axis(root, kind)
            XCTAssertEqual(find(g, "axis-line", name: "line").count, 1, kind)
            let ticks = find(g, "tick", name: "line").count
            XCTAssertTrue((4...8).contains(ticks), "\(kind): \(ticks) ticks")
            XCTAssertEqual(find(g, "tick-label", name: "text").count, ticks, kind)
            XCTAssertEqual(find(g, "axis-label", name: "text").count, 1, kind)
        }
        XCTAssertEqual(find(try axis(root, "x"), "axis-label").first?.stringValue, "images per class")
        XCTAssertEqual(find(try axis(root, "y"), "axis-label").first?.stringValue, "top-1 (%)")
        XCTAssertEqual(find(root, "mark").count, 8)
        XCTAssertEqual(find(root, "mark", name: "path").count, 2)
        XCTAssertEqual(find(root, "mark", name: "circle").count, 6)
        XCTAssertEqual(find(root, "series", name: "g").count, 2)
        let legend = find(root, "legend", name: "g")
        XCTAssertEqual(legend.count, 1)
        let entries = find(try XCTUnwrap(legend.first), "legend-entry")
        XCTAssertEqual(entries.map { find($0, "legend-label").first?.stringValue ?? "" },
                       ["full fine-tune", "LoRA r=8", "zero-shot head"])
        XCTAssertEqual(find(root, "reference", name: "line").count, 1)
    }

    func testStylesDrawOnlyTheirMarks() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: [.init(name: "l", points: [(1, 1), (2, 2), (3, 1)], style: .line),
                                      .init(name: "m", points: [(1, 2), (2, 3), (3, 2)], style: .markers)])
        let root = try parse(chart.svg())
        XCTAssertEqual(find(root, "mark", name: "path").count, 1)
        XCTAssertEqual(find(root, "mark", name: "circle").count, 3)
    }

    // MARK: Ticks

    func testLog10AxisTicksAtPowersOfTen() throws {
        let chart = SVGChart(title: "images seen", xLabel: "images", yLabel: "top-1", xScale: .log10,
                             series: [.init(name: "a", points: [(1e4, 1), (3e5, 2), (2e7, 3)])])
        XCTAssertEqual(try tickLabels(try parse(chart.svg()), "x"), ["10k", "100k", "1M", "10M"])
        XCTAssertEqual((-4...12).map(SVGChart.powerOfTenLabel),
                       ["1e-4", "0.001", "0.01", "0.1", "1", "10", "100", "1k", "10k", "100k", "1M", "10M", "100M",
                        "1G", "10G", "100G", "1e12"])
    }

    func testLog2AxisTicksAtPowersOfTwoThinnedWhenMany() throws {
        let small = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .log2,
                             series: [.init(name: "a", points: [1, 2, 4, 8, 16, 32, 64, 128].map { ($0, $0) })])
        XCTAssertEqual(try tickLabels(try parse(small.svg()), "x"), ["1", "2", "4", "8", "16", "32", "64", "128"])
        let wide = SVGChart.ResolvedAxis(scale: .log2, values: [1.0 / 8, 4096], fixed: nil)
        let labels = wide.ticks(maxCount: 8).map(\.label)
        XCTAssertEqual(labels, ["1/4", "1", "4", "16", "64", "256", "1024", "4096"])
    }

    func testLinearTicksAreNiceAndInsideTheRange() throws {
        let axis = SVGChart.ResolvedAxis(scale: .linear, values: [93.2, 94.0, 95.1], fixed: nil)
        XCTAssertLessThan(axis.lo, 93.2)
        XCTAssertGreaterThan(axis.hi, 95.1)
        let ticks = axis.ticks(maxCount: 8)
        XCTAssertTrue((4...8).contains(ticks.count), "\(ticks)")
        for t in ticks { XCTAssertTrue(t.value >= axis.lo && t.value <= axis.hi, "\(t.value) outside") }
        let step = ticks[1].value - ticks[0].value
        let mantissa = step / pow(10, log10(step).rounded(.down))
        XCTAssertTrue([1, 2, 2.5, 5].contains { abs($0 - mantissa) < 1e-9 }, "step \(step)")
        for (a, b) in zip(ticks, ticks.dropFirst()) { XCTAssertEqual(b.value - a.value, step, accuracy: 1e-9) }
        XCTAssertEqual(ticks.map(\.label), ["93.5", "94.0", "94.5", "95.0"])
        let tenths = SVGChart.linearTicks(lo: 0, hi: 0.9, maxCount: 8).map(\.label)
        XCTAssertEqual(tenths, ["0.0", "0.2", "0.4", "0.6", "0.8"])
    }

    func testLargeLinearLabelsUseUnits() {
        XCTAssertEqual(SVGChart.linearLabel(20_000, step: 5_000, maxAbs: 40_000), "20k")
        XCTAssertEqual(SVGChart.linearLabel(22_500, step: 2_500, maxAbs: 40_000), "22.5k")
        XCTAssertEqual(SVGChart.linearLabel(1_250_000, step: 250_000, maxAbs: 2e6), "1.25M")
        XCTAssertEqual(SVGChart.linearLabel(0, step: 250_000, maxAbs: 2e6), "0")
        XCTAssertEqual(SVGChart.linearTicks(lo: 0, hi: 1e6, maxCount: 8).map(\.label),
                       ["0", "0.2M", "0.4M", "0.6M", "0.8M", "1.0M"])
    }

    // MARK: Geometry

    func testAPointLandsOnItsPixel() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: [.init(name: "a", points: [(5, 25)], style: .markers)],
                             xRange: 0...10, yRange: 0...100)
        let layout = chart.makeLayout()
        XCTAssertGreaterThan(layout.left, 20)
        XCTAssertLessThan(layout.right, 640)
        XCTAssertGreaterThan(layout.top, 0)
        XCTAssertLessThan(layout.bottom, 360)
        let circle = try XCTUnwrap(find(try parse(chart.svg()), "mark", name: "circle").first)
        XCTAssertEqual(try number(circle, "cx"), (layout.left + layout.right) / 2, accuracy: 0.01)
        XCTAssertEqual(try number(circle, "cy"), layout.bottom - 0.25 * (layout.bottom - layout.top), accuracy: 0.01)
        // The axis corner is the range's lower-left corner; tick lines sit on their values.
        let xTicks = find(try axis(try parse(chart.svg()), "x"), "tick", name: "line")
        XCTAssertEqual(try number(try XCTUnwrap(xTicks.first), "x1"), layout.left, accuracy: 0.01)
        XCTAssertEqual(try number(try XCTUnwrap(xTicks.last), "x1"), layout.right, accuracy: 0.01)
    }

    func testALogAxisPlacesTheGeometricMeanInTheMiddle() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .log10, yScale: .log2,
                             series: [.init(name: "a", points: [(10, 8)], style: .markers)],
                             xRange: 1...100, yRange: 1...64)
        let layout = chart.makeLayout()
        let circle = try XCTUnwrap(find(try parse(chart.svg()), "mark", name: "circle").first)
        XCTAssertEqual(try number(circle, "cx"), (layout.left + layout.right) / 2, accuracy: 0.01)
        XCTAssertEqual(try number(circle, "cy"), (layout.top + layout.bottom) / 2, accuracy: 0.01)
    }

    func testASinglePointOrEqualValuesGetARange() throws {
        let cases: [[(x: Double, y: Double)]] = [[(3, 7)], [(1, 0), (2, 0), (3, 0)], [(1e4, 5), (1e4, 5)]]
        for points in cases {
            for scale in [SVGChart.Scale.linear, .log10, .log2] where scale == .linear || points.allSatisfy({ $0.y > 0 }) {
                let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: scale, yScale: scale,
                                     series: [.init(name: "a", points: points)])
                let svg = chart.svg()
                XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"), "\(points) \(scale)")
                let root = try parse(svg)
                let marks = find(root, "mark", name: "circle")
                XCTAssertEqual(marks.count, points.count)
                let layout = chart.makeLayout()
                for m in marks {
                    XCTAssertEqual(try number(m, "cy"), (layout.top + layout.bottom) / 2, accuracy: 0.01)
                }
                XCTAssertGreaterThanOrEqual(try tickLabels(root, "y").count, 2, "\(points) \(scale)")
            }
        }
    }

    func testNumbersHaveAtMostTwoDecimals() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: [.init(name: "a", points: [(1.0 / 3, 2.0 / 3), (0.7, 0.1 + 0.2), (1.123456, 0.987654)],
                                            yErrors: [0.01, 0.0333333, 0.05])])
        let root = try parse(chart.svg())
        let long = try NSRegularExpression(pattern: #"\d\.\d{3}"#)
        for e in elements(in: root) {
            for a in e.attributes ?? [] {
                let v = a.stringValue ?? ""
                XCTAssertNil(long.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)), "\(a.name ?? "")=\(v)")
            }
        }
        XCTAssertEqual(SVGChart.num(1.0 / 3), "0.33")
        XCTAssertEqual(SVGChart.num(-0.001), "0")
        XCTAssertEqual(SVGChart.num(12.5), "12.5")
        XCTAssertEqual(SVGChart.num(640), "640")
    }

    // MARK: Robustness

    func testTextIsEscaped() throws {
        let title = "a <b> & 'c' \"d\""
        let chart = SVGChart(title: title, xLabel: "x <&>", yLabel: "y",
                             series: [.init(name: "<&>", points: [(1, 1), (2, 2)], color: "#123\"onload=\"x")],
                             references: [.init(y: 1.5, label: "ref <&>\u{7}")])  // BEL is not allowed in XML
        let svg = chart.svg()
        XCTAssertFalse(svg.contains("<&>"))
        XCTAssertTrue(svg.contains("&lt;&amp;&gt;"))
        let root = try parse(svg)
        XCTAssertEqual(attr(root, "aria-label"), title)
        XCTAssertEqual(find(root, "title", name: "text").first?.stringValue, title)
        XCTAssertEqual(find(root, "legend-label").map(\.stringValue), ["<&>", "ref <&>"])
        XCTAssertEqual(find(try axis(root, "x"), "axis-label").first?.stringValue, "x <&>")
        XCTAssertNil(attr(root, "onload"))
        XCTAssertTrue(find(root, "mark").allSatisfy { attr($0, "onload") == nil })
    }

    func testNoDrawablePointsShowsNoDataAndNoMarks() throws {
        let cases: [[SVGChart.Series]] = [
            [],
            [.init(name: "empty", points: [])],
            [.init(name: "bad", points: [(.nan, 1), (1, .infinity), (-.infinity, 2)], yErrors: [1, 1, 1])],
        ]
        for series in cases {
            let root = try parse(SVGChart(title: "t", xLabel: "x", yLabel: "y", series: series).svg())
            XCTAssertEqual(find(root, "nodata", name: "text").map(\.stringValue), ["no data"])
            XCTAssertEqual(find(root, "mark").count, 0)
            XCTAssertEqual(find(try axis(root, "x"), "axis-line").count, 1)
            XCTAssertGreaterThanOrEqual(find(try axis(root, "y"), "tick-label").count, 2)
        }
        let logOnly = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .log10,
                               series: [.init(name: "a", points: [(0, 1), (-3, 2)])])
        let root = try parse(logOnly.svg())
        XCTAssertEqual(find(root, "nodata").count, 1)
        XCTAssertEqual(find(root, "mark").count, 0)
        XCTAssertEqual(find(try parse(twoSeriesChart().svg()), "nodata").count, 0)
    }

    func testNaNAndNonPositiveOnLogPointsAreSkipped() throws {
        let points: [(x: Double, y: Double)] = [(1, 1), (.nan, 2), (4, .infinity), (0, 3), (-2, 4), (8, 5), (16, 6), (32, .nan)]
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .log2,
                             series: [.init(name: "a", points: points, yErrors: Array(repeating: 0.5, count: points.count))])
        let root = try parse(chart.svg())
        let markers = find(root, "mark", name: "circle")
        XCTAssertEqual(markers.count, 3)
        let layout = chart.makeLayout()
        XCTAssertEqual(try markers.map { try number($0, "cx") }, [1.0, 8, 16].map { (layout.px($0) * 100).rounded() / 100 })
        XCTAssertEqual(find(root, "mark", "errorbar").count, 3)
        let line = try XCTUnwrap(find(root, "mark", "line").first)
        XCTAssertEqual(attr(line, "d")?.filter { $0 == "M" }.count, 1)  // only (8,5)–(16,6) is a run
        XCTAssertEqual(try tickLabels(root, "x"), ["1", "2", "4", "8", "16"])
    }

    func testPointsOutsideAFixedRangeAreClipped() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: [.init(name: "a", points: [(0, 0), (5, 5), (10, 10), (20, 20)])],
                             xRange: 0...10, yRange: 0...10)
        let root = try parse(chart.svg())
        let layout = chart.makeLayout()
        XCTAssertEqual(find(root, "mark", name: "circle").count, 3)
        let d = try XCTUnwrap(attr(try XCTUnwrap(find(root, "mark", "line").first), "d"))
        let numbers = d.split(whereSeparator: { "ML ".contains($0) }).compactMap { Double($0) }
        XCTAssertLessThanOrEqual(numbers.max() ?? 0, max(layout.right, layout.bottom) + 0.01)
    }

    // MARK: Style

    func testColoursDashesErrorBarsAndReferenceLines() throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: [.init(name: "a", points: [(1, 1), (2, 2)]),
                                      .init(name: "b", points: [(1, 2), (2, 3)], yErrors: [0.5, 0.25], dashed: true, color: "tomato"),
                                      .init(name: "c", points: [(1, 3), (2, 4)])],
                             references: [.init(y: 0, label: "chance")])
        let root = try parse(chart.svg())
        let lines = find(root, "mark", "line")
        XCTAssertEqual(lines.map { attr($0, "stroke") }, [SVGChart.palette[0], "tomato", SVGChart.palette[1]])
        XCTAssertEqual(lines.map { attr($0, "stroke-dasharray") != nil }, [false, true, false])
        XCTAssertEqual(find(root, "mark", "errorbar").count, 2)
        let reference = try XCTUnwrap(find(root, "reference", name: "line").first)
        let referenceGroup = try XCTUnwrap(reference.parent as? XMLElement)
        XCTAssertNotNil(attr(reference, "stroke-dasharray") ?? attr(referenceGroup, "stroke-dasharray"))
        let layout = chart.makeLayout()
        XCTAssertLessThanOrEqual(layout.y.lo, 0)  // the reference line's y is inside the range
        XCTAssertGreaterThanOrEqual(layout.y.hi, 4)
        XCTAssertEqual(try number(reference, "y1"), (layout.py(0) * 100).rounded() / 100)
    }

    func testLegendWrapsBelowTheAxisLabelInsideTheChart() throws {
        let names = (1...8).map { "configuration number \($0) with a long name" }
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y",
                             series: names.enumerated().map { i, n in .init(name: n, points: [(1, Double(i)), (2, Double(i))]) })
        let root = try parse(chart.svg())
        let xLabelY = try number(try XCTUnwrap(find(try axis(root, "x"), "axis-label").first), "y")
        let labels = find(root, "legend-label", name: "text")
        XCTAssertEqual(labels.count, 8)
        let rows = Set(try labels.map { try number($0, "y") })
        XCTAssertGreaterThan(rows.count, 1)
        XCTAssertGreaterThan(rows.min() ?? 0, xLabelY + 8)
        XCTAssertLessThanOrEqual(rows.max() ?? .infinity, 360)
        for l in chart.makeLayout().legend {
            XCTAssertGreaterThanOrEqual(l.x, 0)
            XCTAssertLessThanOrEqual(l.x + l.width, 640)
        }
        // A name too long for any row is shortened to fit.
        let long = SVGChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: String(repeating: "w", count: 200), points: [(1, 1)])])
        let item = try XCTUnwrap(long.makeLayout().legend.first)
        XCTAssertTrue(item.label.hasSuffix("…"))
        XCTAssertLessThanOrEqual(item.x + item.width, 640)
    }
}
