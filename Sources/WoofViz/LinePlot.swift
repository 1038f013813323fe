import Foundation

/// A paper-style line plot: white background, framed axes with outward ticks and light
/// grid lines, "nice" tick values, optional log x (and y) axes, a legend and a title.
///
/// ```swift
/// var plot = LinePlot(title: "Accuracy vs. data", xLabel: "images per class",
///                     yLabel: "top-1 (%)", xLog: true, logBase: 2)
/// plot.series.append(.init(name: "LoRA r=8", points: [(1, 40), (2, 55), (4, 68)]))
/// try plot.write(to: "/tmp/scaling.png")
/// ```
public struct LinePlot {
    /// One named curve.
    public struct Series {
        public var name: String
        /// Data points in drawing order; non-finite values (and non-positive ones on a
        /// log axis) break the line there.
        public var points: [(x: Double, y: Double)]
        /// Line colour; `nil` takes the next colour of `RGBColor.palette`.
        public var color: RGBColor?
        public var dashed: Bool
        public var marker: Marker
        /// Line width in pixels at font scale 1 (scaled with the figure).
        public var lineWidth: Double

        public init(name: String, points: [(x: Double, y: Double)], color: RGBColor? = nil,
                    dashed: Bool = false, marker: Marker = .circle, lineWidth: Double = 1.5) {
            self.name = name
            self.points = points
            self.color = color
            self.dashed = dashed
            self.marker = marker
            self.lineWidth = lineWidth
        }
    }

    /// Where the legend goes; `.auto` picks the plot corner covering the fewest data;
    /// `.below` puts it under the figure in up to two columns (the canvas grows by its height),
    /// so a long legend never covers a point.
    public enum LegendPosition: Sendable {
        case auto, topLeft, topRight, bottomLeft, bottomRight, below, hidden
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Logarithmic x axis with ticks at powers of `logBase`.
    public var xLog: Bool
    /// Logarithmic y axis with ticks at powers of `logBase`.
    public var yLog: Bool
    /// Base of log axes: 2 (labels 1, 2, 4, …, 1/2, 1/4) or 10 (…, 0.1, 1, 10, 100, 1k, …).
    public var logBase: Double
    /// Fixed x range (default: data range plus a small margin).
    public var xRange: ClosedRange<Double>?
    /// Fixed y range (default: data range plus a small margin). Curves are clipped to it.
    public var yRange: ClosedRange<Double>?
    /// Output size in pixels.
    public var size: (width: Int, height: Int)
    public var legend: LegendPosition
    /// Font/line scale; `nil` chooses from the size (2 for 900×600).
    public var scale: Int?

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
                xLog: Bool = false, yLog: Bool = false, logBase: Double = 10,
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                size: (width: Int, height: Int) = (900, 600), legend: LegendPosition = .auto,
                scale: Int? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xLog = xLog
        self.yLog = yLog
        self.logBase = logBase
        self.xRange = xRange
        self.yRange = yRange
        self.size = size
        self.legend = legend
        self.scale = scale
    }

    /// Renders the figure with `RGBCanvas.writePNG` semantics (atomic replace).
    public func write(to path: String) throws {
        try render().writePNG(path: path)
    }

    /// The colour series `i` is drawn in.
    public func color(ofSeries i: Int) -> RGBColor {
        series[i].color ?? RGBColor.palette[i % RGBColor.palette.count]
    }

    /// Renders the figure at `size` (taller by the legend with `.below`).
    public func render() -> RGBCanvas {
        let W = max(1, size.width), H = max(1, size.height)
        let s = max(1, scale ?? Int((Double(min(W, H)) / 300).rounded()))
        var canvas = RGBCanvas(width: W, height: H + belowLegendLayout(width: W, scale: s).height, background: .white)
        guard let f = plotFrame(width: W, height: H, scale: s) else { return canvas }
        drawGrid(f, on: &canvas)
        let runsPerSeries = drawCurves(f, on: &canvas)
        drawFrameAndTicks(f, on: &canvas)
        drawAxisLabelsAndTitle(f, width: W, on: &canvas)
        if legend == .below {
            drawLegendBelow(on: &canvas, top: H, scale: s)
        } else {
            drawLegend(on: &canvas, plot: (f.px0, f.py0, f.px1, f.py1), runs: runsPerSeries, scale: s)
        }
        return canvas
    }

