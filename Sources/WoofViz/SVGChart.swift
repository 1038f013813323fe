import Foundation

/// A line/scatter chart as inline SVG: axes with ticks and labels, a legend, text as SVG text.
///
/// The output is one self-contained `<svg class="chart">` element (no scripts, fonts or
/// external resources) for an HTML report; it scales with CSS `width: 100%`. Its structure,
/// for checkers and style sheets: `<g class="axis x">` and `<g class="axis y">` (axis line,
/// tick marks, tick labels, axis label), one `<g class="series">` per series whose data marks
/// (line path, marker circles, error bars) have class `mark`, reference lines with class
/// `reference`, a `<g class="legend">` below the x-axis label with one entry per series and
/// reference line, and `<text class="title">`.
///
/// ```swift
/// let chart = SVGChart(title: "Top-1 vs. images per class", xLabel: "images per class",
///                      yLabel: "top-1 (%)", xScale: .log2,
///                      series: [.init(name: "LoRA r=8", points: [(1, 40), (2, 55), (4, 68)])],
///                      references: [.init(y: 35, label: "zero-shot head")])
/// html += chart.svg()
/// ```
public struct SVGChart {
    /// How an axis maps values: linear, or logarithmic with ticks at powers of 2 or 10.
    public enum Scale: Sendable { case linear, log2, log10 }

    /// How a series is drawn: a line through its points, markers only, or both.
    public enum Style: Sendable { case line, markers, lineAndMarkers }

    /// One named data series.
    public struct Series {
        public var name: String
        /// Data points in drawing order. Non-finite points and points ≤ 0 on a log axis are
        /// skipped (the line breaks there).
        public var points: [(x: Double, y: Double)]
        /// Optional symmetric y error bars, one per point.
        public var yErrors: [Double]?
        public var style: Style
        /// Draws the line with `stroke-dasharray`.
        public var dashed: Bool
        /// CSS colour; nil = the next colour of a built-in colour-blind-safe palette.
        public var color: String?

        public init(name: String, points: [(x: Double, y: Double)], yErrors: [Double]? = nil,
                    style: Style = .lineAndMarkers, dashed: Bool = false, color: String? = nil) {
            self.name = name
            self.points = points
            self.yErrors = yErrors
            self.style = style
            self.dashed = dashed
            self.color = color
        }
    }

    /// A horizontal reference line (e.g. "zero-shot head").
    public struct ReferenceLine {
        public var y: Double
        public var label: String
        public init(y: Double, label: String) {
            self.y = y
            self.label = label
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale
    public var yScale: Scale
    public var series: [Series]
    public var references: [ReferenceLine]
    /// Fixed x range; nil = from the data (padded a little). Ignored when empty or invalid.
    public var xRange: ClosedRange<Double>?
    /// Fixed y range; nil = from the data and reference lines (padded a little).
    public var yRange: ClosedRange<Double>?
    /// Width in SVG user units (the svg scales with CSS `width: 100%`); at least 160.
    public var width: Int
    /// Height in SVG user units; at least 120.
    public var height: Int

    public init(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear, yScale: Scale = .linear,
                series: [Series], references: [ReferenceLine] = [], xRange: ClosedRange<Double>? = nil,
                yRange: ClosedRange<Double>? = nil, width: Int = 640, height: Int = 360) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.series = series
        self.references = references
        self.xRange = xRange
        self.yRange = yRange
        self.width = width
        self.height = height
    }

    /// The Okabe–Ito colour-blind-safe palette (yellow last: it is faint on white).
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]

