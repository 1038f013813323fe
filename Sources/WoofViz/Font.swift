import Foundation

/// An embedded 5×9 bitmap font (cap height 7, two descender rows) covering printable
/// ASCII 32–126 plus a few symbols used in ML figures (α β λ μ σ × ± ° · ≈ ≤ ≥ ²).
///
/// Text is monospaced: each character advances `advance * scale` pixels and a line is
/// `lineHeight * scale` pixels tall. Characters without a glyph are folded to ASCII
/// (accents dropped, dashes and quotes simplified) and otherwise rendered as `?`.
public enum BitmapFont {
    /// Glyph width in font pixels.
    public static let glyphWidth = 5
    /// Glyph height in font pixels (7 above the baseline, 2 below).
    public static let glyphHeight = 9
    /// Horizontal advance per character in font pixels (glyph plus one pixel gap).
    public static let advance = 6
    /// Line height in font pixels (glyph plus one pixel gap).
    public static let lineHeight = 10

    /// Width in pixels of the widest line of `text` at integer `scale` (0 for empty text).
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        var widest = 0, current = 0
        for ch in text {
            if ch == "\n" {
                widest = max(widest, current)
                current = 0
            } else {
                current += 1
            }
        }
        widest = max(widest, current)
        return widest == 0 ? 0 : (widest * advance - 1) * scale
    }

    /// Height in pixels of `text` at `scale`: `glyphHeight` for one line, plus
    /// `lineHeight` per additional line.
    public static func textHeight(_ text: String, scale: Int = 1) -> Int {
        let lines = text.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        return ((lines - 1) * lineHeight + glyphHeight) * scale
    }

    /// Whether `ch` has its own glyph (without folding or the `?` fallback).
    public static func hasGlyph(_ ch: Character) -> Bool { directIndex(ch) != nil }

    // MARK: Glyph data

    /// Row bitmasks, `glyphHeight` per glyph; bit 4 is the leftmost column.
    static let rows: [UInt8] = {
        var out = [UInt8](repeating: 0, count: glyphs.count * glyphHeight)
        for (g, entry) in glyphs.enumerated() {
            let lines = entry.1.split(separator: "|", omittingEmptySubsequences: false)
            precondition(lines.count <= glyphHeight, "glyph \(entry.0) has too many rows")
            for (r, line) in lines.enumerated() {
                precondition(line.count == glyphWidth, "glyph \(entry.0) row \(r) is not \(glyphWidth) wide")
                var bits: UInt8 = 0
                for c in line { bits = (bits << 1) | (c == "#" ? 1 : 0) }
                out[g * glyphHeight + r] = bits
            }
        }
        return out
    }()

    /// Glyph index of non-ASCII characters.
    static let extraIndex: [Character: Int] = {
        var map: [Character: Int] = [:]
        for (i, entry) in glyphs.enumerated() where i >= 95 { map[entry.0] = i }
        return map
    }()

    /// Index of `ch`'s own glyph, if any.
    @inline(__always)
    static func directIndex(_ ch: Character) -> Int? {
        if let a = ch.asciiValue {
            return a >= 32 && a <= 126 ? Int(a) - 32 : nil
        }
        return extraIndex[ch]
    }

    /// Glyph index for `ch` after folding to ASCII; `?` if nothing fits.
    static func glyphIndex(_ ch: Character) -> Int {
        if let i = directIndex(ch) { return i }
        if let mapped = fallback[ch], let i = directIndex(mapped) { return i }
        let folded = String(ch).folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        if folded.count == 1, let f = folded.first, let i = directIndex(f) { return i }
        return Int(Character("?").asciiValue!) - 32
    }

    static let fallback: [Character: Character] = [
        "\u{2013}": "-", "\u{2014}": "-", "\u{2212}": "-", "\u{2018}": "'", "\u{2019}": "'",
        "\u{201C}": "\"", "\u{201D}": "\"", "\u{2026}": ".", "\u{00A0}": " ", "\u{2009}": " ",
        "\u{03B3}": "y", "\u{03B5}": "e", "\u{03B7}": "n", "\u{03B8}": "0", "\u{03C4}": "t",
        "\u{00B5}": "\u{03BC}", "\u{2715}": "\u{00D7}", "\u{00B3}": "3",
        "\u{00B9}": "1", "\u{2192}": ">", "\u{2190}": "<", "\u{2022}": "\u{00B7}", "\t": " ",
    ]

    /// (character, rows top to bottom separated by `|`, `#` = ink); missing rows are blank.
    /// The first 95 entries are ASCII 32–126 in order.
    static let glyphs: [(Character, String)] = [
        (" ", "....."),
        ("!", "..#..|..#..|..#..|..#..|..#..|.....|..#.."),
        ("\"", ".#.#.|.#.#.|.#.#."),
        ("#", ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#."),
        ("$", "..#..|.####|#.#..|.###.|..#.#|####.|..#.."),
        ("%", "##...|##..#|...#.|..#..|.#...|#..##|...##"),
        ("&", ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#"),
        ("'", "..#..|..#..|.#..."),
        ("(", "...#.|..#..|.#...|.#...|.#...|..#..|...#."),
        (")", ".#...|..#..|...#.|...#.|...#.|..#..|.#..."),
        ("*", ".....|..#..|#.#.#|.###.|#.#.#|..#..|....."),
        ("+", ".....|..#..|..#..|#####|..#..|..#..|....."),
        (",", ".....|.....|.....|.....|.....|.##..|..#..|.#..."),
        ("-", ".....|.....|.....|#####|.....|.....|....."),
        (".", ".....|.....|.....|.....|.....|.##..|.##.."),
        ("/", ".....|....#|...#.|..#..|.#...|#....|....."),
        ("0", ".###.|#...#|#..##|#.#.#|##..#|#...#|.###."),
        ("1", "..#..|.##..|..#..|..#..|..#..|..#..|.###."),
        ("2", ".###.|#...#|....#|...#.|..#..|.#...|#####"),
        ("3", "#####|...#.|..#..|...#.|....#|#...#|.###."),
        ("4", "...#.|..##.|.#.#.|#..#.|#####|...#.|...#."),
        ("5", "#####|#....|####.|....#|....#|#...#|.###."),
        ("6", "..##.|.#...|#....|####.|#...#|#...#|.###."),
        ("7", "#####|....#|...#.|..#..|.#...|.#...|.#..."),
        ("8", ".###.|#...#|#...#|.###.|#...#|#...#|.###."),
        ("9", ".###.|#...#|#...#|.####|....#|...#.|.##.."),
        (":", ".....|.##..|.##..|.....|.##..|.##..|....."),
        (";", ".....|.##..|.##..|.....|.##..|..#..|.#..."),
        ("<", "...#.|..#..|.#...|#....|.#...|..#..|...#."),
        ("=", ".....|.....|#####|.....|#####|.....|....."),
        (">", ".#...|..#..|...#.|....#|...#.|..#..|.#..."),
        ("?", ".###.|#...#|....#|...#.|..#..|.....|..#.."),
        ("@", ".###.|#...#|....#|.##.#|#.#.#|#.#.#|.###."),
        ("A", ".###.|#...#|#...#|#####|#...#|#...#|#...#"),
        ("B", "####.|#...#|#...#|####.|#...#|#...#|####."),
        ("C", ".###.|#...#|#....|#....|#....|#...#|.###."),
        ("D", "###..|#..#.|#...#|#...#|#...#|#..#.|###.."),
        ("E", "#####|#....|#....|####.|#....|#....|#####"),
        ("F", "#####|#....|#....|####.|#....|#....|#...."),
        ("G", ".###.|#...#|#....|#.###|#...#|#...#|.####"),
        ("H", "#...#|#...#|#...#|#####|#...#|#...#|#...#"),
        ("I", ".###.|..#..|..#..|..#..|..#..|..#..|.###."),
        ("J", "..###|...#.|...#.|...#.|...#.|#..#.|.##.."),
        ("K", "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#"),
        ("L", "#....|#....|#....|#....|#....|#....|#####"),
        ("M", "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#"),
        ("N", "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#"),
        ("O", ".###.|#...#|#...#|#...#|#...#|#...#|.###."),
        ("P", "####.|#...#|#...#|####.|#....|#....|#...."),
        ("Q", ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#"),
        ("R", "####.|#...#|#...#|####.|#.#..|#..#.|#...#"),
        ("S", ".####|#....|#....|.###.|....#|....#|####."),
        ("T", "#####|..#..|..#..|..#..|..#..|..#..|..#.."),
        ("U", "#...#|#...#|#...#|#...#|#...#|#...#|.###."),
        ("V", "#...#|#...#|#...#|#...#|#...#|.#.#.|..#.."),
        ("W", "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#."),
        ("X", "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#"),
        ("Y", "#...#|#...#|.#.#.|..#..|..#..|..#..|..#.."),
        ("Z", "#####|....#|...#.|..#..|.#...|#....|#####"),
        ("[", ".###.|.#...|.#...|.#...|.#...|.#...|.###."),
        ("\\", ".....|#....|.#...|..#..|...#.|....#|....."),
        ("]", ".###.|...#.|...#.|...#.|...#.|...#.|.###."),
        ("^", "..#..|.#.#.|#...#"),
        ("_", ".....|.....|.....|.....|.....|.....|.....|#####"),
        ("`", ".#...|..#..|...#."),
        ("a", ".....|.....|.###.|....#|.####|#...#|.####"),
        ("b", "#....|#....|#.##.|##..#|#...#|#...#|####."),
        ("c", ".....|.....|.###.|#....|#....|#...#|.###."),
        ("d", "....#|....#|.##.#|#..##|#...#|#...#|.####"),
        ("e", ".....|.....|.###.|#...#|#####|#....|.###."),
        ("f", "..##.|.#..#|.#...|###..|.#...|.#...|.#..."),
        ("g", ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###."),
        ("h", "#....|#....|#.##.|##..#|#...#|#...#|#...#"),
        ("i", "..#..|.....|.##..|..#..|..#..|..#..|.###."),
        ("j", "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##.."),
        ("k", "#....|#....|#..#.|#.#..|##...|#.#..|#..#."),
        ("l", ".##..|..#..|..#..|..#..|..#..|..#..|.###."),
        ("m", ".....|.....|##.#.|#.#.#|#.#.#|#...#|#...#"),
        ("n", ".....|.....|#.##.|##..#|#...#|#...#|#...#"),
        ("o", ".....|.....|.###.|#...#|#...#|#...#|.###."),
        ("p", ".....|.....|####.|#...#|#...#|#...#|####.|#....|#...."),
        ("q", ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#"),
        ("r", ".....|.....|#.##.|##..#|#....|#....|#...."),
        ("s", ".....|.....|.####|#....|.###.|....#|####."),
        ("t", ".#...|.#...|###..|.#...|.#...|.#..#|..##."),
        ("u", ".....|.....|#...#|#...#|#...#|#..##|.##.#"),
        ("v", ".....|.....|#...#|#...#|#...#|.#.#.|..#.."),
        ("w", ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#."),
        ("x", ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#"),
        ("y", ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###."),
        ("z", ".....|.....|#####|...#.|..#..|.#...|#####"),
        ("{", "...#.|..#..|..#..|.#...|..#..|..#..|...#."),
        ("|", "..#..|..#..|..#..|..#..|..#..|..#..|..#.."),
        ("}", ".#...|..#..|..#..|...#.|..#..|..#..|.#..."),
        ("~", ".....|.....|.#...|#.#.#|...#.|.....|....."),
        // Symbols beyond ASCII.
        ("\u{03B1}", ".....|.....|.##.#|#..#.|#..#.|#..#.|.##.#"),              // α
        ("\u{03B2}", ".##..|#..#.|#..#.|###..|#..#.|#...#|###..|#....|#...."),  // β
        ("\u{03BB}", "#....|.#...|.#...|..#..|.#.#.|#...#|#...#"),              // λ
        ("\u{03BC}", ".....|.....|#...#|#...#|#...#|#..##|###.#|#....|#...."),  // μ
        ("\u{03C3}", ".....|.....|.####|#..#.|#...#|#...#|.###."),              // σ
        ("\u{00D7}", ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#"),              // ×
        ("\u{00B1}", "..#..|..#..|#####|..#..|..#..|.....|#####"),              // ±
        ("\u{00B0}", ".##..|#..#.|#..#.|.##.."),                                // °
        ("\u{00B7}", ".....|.....|.....|..#.."),                                // ·
        ("\u{2248}", ".....|.##.#|#..#.|.....|.##.#|#..#.|....."),              // ≈
        ("\u{2264}", "...#.|..#..|.#...|..#..|...#.|.....|#####"),              // ≤
        ("\u{2265}", ".#...|..#..|...#.|..#..|.#...|.....|#####"),              // ≥
        ("\u{00B2}", ".##..|#..#.|..#..|.#...|####."),                          // ²
    ]
}

extension RGBCanvas {
    /// Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale`
    /// block. `\n` starts a new line. Returns the drawn width in pixels.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: RGBColor, scale: Int = 1) -> Int {
        let s = max(1, scale)
        let rows = BitmapFont.rows
        var penX = x, penY = y
        for ch in text {
            if ch == "\n" {
                penX = x
                penY += BitmapFont.lineHeight * s
                continue
            }
            let g = BitmapFont.glyphIndex(ch)
            for r in 0..<BitmapFont.glyphHeight {
                let bits = rows[g * BitmapFont.glyphHeight + r]
                if bits == 0 { continue }
                for c in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(c)) != 0 {
                    fillRect(x: penX + c * s, y: penY + r * s, width: s, height: s, color)
                }
            }
            penX += BitmapFont.advance * s
        }
        return BitmapFont.textWidth(text, scale: s)
    }

    /// Draws one line of `text` rotated 90° counter-clockwise (reading bottom to top), as
    /// for a y-axis label. (x, y) is the top-left of the rotated box, which is
    /// `textHeight` wide and `textWidth` tall.
    public mutating func drawTextVertical(_ text: String, x: Int, y: Int, color: RGBColor, scale: Int = 1) {
        let s = max(1, scale)
        let rows = BitmapFont.rows
        let line = text.replacingOccurrences(of: "\n", with: " ")
        let total = BitmapFont.textWidth(line, scale: s)
        // Unrotated pixel (u, v) of the text box lands at (x + v, y + total - 1 - u).
        var penU = 0
        for ch in line {
            let g = BitmapFont.glyphIndex(ch)
            for r in 0..<BitmapFont.glyphHeight {
                let bits = rows[g * BitmapFont.glyphHeight + r]
                if bits == 0 { continue }
                for c in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(c)) != 0 {
                    let u = penU + c * s
                    fillRect(x: x + r * s, y: y + total - u - s, width: s, height: s, color)
                }
            }
            penU += BitmapFont.advance * s
        }
    }
}