    // MARK: Layout

    /// Spacings of a figure drawn at font/line scale `s`, in pixels.
    private struct Spacing {
        let s: Int
        var titleScale: Int { s + 1 }
        var pad: Int { 6 * s }
        var gap: Int { 3 * s }
        var tickLen: Int { 3 * s }
        /// Thickness of the axes' frame.
        var frame: Int { max(1, (s + 1) / 2) }
        var glyphH: Int { BitmapFont.glyphHeight * s }
        /// Cap height: where digits and capitals end.
        var capH: Int { 7 * s }
    }

    /// The plot rectangle in pixels (the frame is drawn outside it), both axes and their ticks.
    private struct PlotFrame {
        let sp: Spacing
        let px0, py0, px1, py1: Int
        let xAxis, yAxis: Axis
        let xTicks, yTicks: [Tick]

        /// Pixel coordinates of data values.
        func X(_ v: Double) -> Double { Double(px0) + xAxis.fraction(v) * Double(px1 - px0) }
        func Y(_ v: Double) -> Double { Double(py1) - yAxis.fraction(v) * Double(py1 - py0) }
        func pixelX(_ v: Double) -> Int { Int(X(v).rounded(.down)) }
        func pixelY(_ v: Double) -> Int { min(py1 - 1, Int(Y(v).rounded(.down))) }
    }

    /// Margins from the title, labels and tick labels; nil when no plot area is left.
    private func plotFrame(width W: Int, height H: Int, scale s: Int) -> PlotFrame? {
        let sp = Spacing(s: s)
        let (pad, gap, tickLen, frame, glyphH) = (sp.pad, sp.gap, sp.tickLen, sp.frame, sp.glyphH)
        // Vertical layout first: it does not depend on tick labels.
        let top = pad + (title.isEmpty ? 0 : BitmapFont.glyphHeight * sp.titleScale + pad) + pad / 2
        let bottom = frame + tickLen + gap + glyphH + (xLabel.isEmpty ? 0 : gap * 2 + glyphH) + pad
        let py0 = top, py1 = H - bottom
        let yAxis = Axis(values: finiteValues(\.y, log: yLog), fixed: yRange, log: yLog, base: logBase, padFraction: 0.06)
        let yTicks = yAxis.ticks(pixels: Double(max(1, py1 - py0)), minSpacing: Double(glyphH * 3), labelWidth: { _ in 0 })

        let yLabelW = yTicks.map { BitmapFont.textWidth($0.label, scale: s) }.max() ?? 0
        let left = pad + (yLabel.isEmpty ? 0 : glyphH + gap * 2) + yLabelW + gap + tickLen + frame
        let xAxis = Axis(values: finiteValues(\.x, log: xLog), fixed: xRange, log: xLog, base: logBase, padFraction: 0.04)
        // The right margin leaves room for half of a tick label at the right edge.
        let right = pad + 4 * s * 3
        let px0 = left, px1 = W - right
        let xTicks = xAxis.ticks(pixels: Double(max(1, px1 - px0)), minSpacing: Double(6 * s * 4),
                                 labelWidth: { Double(BitmapFont.textWidth($0, scale: s) + 4 * gap) })
        guard px1 - px0 >= 4, py1 - py0 >= 4 else { return nil }
        return PlotFrame(sp: sp, px0: px0, py0: py0, px1: px1, py1: py1,
                         xAxis: xAxis, yAxis: yAxis, xTicks: xTicks, yTicks: yTicks)
    }