    /// The `<svg class="chart" …>…</svg>` element.
    public func svg() -> String {
        let layout = makeLayout()
        let colors = seriesColors()
        var parts = [openingTag(), "<title>\(Self.escaped(title))</title>",
                     "<rect class=\"background\" width=\"\(Self.num(layout.width))\" height=\"\(Self.num(layout.height))\" fill=\"#fff\"/>",
                     gridGroup(layout), referenceGroup(layout)]
        for (i, s) in series.enumerated() { parts.append(seriesGroup(s, color: colors[i], layout)) }
        parts += [xAxisGroup(layout), yAxisGroup(layout), titleText(layout), legendGroup(layout)]
        if !hasDrawablePoints {
            let cx = (layout.left + layout.right) / 2, cy = (layout.top + layout.bottom) / 2
            parts.append(Self.text("no data", class: "nodata", x: cx, y: cy + 5, anchor: "middle",
                                   extra: [("font-size", "14"), ("fill", "#666"), ("stroke", "#fff"),
                                           ("stroke-width", "4"), ("paint-order", "stroke")]))
        }
        parts.append("</svg>")
        return parts.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Each series' colour: its own, or the next palette colour (counting only series without one).
    func seriesColors() -> [String] {
        var next = 0
        return series.map { s in
            if let c = s.color { return c }
            defer { next += 1 }
            return Self.palette[next % Self.palette.count]
        }
    }

    /// Whether any series has a point placeable on both axes.
    var hasDrawablePoints: Bool {
        series.contains { s in s.points.contains { xScale.accepts($0.x) && yScale.accepts($0.y) } }
    }

    private func openingTag() -> String {
        let w = max(width, 160), h = max(height, 120)
        return "<svg class=\"chart\" viewBox=\"0 0 \(w) \(h)\" role=\"img\" aria-label=\"\(Self.escaped(title))\" "
            + "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, "
            + "Helvetica, Arial, sans-serif\" font-size=\"12\">"
    }
}

// MARK: - Axes: ranges, ticks, labels

extension SVGChart.Scale {
    /// Whether `v` can be placed on an axis of this scale (finite; > 0 on a log axis).
    func accepts(_ v: Double) -> Bool { v.isFinite && (self == .linear || v > 0) }

    /// The value in the axis' linear space.
    func transform(_ v: Double) -> Double {
        switch self {
        case .linear: return v
        case .log2: return Foundation.log2(v)
        case .log10: return Foundation.log10(v)
        }
    }

    /// The inverse of `transform`.
    func inverse(_ t: Double) -> Double {
        switch self {
        case .linear: return t
        case .log2: return Foundation.pow(2, t)
        case .log10: return Foundation.pow(10, t)
        }
    }
}

extension SVGChart {
    /// One tick: its data value and label.
    struct AxisTick: Equatable {
        var value: Double
        var label: String
    }

    /// An axis resolved for drawing: its scale and value range.
    struct ResolvedAxis {
        var scale: Scale
        var lo: Double
        var hi: Double

        /// The fixed range if valid, else the range of `values` padded by 5 % (in the scale's
        /// space); a single value or equal values get a range around them.
        init(scale: Scale, values: [Double], fixed: ClosedRange<Double>?) {
            self.scale = scale
            if let fixed, scale.accepts(fixed.lowerBound), scale.accepts(fixed.upperBound),
               fixed.upperBound > fixed.lowerBound {
                (lo, hi) = (fixed.lowerBound, fixed.upperBound)
                return
            }
            let t = values.filter(scale.accepts).map(scale.transform)
            var a = t.min() ?? scale.transform(scale == .linear ? 0 : 1)
            var b = t.max() ?? scale.transform(scale == .linear ? 1 : 10)
            if !(b - a > 1e-9 * max(1, abs(a))) {
                let d = scale == .linear ? (a == 0 ? 1 : abs(a) * 0.1) : (scale == .log2 ? 1 : 0.5)
                (a, b) = (a - d, b + d)
            }
            let pad = (b - a) * 0.05
            (lo, hi) = (scale.inverse(a - pad), scale.inverse(b + pad))
            if !(lo.isFinite && hi.isFinite && hi > lo && scale.accepts(lo)) {
                (lo, hi) = scale == .linear ? (0, 1) : (1, 10)
            }
        }

        /// The most ticks wanted: 8 on a linear axis; 10 on a log axis, so that 1, 2, 4 … 512
        /// all get a tick when their labels fit.
        var maxTicks: Int { scale == .linear ? 8 : 10 }