    // MARK: Drawing

    /// Light grid lines at the major ticks.
    private func drawGrid(_ f: PlotFrame, on canvas: inout RGBCanvas) {
        let gridColor = RGBColor(230, 230, 230)
        for t in f.xTicks where t.major { canvas.fillRect(x: f.pixelX(t.value), y: f.py0, width: 1, height: f.py1 - f.py0, gridColor) }
        for t in f.yTicks where t.major { canvas.fillRect(x: f.px0, y: f.pixelY(t.value), width: f.px1 - f.px0, height: 1, gridColor) }
    }

    /// Curves and markers, clipped to the plot rectangle; returns each series' visible runs
    /// in pixels (where the legend must not go).
    private func drawCurves(_ f: PlotFrame, on canvas: inout RGBCanvas) -> [[[(x: Double, y: Double)]]] {
        let s = f.sp.s
        let clip = (x0: Double(f.px0), y0: Double(f.py0), x1: Double(f.px1), y1: Double(f.py1))
        var runsPerSeries: [[[(x: Double, y: Double)]]] = []
        for (i, ser) in series.enumerated() {
            let runs = clippedRuns(ser.points.map { p -> (x: Double, y: Double) in
                let ok = p.x.isFinite && p.y.isFinite && (!xLog || p.x > 0) && (!yLog || p.y > 0)
                return ok ? (f.X(p.x), f.Y(p.y)) : (.nan, .nan)
            }, clip: clip)
            runsPerSeries.append(runs)
            let lw = ser.lineWidth * Double(s)
            let color = color(ofSeries: i)
            for run in runs {
                canvas.drawPolyline(run, color, thickness: lw,
                                    dash: ser.dashed ? (on: 4 * lw, off: 2.5 * lw) : nil)
            }
            if ser.marker != .none {
                for p in ser.points {
                    guard p.x.isFinite, p.y.isFinite, !xLog || p.x > 0, !yLog || p.y > 0 else { continue }
                    let c = (x: f.X(p.x), y: f.Y(p.y))
                    guard c.x >= clip.x0, c.x <= clip.x1, c.y >= clip.y0, c.y <= clip.y1 else { continue }
                    canvas.drawMarker(ser.marker, at: c, size: 3.5 * Double(s) + lw, color)
                }
            }
        }
        return runsPerSeries
    }

    /// The frame (outside the plot rectangle), outward ticks and their labels.
    private func drawFrameAndTicks(_ f: PlotFrame, on canvas: inout RGBCanvas) {
        let (s, gap, tickLen, frame) = (f.sp.s, f.sp.gap, f.sp.tickLen, f.sp.frame)
        let ink = RGBColor.ink
        canvas.strokeRect(x: f.px0 - frame, y: f.py0 - frame, width: f.px1 - f.px0 + 2 * frame,
                          height: f.py1 - f.py0 + 2 * frame, ink, thickness: frame)
        for t in f.xTicks {
            let x = f.pixelX(t.value)
            let len = t.major ? tickLen : tickLen / 2
            canvas.fillRect(x: x - (frame - 1) / 2, y: f.py1 + frame, width: frame, height: len, ink)
            if !t.label.isEmpty {
                let w = BitmapFont.textWidth(t.label, scale: s)
                canvas.drawText(t.label, x: x - w / 2, y: f.py1 + frame + tickLen + gap, color: ink, scale: s)
            }
        }
        for t in f.yTicks {
            let y = f.pixelY(t.value)
            let len = t.major ? tickLen : tickLen / 2
            canvas.fillRect(x: f.px0 - frame - len, y: y - (frame - 1) / 2, width: len, height: frame, ink)
            if !t.label.isEmpty {
                let w = BitmapFont.textWidth(t.label, scale: s)
                canvas.drawText(t.label, x: f.px0 - frame - tickLen - gap - w, y: y - f.sp.capH / 2,
                                color: ink, scale: s)
            }
        }
    }

    /// The x label under the tick labels, the y label up the left edge, the title on top
    /// (its scale lowered until it fits the width `W`).
    private func drawAxisLabelsAndTitle(_ f: PlotFrame, width W: Int, on canvas: inout RGBCanvas) {
        let (s, pad, gap, tickLen, frame, glyphH) = (f.sp.s, f.sp.pad, f.sp.gap, f.sp.tickLen, f.sp.frame, f.sp.glyphH)
        let ink = RGBColor.ink
        if !xLabel.isEmpty {
            let w = BitmapFont.textWidth(xLabel, scale: s)
            canvas.drawText(xLabel, x: f.px0 + (f.px1 - f.px0 - w) / 2,
                            y: f.py1 + frame + tickLen + gap + glyphH + gap * 2, color: ink, scale: s)
        }
        if !yLabel.isEmpty {
            let w = BitmapFont.textWidth(yLabel, scale: s)
            canvas.drawTextVertical(yLabel, x: pad, y: f.py0 + (f.py1 - f.py0 - w) / 2, color: ink, scale: s)
        }
        if !title.isEmpty {
            var ts = f.sp.titleScale
            while ts > 1, BitmapFont.textWidth(title, scale: ts) > W - 2 * pad { ts -= 1 }
            let w = BitmapFont.textWidth(title, scale: ts)
            canvas.drawText(title, x: max(pad, f.px0 + (f.px1 - f.px0 - w) / 2), y: pad, color: ink, scale: ts)
        }
    }

    // MARK: Legend

    private var legendEntries: [Int] { series.indices.filter { !series[$0].name.isEmpty } }

    /// The `.below` legend's grid: two columns when every name fits in half the width.
    private func belowLegendLayout(width W: Int, scale s: Int) -> (height: Int, columns: Int, rows: Int) {
        let entries = legendEntries
        guard legend == .below, !entries.isEmpty else { return (0, 1, 0) }
        let pad = 6 * s, rowH = BitmapFont.lineHeight * s + 2 * s
        let entryW = 14 * s + 2 * pad + (entries.map { BitmapFont.textWidth(series[$0].name, scale: s) }.max() ?? 0)
        let columns = entries.count > 3 && 2 * entryW + 3 * pad <= W ? 2 : 1
        let rows = (entries.count + columns - 1) / columns
        return (pad + rows * rowH + pad, columns, rows)
    }

    private func drawLegendBelow(on canvas: inout RGBCanvas, top: Int, scale s: Int) {
        let (_, columns, rows) = belowLegendLayout(width: canvas.width, scale: s)
        let pad = 6 * s, rowH = BitmapFont.lineHeight * s + 2 * s
        let columnW = (canvas.width - 2 * pad) / columns
        // Column-major, so the legend reads down the first column first.
        for (k, i) in legendEntries.enumerated() {
            drawLegendEntry(i, x: pad + (k / rows) * columnW, y: top + pad + (k % rows) * rowH, textGap: pad, scale: s, on: &canvas)
        }
    }

    /// One legend row: the series' line and marker sample at (x, y), its name `textGap` after it.
    private func drawLegendEntry(_ i: Int, x: Int, y: Int, textGap: Int, scale s: Int, on canvas: inout RGBCanvas) {
        let ser = series[i], color = color(ofSeries: i), sample = 14 * s
        let cy = Double(y) + Double(7 * s) / 2
        let lw = ser.lineWidth * Double(s)
        canvas.drawPolyline([(Double(x), cy), (Double(x + sample), cy)], color, thickness: lw,
                            dash: ser.dashed ? (on: 2.5 * lw, off: 1.5 * lw) : nil)
        canvas.drawMarker(ser.marker, at: (Double(x) + Double(sample) / 2, cy), size: 3.5 * Double(s) + lw, color)
        canvas.drawText(ser.name, x: x + sample + textGap, y: y, color: .ink, scale: s)
    }