        /// Position of `v` along the axis: 0 at `lo`, 1 at `hi`.
        func fraction(_ v: Double) -> Double {
            let a = scale.transform(lo), b = scale.transform(hi)
            return (scale.transform(v) - a) / (b - a)
        }

        /// At most `maxCount` ticks inside the range: on a log axis powers of the base (thinned
        /// when many; with 1, 2, 5 × 10^k or 1, 1.5 × 2^k between them when fewer than three),
        /// else nice linear steps.
        func ticks(maxCount: Int) -> [AxisTick] {
            if scale != .linear {
                let powers = powerTicks(maxCount: maxCount) ?? []
                if powers.count >= 3 { return powers }
                let dense = SVGChart.mantissaTicks(lo: lo, hi: hi, log2: scale == .log2)
                if dense.count > powers.count, dense.count <= maxCount { return dense }
                if powers.count >= 2 { return powers }
            }
            return SVGChart.linearTicks(lo: lo, hi: hi, maxCount: maxCount)
        }

        /// Ticks at powers of 2 or 10, every `stride`-th power so at most `maxCount`; nil when
        /// fewer than two powers lie in the range.
        private func powerTicks(maxCount: Int) -> [AxisTick]? {
            let a = scale.transform(lo), b = scale.transform(hi)
            guard a.isFinite, b.isFinite, b - a < 1e5 else { return nil }
            let e0 = Int((a - 1e-9).rounded(.up)), e1 = Int((b + 1e-9).rounded(.down))
            guard e1 > e0 else { return nil }
            let stride = (e1 - e0 + maxCount) / max(1, maxCount)
            var exponents = (e0...e1).filter { $0 % stride == 0 }
            if exponents.count < 2 { exponents = (e0...e1).filter { ($0 - e0) % stride == 0 } }
            return exponents.map { e in
                AxisTick(value: scale.inverse(Double(e)),
                         label: scale == .log2 ? SVGChart.powerOfTwoLabel(e) : SVGChart.powerOfTenLabel(e))
            }
        }
    }

    /// Nice linear ticks (1, 2, 2.5, 5 × 10^k) inside `lo...hi`: the step whose tick count is
    /// closest to 6 (fewer on a tie) and at most `maxCount`.
    static func linearTicks(lo: Double, hi: Double, maxCount: Int) -> [AxisTick] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [] }
        let limit = max(2, maxCount), target = min(6, limit)
        let e = Foundation.log10(span).rounded(.down)
        var best: (step: Double, first: Double, count: Int)?
        for k in stride(from: e - 2, through: e + 1, by: 1) {
            for m in [5.0, 2.5, 2.0, 1.0] {
                let step = m * Foundation.pow(10, k)
                let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
                guard last >= first, last - first < Double(limit) else { continue }
                let count = Int(last - first) + 1, bestCount = best?.count ?? 1000
                let closer = abs(count - target) < abs(bestCount - target)
                if count >= 2, closer || (abs(count - target) == abs(bestCount - target) && count < bestCount) {
                    best = (step, first, count)
                }
            }
        }
        guard let best else { return [] }
        let values = (0..<best.count).map { min(max((best.first + Double($0)) * best.step, lo), hi) }
        let maxAbs = values.map(abs).max() ?? 0
        return values.map { AxisTick(value: $0, label: linearLabel($0, step: best.step, maxAbs: maxAbs)) }
    }

    /// 1, 2 and 5 × 10^k (or, with `log2`, 1 and 1.5 × 2^k) inside `lo...hi`: ticks for a log
    /// axis spanning few powers.
    static func mantissaTicks(lo: Double, hi: Double, log2: Bool) -> [AxisTick] {
        guard lo > 0, hi > lo, hi.isFinite else { return [] }
        let base = log2 ? 2.0 : 10.0, mantissas = log2 ? [1.0, 1.5] : [1.0, 2.0, 5.0]
        let e0 = Int(Foundation.log(lo) / Foundation.log(base)) - 1, e1 = Int(Foundation.log(hi) / Foundation.log(base)) + 1
        guard e1 - e0 < 40 else { return [] }
        var ticks: [AxisTick] = []
        for e in e0...e1 {
            for m in mantissas {
                let v = m * Foundation.pow(base, Double(e))
                guard v >= lo * (1 - 1e-9), v <= hi * (1 + 1e-9) else { continue }
                let label = log2 && m == 1 ? powerOfTwoLabel(e) : log2 && v == v.rounded() && v < 1e6 ? String(Int(v)) : compactNumber(v)
                ticks.append(AxisTick(value: v, label: label))
            }
        }
        return ticks
    }

    /// A linear tick label with as many decimals as the step needs; values of 10 000 and
    /// more in k, M or G units (20k, 1.25M).
    static func linearLabel(_ v: Double, step: Double, maxAbs: Double) -> String {
        let (unit, suffix) = maxAbs >= 1e9 ? (1e9, "G") : maxAbs >= 1e6 ? (1e6, "M") : maxAbs >= 1e4 ? (1e3, "k") : (1, "")
        if v == 0 && !suffix.isEmpty { return "0" }
        let s = step / unit
        let e = Foundation.log10(s).rounded(.down)
        let halfStep = abs(s / Foundation.pow(10, e) - 2.5) < 1e-6
        let decimals = min(12, max(0, -Int(e) + (halfStep ? 1 : 0)))
        let text = String(format: "%.\(decimals)f", v / unit)
        let negativeZero = text.hasPrefix("-") && text.dropFirst().allSatisfy { $0 == "0" || $0 == "." }
        return (negativeZero ? String(text.dropFirst()) : text) + suffix
    }

    /// A short label for any value: 0.02, 250, 2k, 2.5M, 1e-05.
    static func compactNumber(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%gG", v / 1e9) }
        if a >= 1e6 { return String(format: "%gM", v / 1e6) }
        if a >= 1e3 { return String(format: "%gk", v / 1e3) }
        return String(format: "%g", v)
    }

    /// 10^e as 0.001 … 1, 10, 100, 1k, 10k, 100k, 1M … 100G, else 1e-4 / 1e12.
    static func powerOfTenLabel(_ e: Int) -> String {
        if e >= 0 && e < 12 { return ["1", "10", "100"][e % 3] + ["", "k", "M", "G"][e / 3] }
        if e < 0 && e >= -3 { return "0." + String(repeating: "0", count: -e - 1) + "1" }
        return "1e\(e)"
    }

    /// 2^e as 1, 2, 4, … 8192 and 1/2 … 1/1024, else 2^e.
    static func powerOfTwoLabel(_ e: Int) -> String {
        if e >= 0 && e <= 13 { return String(1 << e) }
        if e < 0 && e >= -10 { return "1/\(1 << -e)" }
        return "2^\(e)"
    }
}

// MARK: - Layout

extension SVGChart {
    static let tickFont = 12.0, labelFont = 13.0, legendFont = 12.0
    static let legendRowHeight = 18.0, legendSwatch = 22.0, legendGap = 18.0

    /// Estimated width of `text` in a sans-serif font (0.6 em per character).
    static func textWidth(_ text: String, fontSize: Double) -> Double { Double(text.count) * 0.6 * fontSize }

    /// One legend entry and where it goes (`x` = left of the swatch, `y` = row centre).
    struct LegendItem {
        var label: String
        var color: String
        var dash: String?
        var line: Bool
        var marker: Bool
        var x = 0.0
        var y = 0.0

        var width: Double { SVGChart.legendSwatch + 6 + SVGChart.textWidth(label, fontSize: SVGChart.legendFont) }
    }

    /// Where everything goes: the plot rectangle, the axes with their ticks, the legend.
    struct Layout {
        var width: Double
        var height: Double
        var x: ResolvedAxis
        var y: ResolvedAxis
        var xTicks: [AxisTick] = []
        var yTicks: [AxisTick] = []
        var left = 0.0, top = 0.0, right = 0.0, bottom = 0.0
        var legend: [LegendItem] = []