    private func drawLegend(on canvas: inout RGBCanvas, plot: (x0: Int, y0: Int, x1: Int, y1: Int),
                            runs: [[[(x: Double, y: Double)]]], scale s: Int) {
        let entries = legendEntries
        guard legend != .hidden, !entries.isEmpty else { return }
        let pad = 4 * s, sample = 14 * s, rowH = BitmapFont.lineHeight * s + 2 * s
        let nameW = entries.map { BitmapFont.textWidth(series[$0].name, scale: s) }.max() ?? 0
        let boxW = pad + sample + 2 * pad + nameW + pad
        let boxH = pad + entries.count * rowH - 2 * s + pad
        let inset = 5 * s
        let corners: [LegendPosition: (Int, Int)] = [
            .topRight: (plot.x1 - inset - boxW, plot.y0 + inset),
            .topLeft: (plot.x0 + inset, plot.y0 + inset),
            .bottomRight: (plot.x1 - inset - boxW, plot.y1 - inset - boxH),
            .bottomLeft: (plot.x0 + inset, plot.y1 - inset - boxH),
        ]
        let order: [LegendPosition] = [.topRight, .topLeft, .bottomRight, .bottomLeft]
        var position = legend
        if legend == .auto {
            // Count curve samples (every ~2 px along each run, plus markers) under each box.
            var best = Int.max
            for pos in order {
                let (bx, by) = corners[pos]!
                let r = (x0: Double(bx - s), y0: Double(by - s), x1: Double(bx + boxW + s), y1: Double(by + boxH + s))
                var hits = 0
                for seriesRuns in runs {
                    for run in seriesRuns {
                        for k in run.indices {
                            let a = run[k], b = k + 1 < run.count ? run[k + 1] : run[k]
                            let len = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
                            let n = max(1, Int(len / 2))
                            for j in 0..<n {
                                let t = Double(j) / Double(n)
                                let x = a.x + (b.x - a.x) * t, y = a.y + (b.y - a.y) * t
                                if x >= r.x0, x <= r.x1, y >= r.y0, y <= r.y1 { hits += 1 }
                            }
                        }
                    }
                }
                if hits < best {
                    best = hits
                    position = pos
                }
            }
        }
        guard let (bx, by) = corners[position] else { return }
        canvas.fillRect(x: bx, y: by, width: boxW, height: boxH, .white, alpha: 0.92)
        canvas.strokeRect(x: bx, y: by, width: boxW, height: boxH, RGBColor(200, 200, 200), thickness: max(1, s / 2))
        for (row, i) in entries.enumerated() {
            drawLegendEntry(i, x: bx + pad, y: by + pad + row * rowH, textGap: 2 * pad, scale: s, on: &canvas)
        }
    }

    // MARK: Data helpers