        /// The horizontal pixel of data value `v`.
        func px(_ v: Double) -> Double { left + x.fraction(v) * (right - left) }
        /// The vertical pixel of data value `v`.
        func py(_ v: Double) -> Double { bottom - y.fraction(v) * (bottom - top) }
    }

    /// The layout: ranges, then the legend rows (from the width), the plot's top and bottom,
    /// the y ticks (whose labels set the left margin), then the x ticks.
    func makeLayout() -> Layout {
        let values = rangeValues()
        var l = Layout(width: Double(max(width, 160)), height: Double(max(height, 120)),
                       x: ResolvedAxis(scale: xScale, values: values.x, fixed: xRange),
                       y: ResolvedAxis(scale: yScale, values: values.y, fixed: yRange))
        let rows = placeLegend(&l)
        l.top = title.isEmpty ? 12 : 36
        let belowAxis = 24 + (xLabel.isEmpty ? 0 : 18) + (rows > 0 ? 4 + Double(rows) * Self.legendRowHeight : 0) + 4
        l.bottom = max(l.top + 20, l.height - belowAxis)
        l.yTicks = l.y.ticks(maxCount: max(2, min(l.y.maxTicks, Int((l.bottom - l.top) / 24))))
        let yLabelWidth = l.yTicks.map { Self.textWidth($0.label, fontSize: Self.tickFont) }.max() ?? 0
        l.left = (yLabel.isEmpty ? 8 : 28) + yLabelWidth + 10
        l.right = max(l.left + 20, l.width - 14)
        l.xTicks = fittingXTicks(l)
        let overhang = l.xTicks.map { l.px($0.value) + Self.textWidth($0.label, fontSize: Self.tickFont) / 2 }.max() ?? 0
        if overhang > l.width - 4 { l.right = max(l.left + 20, l.right - (overhang - l.width + 4)) }
        for i in l.legend.indices { l.legend[i].y += l.bottom + belowAxis - 4 - Double(rows) * Self.legendRowHeight }
        return l
    }

    /// The most x ticks (up to `maxTicks`) whose labels do not overlap.
    private func fittingXTicks(_ l: Layout) -> [AxisTick] {
        var maxCount = l.x.maxTicks
        while true {
            let ticks = l.x.ticks(maxCount: maxCount)
            let fits = zip(ticks, ticks.dropFirst()).allSatisfy { a, b in
                let need = (Self.textWidth(a.label, fontSize: Self.tickFont) + Self.textWidth(b.label, fontSize: Self.tickFont)) / 2 + 10
                return abs(l.px(b.value) - l.px(a.value)) >= need
            }
            if fits || maxCount <= 2 { return ticks }
            maxCount -= 1
        }
    }

    /// The values that set the axis ranges: drawable points, their error-bar ends, and
    /// reference lines (y).
    func rangeValues() -> (x: [Double], y: [Double]) {
        var xs: [Double] = [], ys: [Double] = references.map(\.y)
        for s in series {
            for (i, p) in s.points.enumerated() where xScale.accepts(p.x) && yScale.accepts(p.y) {
                xs.append(p.x)
                ys.append(p.y)
                if let e = s.yErrors, i < e.count, e[i].isFinite, e[i] > 0 { ys += [p.y - e[i], p.y + e[i]] }
            }
        }
        return (xs, ys)
    }

    /// The legend entries (one per series, then one per reference line).
    func legendItems() -> [LegendItem] {
        let colors = seriesColors()
        let entries = series.enumerated().map { i, s in
            LegendItem(label: s.name, color: colors[i], dash: s.dashed ? "6 4" : nil,
                       line: s.style != .markers, marker: s.style != .line)
        }
        return entries + references.map { LegendItem(label: $0.label, color: "#555", dash: "2 3", line: true, marker: false) }
    }

    /// Places the legend entries in centred rows that wrap at the chart width (labels too long
    /// for a row are shortened with "…"); `y` relative to the first row. Returns the row count.
    private func placeLegend(_ l: inout Layout) -> Int {
        let available = l.width - 16
        var rows: [[LegendItem]] = [[]]
        var rowWidth = 0.0
        for var item in legendItems() {
            let maxChars = max(1, Int((available - Self.legendSwatch - 6) / (0.6 * Self.legendFont)))
            if item.label.count > maxChars { item.label = String(item.label.prefix(max(0, maxChars - 1))) + "…" }
            if rowWidth > 0, rowWidth + Self.legendGap + item.width > available {
                rows.append([])
                rowWidth = 0
            }
            item.x = rowWidth == 0 ? 0 : rowWidth + Self.legendGap
            rowWidth = item.x + item.width
            rows[rows.count - 1].append(item)
        }
        for (r, row) in rows.enumerated() {
            let rowWidth = (row.last.map { $0.x + $0.width }) ?? 0
            let start = (l.width - rowWidth) / 2
            l.legend += row.map { var item = $0; item.x += start; item.y = (Double(r) + 0.5) * Self.legendRowHeight; return item }
        }
        return l.legend.isEmpty ? 0 : rows.count
    }
}

// MARK: - Drawing