    private func finiteValues(_ key: KeyPath<(x: Double, y: Double), Double>, log: Bool) -> [Double] {
        var out: [Double] = []
        for ser in series {
            for p in ser.points where p.x.isFinite && p.y.isFinite && (!xLog || p.x > 0) && (!yLog || p.y > 0) {
                let v = p[keyPath: key]
                if !log || v > 0 { out.append(v) }
            }
        }
        return out
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

/// One tick: its data value, label (empty for minor ticks) and whether it is major.
struct Tick {
    var value: Double
    var label: String
    var major: Bool
}

/// A linear or logarithmic axis over a data range.
struct Axis {
    var lo: Double
    var hi: Double
    var log: Bool
    var base: Double

    init(values: [Double], fixed: ClosedRange<Double>?, log: Bool, base: Double, padFraction: Double) {
        self.log = log
        let logBase = base > 1 ? base : 10
        self.base = logBase
        func L(_ v: Double) -> Double { Foundation.log(v) / Foundation.log(logBase) }
        if let fixed, fixed.upperBound > fixed.lowerBound, !log || fixed.lowerBound > 0 {
            lo = fixed.lowerBound
            hi = fixed.upperBound
            return
        }
        if log {
            var a = values.map(L).min() ?? 0, b = values.map(L).max() ?? 1
            if b - a < 1e-9 { a -= 0.5; b += 0.5 }
            let padL = (b - a) * padFraction
            lo = Foundation.pow(logBase, a - padL)
            hi = Foundation.pow(logBase, b + padL)
        } else {
            var a = values.min() ?? 0, b = values.max() ?? 1
            if b - a < 1e-12 * max(1, abs(a)) {
                let d = a == 0 ? 1 : abs(a) * 0.1
                a -= d
                b += d
            }
            let p = (b - a) * padFraction
            lo = a - p
            hi = b + p
        }
    }

    /// Position of `v` along the axis, 0 at `lo` and 1 at `hi`.
    func fraction(_ v: Double) -> Double {
        if log {
            return (Foundation.log(v) - Foundation.log(lo)) / (Foundation.log(hi) - Foundation.log(lo))
        }
        return (v - lo) / (hi - lo)
    }

    /// Ticks at least `minSpacing` pixels apart whose labels (`labelWidth`) do not overlap.
    func ticks(pixels: Double, minSpacing: Double, labelWidth: (String) -> Double) -> [Tick] {
        if log, let t = logTicks(pixels: pixels, minSpacing: minSpacing, labelWidth: labelWidth) { return t }
        return linearTicks(pixels: pixels, minSpacing: minSpacing, labelWidth: labelWidth)
    }

    private func fits(_ ticks: [Tick], pixels: Double, minSpacing: Double, labelWidth: (String) -> Double) -> Bool {
        let major = ticks.filter(\.major)
        guard major.count >= 2 else { return true }
        for k in 1..<major.count {
            let d = (fraction(major[k].value) - fraction(major[k - 1].value)) * pixels
            let need = max(minSpacing, (labelWidth(major[k].label) + labelWidth(major[k - 1].label)) / 2)
            if d < need { return false }
        }
        return true
    }

    private func linearTicks(pixels: Double, minSpacing: Double, labelWidth: (String) -> Double) -> [Tick] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [] }
        var target = max(2, Int(pixels / max(1, minSpacing)))
        while true {
            let step = niceStep(span / Double(target))
            let k0 = (lo / step - 1e-9).rounded(.up), k1 = (hi / step + 1e-9).rounded(.down)
            var values: [Double] = []
            if k1 >= k0, k1 - k0 < 1000 {
                var k = k0
                while k <= k1 { values.append(k * step); k += 1 }
            }
            let decimals = max(0, -Int(Foundation.log10(step).rounded(.down))
                + (abs(step / Foundation.pow(10, Foundation.log10(step).rounded(.down)) - 2.5) < 1e-6 ? 1 : 0))
            let maxAbs = values.map(abs).max() ?? 0
            let ticks = values.map { Tick(value: $0, label: formatLinear($0, decimals: decimals, maxAbs: maxAbs, step: step), major: true) }
            if target <= 2 || fits(ticks, pixels: pixels, minSpacing: minSpacing, labelWidth: labelWidth) {
                return ticks
            }
            target -= 1
        }
    }