extension SVGChart {
    /// Light grid lines at the ticks.
    func gridGroup(_ l: Layout) -> String {
        var out = ["<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">"]
        for t in l.xTicks { out.append(Self.line(class: nil, l.px(t.value), l.top, l.px(t.value), l.bottom)) }
        for t in l.yTicks { out.append(Self.line(class: nil, l.left, l.py(t.value), l.right, l.py(t.value))) }
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// Reference lines inside the y range, dotted grey across the plot.
    func referenceGroup(_ l: Layout) -> String {
        let visible = references.filter { yScale.accepts($0.y) && l.py($0.y) >= l.top - 0.5 && l.py($0.y) <= l.bottom + 0.5 }
        guard !visible.isEmpty else { return "" }
        var out = ["<g class=\"references\" stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\">"]
        for r in visible {
            out.append(Self.line(class: "reference", l.left, l.py(r.y), l.right, l.py(r.y),
                                 extra: [("data-label", r.label)]))
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// Each point in pixels; NaN for a point that cannot be placed (non-finite, ≤ 0 on log).
    func pixelPoints(_ s: Series, _ l: Layout) -> [(x: Double, y: Double)] {
        s.points.map { p in
            guard xScale.accepts(p.x), yScale.accepts(p.y) else { return (x: .nan, y: .nan) }
            return (x: l.px(p.x), y: l.py(p.y))
        }
    }

    /// One series: error bars, the line (clipped to the plot, broken at skipped points), the
    /// markers inside the plot. Every drawn element has class `mark`.
    func seriesGroup(_ s: Series, color: String, _ l: Layout) -> String {
        let pts = pixelPoints(s, l)
        var out = ["<g class=\"series\" data-name=\"\(Self.escaped(s.name))\">"]
        out += errorBars(s, pixels: pts, color: color, l)
        let inside = pts.filter { $0.x.isFinite && $0.x >= l.left - 0.5 && $0.x <= l.right + 0.5
            && $0.y >= l.top - 0.5 && $0.y <= l.bottom + 0.5 }
        let runs = clippedRuns(pts, clip: (l.left, l.top, l.right, l.bottom))
        if s.style != .markers, !runs.isEmpty {
            let d = runs.map { run in run.enumerated().map { ($0 == 0 ? "M" : "L") + Self.num($1.x) + " " + Self.num($1.y) }.joined() }
            var attrs = [("class", "mark line"), ("d", d.joined()), ("fill", "none"), ("stroke", color),
                         ("stroke-width", "2"), ("stroke-linejoin", "round"), ("stroke-linecap", "round")]
            if s.dashed { attrs.append(("stroke-dasharray", "6 4")) }
            out.append(Self.element("path", attrs))
        }
        if s.style != .line || runs.isEmpty {
            for p in inside {
                out.append(Self.element("circle", [("class", "mark marker"), ("cx", Self.num(p.x)), ("cy", Self.num(p.y)),
                                                   ("r", "3.5"), ("fill", color), ("stroke", "#fff"), ("stroke-width", "1")]))
            }
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// Vertical error bars with caps, clamped to the plot (a lower end ≤ 0 on a log axis goes
    /// to the bottom).
    func errorBars(_ s: Series, pixels: [(x: Double, y: Double)], color: String, _ l: Layout) -> [String] {
        guard let errors = s.yErrors else { return [] }
        var out: [String] = []
        for (i, p) in s.points.enumerated() where i < errors.count && errors[i].isFinite && errors[i] > 0 {
            let x = pixels[i].x
            guard x.isFinite, x >= l.left - 0.5, x <= l.right + 0.5 else { continue }
            let lowEnd = yScale.accepts(p.y - errors[i]) ? l.py(p.y - errors[i]) : l.bottom
            let y0 = min(max(l.py(p.y + errors[i]), l.top), l.bottom), y1 = min(max(lowEnd, l.top), l.bottom)
            guard y1 - y0 > 0.01 else { continue }
            let d = "M\(Self.num(x)) \(Self.num(y0))V\(Self.num(y1))M\(Self.num(x - 3)) \(Self.num(y0))h6M\(Self.num(x - 3)) \(Self.num(y1))h6"
            out.append(Self.element("path", [("class", "mark errorbar"), ("d", d), ("fill", "none"),
                                             ("stroke", color), ("stroke-width", "1.2")]))
        }
        return out
    }

    /// The x axis: line along the bottom, ticks, tick labels, axis label.
    func xAxisGroup(_ l: Layout) -> String {
        var out = ["<g class=\"axis x\" fill=\"#333\" stroke-width=\"1\">",
                   Self.line(class: "axis-line", l.left, l.bottom, l.right, l.bottom, extra: [("stroke", "#333")])]
        for t in l.xTicks {
            let x = l.px(t.value)
            out.append(Self.line(class: "tick", x, l.bottom, x, l.bottom + 5, extra: [("stroke", "#333")]))
            out.append(Self.text(t.label, class: "tick-label", x: x, y: l.bottom + 18, anchor: "middle"))
        }
        out.append(Self.text(xLabel, class: "axis-label", x: (l.left + l.right) / 2, y: l.bottom + 38, anchor: "middle",
                             extra: [("font-size", Self.num(Self.labelFont))]))
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// The y axis: line along the left, ticks, tick labels, rotated axis label.
    func yAxisGroup(_ l: Layout) -> String {
        var out = ["<g class=\"axis y\" fill=\"#333\" stroke-width=\"1\">",
                   Self.line(class: "axis-line", l.left, l.top, l.left, l.bottom, extra: [("stroke", "#333")])]
        for t in l.yTicks {
            let y = l.py(t.value)
            out.append(Self.line(class: "tick", l.left - 5, y, l.left, y, extra: [("stroke", "#333")]))
            out.append(Self.text(t.label, class: "tick-label", x: l.left - 8, y: y + 4, anchor: "end"))
        }
        let cy = (l.top + l.bottom) / 2
        out.append(Self.text(yLabel, class: "axis-label", x: 0, y: 0, anchor: "middle",
                             extra: [("font-size", Self.num(Self.labelFont)), ("transform", "translate(22 \(Self.num(cy))) rotate(-90)")]))
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// The chart title, centred on top; its font shrinks (to 10 px) when it would not fit.
    func titleText(_ l: Layout) -> String {
        let size = max(10, min(15, (l.width - 16) / max(1, 0.6 * Double(title.count))))
        return Self.text(title, class: "title", x: l.width / 2, y: 22, anchor: "middle",
                         extra: [("font-size", Self.num(size)), ("font-weight", "600"), ("fill", "#222")])
    }

    /// The legend: per entry a swatch (line and/or marker in the series' style) and its label.
    func legendGroup(_ l: Layout) -> String {
        guard !l.legend.isEmpty else { return "" }
        var out = ["<g class=\"legend\" font-size=\"\(Self.num(Self.legendFont))\" fill=\"#333\">"]
        for item in l.legend {
            out.append("<g class=\"legend-entry\">")
            if item.line {
                var extra = [("stroke", item.color), ("stroke-width", "2")]
                if let dash = item.dash { extra.append(("stroke-dasharray", dash)) }
                out.append(Self.line(class: "swatch", item.x, item.y, item.x + Self.legendSwatch, item.y, extra: extra))
            }
            if item.marker {
                out.append(Self.element("circle", [("class", "swatch"), ("cx", Self.num(item.x + Self.legendSwatch / 2)),
                                                   ("cy", Self.num(item.y)), ("r", "3.5"), ("fill", item.color)]))
            }
            out.append(Self.text(item.label, class: "legend-label", x: item.x + Self.legendSwatch + 6, y: item.y + 4, anchor: "start"))
            out.append("</g>")
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }
}

// MARK: - SVG text

extension SVGChart {
    /// `v` with at most two decimals, without trailing zeros ("12", "3.5", "-0.25").
    static func num(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == 0 { return "0" }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// `s` safe inside XML/HTML text and attribute values: &, <, >, ", ' escaped; characters
    /// XML does not allow (most control characters) dropped.
    public static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value >= 0x20 && !(0xFFFE...0xFFFF).contains(u.value) { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    /// `<name a="v" …/>` with escaped attribute values.
    static func element(_ name: String, _ attributes: [(String, String)]) -> String {
        "<\(name)" + attributes.map { " \($0.0)=\"\(escaped($0.1))\"" }.joined() + "/>"
    }

    static func line(class cls: String?, _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                     extra: [(String, String)] = []) -> String {
        let coords = [("x1", num(x1)), ("y1", num(y1)), ("x2", num(x2)), ("y2", num(y2))]
        return element("line", (cls.map { [("class", $0)] } ?? []) + coords + extra)
    }

    static func text(_ content: String, class cls: String, x: Double, y: Double, anchor: String,
                     extra: [(String, String)] = []) -> String {
        let attrs = [("class", cls), ("x", num(x)), ("y", num(y)), ("text-anchor", anchor)] + extra
        return "<text" + attrs.map { " \($0.0)=\"\(escaped($0.1))\"" }.joined() + ">\(escaped(content))</text>"
    }
}

/// Splits a pixel-space polyline into runs of consecutive visible pieces clipped to `clip`
/// (Liang–Barsky); NaN points break runs.
func clippedRuns(_ pts: [(x: Double, y: Double)], clip: (x0: Double, y0: Double, x1: Double, y1: Double))
    -> [[(x: Double, y: Double)]] {
    var runs: [[(x: Double, y: Double)]] = []
    var current: [(x: Double, y: Double)] = []
    func flush() {
        if current.count >= 2 { runs.append(current) }
        current = []
    }
    guard pts.count >= 2 else { return [] }
    for i in 1..<pts.count {
        let a = pts[i - 1], b = pts[i]
        guard a.x.isFinite, a.y.isFinite, b.x.isFinite, b.y.isFinite else { flush(); continue }
        let dx = b.x - a.x, dy = b.y - a.y
        var t0 = 0.0, t1 = 1.0
        var visible = true
        for (p, q) in [(-dx, a.x - clip.x0), (dx, clip.x1 - a.x), (-dy, a.y - clip.y0), (dy, clip.y1 - a.y)] {
            if p == 0 {
                if q < 0 { visible = false; break }
            } else {
                let r = q / p
                if p < 0 { t0 = max(t0, r) } else { t1 = min(t1, r) }
                if t0 > t1 { visible = false; break }
            }
        }
        guard visible else { flush(); continue }
        let ca = (x: a.x + dx * t0, y: a.y + dy * t0), cb = (x: a.x + dx * t1, y: a.y + dy * t1)
        if t0 > 0 || current.isEmpty {
            flush()
            current = [ca]
        }
        current.append(cb)
        if t1 < 1 { flush() }
    }
    flush()
    return runs
}