    private func logTicks(pixels: Double, minSpacing: Double, labelWidth: (String) -> Double) -> [Tick]? {
        func L(_ v: Double) -> Double { Foundation.log(v) / Foundation.log(base) }
        let a = L(lo), b = L(hi)
        guard a.isFinite, b.isFinite, b > a else { return nil }
        let e0 = Int((a - 1e-9).rounded(.up)), e1 = Int((b + 1e-9).rounded(.down))
        let powers = e1 >= e0 ? Array(e0...e1) : []
        if powers.count >= 2 {
            // Thin powers until labels fit; minor ticks on the skipped powers (and, for
            // base 10 with every decade labelled, at 2…9 within each decade).
            var stride = 1
            while true {
                var ticks: [Tick] = []
                for e in powers {
                    let v = Foundation.pow(base, Double(e))
                    let major = (e - e0) % stride == 0
                    ticks.append(Tick(value: v, label: major ? formatLog(v, exponent: e) : "", major: major))
                }
                if stride > 1000 || fits(ticks, pixels: pixels, minSpacing: minSpacing, labelWidth: labelWidth) {
                    if stride == 1, base == 10 {
                        for e in (e0 - 1)...e1 {
                            for m in 2...9 {
                                let v = Double(m) * Foundation.pow(10, Double(e))
                                if v >= lo, v <= hi { ticks.append(Tick(value: v, label: "", major: false)) }
                            }
                        }
                    }
                    return ticks.sorted { $0.value < $1.value }
                }
                stride += 1
            }
        }
        if base == 10 {
            // Narrow range: 1-2-5 steps.
            var ticks: [Tick] = []
            for e in (e0 - 2)...(e1 + 1) {
                for m in [1.0, 2.0, 5.0] {
                    let v = m * Foundation.pow(10, Double(e))
                    if v >= lo * (1 - 1e-9), v <= hi * (1 + 1e-9) {
                        ticks.append(Tick(value: v, label: formatCompact(v), major: true))
                    }
                }
            }
            if ticks.count >= 2, fits(ticks, pixels: pixels, minSpacing: minSpacing, labelWidth: labelWidth) {
                return ticks
            }
        }
        return nil  // fall back to linear tick values on the log scale
    }

    /// Labels for powers: base 2 as 1, 2, 4, … and 1/2, 1/4, …; base 10 compact (10k, 1M).
    private func formatLog(_ v: Double, exponent e: Int) -> String {
        if base == 2 {
            if e >= 0 && e < 17 { return String(1 << e) }
            if e < 0 && e > -11 { return "1/\(1 << -e)" }
            return "2^\(e)"
        }
        if base == 10 { return formatCompact(v) }
        return formatCompact(v)
    }
}

/// The smallest of 1, 2, 2.5, 5, 10 × 10^k that is ≥ `raw`.
func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let p = Foundation.pow(10, Foundation.log10(raw).rounded(.down))
    let f = raw / p
    for m in [1.0, 2.0, 2.5, 5.0] where f <= m * (1 + 1e-9) { return m * p }
    return 10 * p
}

/// A tick value with a fixed number of decimals; values ≥ 10 000 in k/M/G units.
func formatLinear(_ v: Double, decimals: Int, maxAbs: Double, step: Double) -> String {
    if maxAbs >= 1e4 {
        let (unit, suffix): (Double, String) = maxAbs >= 1e9 ? (1e9, "G") : maxAbs >= 1e6 ? (1e6, "M") : (1e3, "k")
        let d = max(0, -Int(Foundation.log10(step / unit).rounded(.down)))
        return fixStringZero(String(format: "%.\(min(d, 6))f", v / unit)) + (v == 0 ? "" : suffix)
    }
    if maxAbs > 0, maxAbs < 1e-3 { return fixStringZero(String(format: "%.2g", v)) }
    return fixStringZero(String(format: "%.\(min(decimals, 10))f", v))
}

/// A short label: 0.001, 0.5, 20, 1000, 10k, 2.5M, 1e-05 …
func formatCompact(_ v: Double) -> String {
    let a = abs(v)
    if a == 0 { return "0" }
    if a >= 1e9 { return String(format: "%gG", v / 1e9) }
    if a >= 1e6 { return String(format: "%gM", v / 1e6) }
    if a >= 1e4 { return String(format: "%gk", v / 1e3) }
    if a < 1e-3 { return String(format: "%.0e", v) }
    return String(format: "%g", v)
}

private func fixStringZero(_ s: String) -> String {
    // "-0", "-0.0" → "0", "0.0"
    if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
    return s
}
