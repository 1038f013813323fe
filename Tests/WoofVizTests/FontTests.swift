import XCTest
import WoofTestSupport
@testable import WoofViz

final class FontTests: XCTestCase {
    /// Bounding box of non-background pixels.
    func bounds(_ c: RGBCanvas) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        var b: (Int, Int, Int, Int)?
        for y in 0..<c.height {
            for x in 0..<c.width where c.pixel(x: x, y: y) != .white {
                b = b.map { (min($0.0, x), min($0.1, y), max($0.2, x), max($0.3, y)) } ?? (x, y, x, y)
            }
        }
        return b.map { (x0: $0.0, y0: $0.1, x1: $0.2, y1: $0.3) }
    }

    func testGlyphTableCoversAscii() {
        XCTAssertEqual(BitmapFont.rows.count % BitmapFont.glyphHeight, 0)
        for a in UInt8(33)...UInt8(126) {
            let ch = Character(UnicodeScalar(a))
            XCTAssertTrue(BitmapFont.hasGlyph(ch))
            let g = BitmapFont.glyphIndex(ch)
            let ink = (0..<BitmapFont.glyphHeight).map { BitmapFont.rows[g * BitmapFont.glyphHeight + $0] }
            XCTAssertTrue(ink.contains { $0 != 0 }, "glyph \(ch) is blank")
        }
        // Distinct glyphs for all visible ASCII.
        var seen = Set<[UInt8]>()
        for g in 1..<95 { seen.insert(Array(BitmapFont.rows[g * 9..<(g + 1) * 9])) }
        XCTAssertEqual(seen.count, 94)
    }

    func testTextDrawsPixelsAndWidthMatches() throws {
        for scale in [1, 2, 3] {
            let text = "Acc@1 (%) 0.25"
            var c = RGBCanvas(width: 300, height: 40)
            let drawn = c.drawText(text, x: 5, y: 5, color: .black, scale: scale)
            let w = BitmapFont.textWidth(text, scale: scale)
            XCTAssertEqual(drawn, w)
            XCTAssertEqual(w, (text.count * 6 - 1) * scale)
            let b = try XCTUnwrap(bounds(c))
            XCTAssertEqual(b.x0, 5)               // 'A' touches its left column
            XCTAssertEqual(b.x1 - b.x0 + 1, w)    // '5' touches its right column
            XCTAssertEqual(b.y0, 5)
            XCTAssertLessThanOrEqual(b.y1 - 5 + 1, BitmapFont.textHeight(text, scale: scale))
        }
        XCTAssertEqual(BitmapFont.textWidth(""), 0)
        XCTAssertEqual(BitmapFont.textWidth("ab\nabcd"), 23)
        XCTAssertEqual(BitmapFont.textHeight("a\nb", scale: 2), 38)
    }

    func testVerticalTextIsRotated() throws {
        let text = "loss"
        var c = RGBCanvas(width: 40, height: 60)
        c.drawTextVertical(text, x: 3, y: 4, color: .black, scale: 2)
        let b = try XCTUnwrap(bounds(c))
        XCTAssertLessThanOrEqual(b.y1 - b.y0 + 1, BitmapFont.textWidth(text, scale: 2))
        XCTAssertGreaterThan(b.y1 - b.y0 + 1, BitmapFont.textWidth(text, scale: 2) - 2 * 2)
        XCTAssertLessThanOrEqual(b.x1 - b.x0 + 1, BitmapFont.glyphHeight * 2)
        XCTAssertEqual(b.y0, 4)
        // Rotating the vertical text back gives the horizontal rendering.
        var h = RGBCanvas(width: 60, height: 40)
        h.drawText(text, x: 0, y: 0, color: .black, scale: 2)
        let total = BitmapFont.textWidth(text, scale: 2)
        for u in 0..<total {
            for v in 0..<(BitmapFont.glyphHeight * 2) {
                XCTAssertEqual(h.pixel(x: u, y: v), c.pixel(x: 3 + v, y: 4 + total - 1 - u))
            }
        }
    }

    func testNonAsciiFallbacks() {
        func glyph(_ ch: Character) -> [UInt8] {
            let g = BitmapFont.glyphIndex(ch)
            return Array(BitmapFont.rows[g * 9..<(g + 1) * 9])
        }
        XCTAssertTrue(BitmapFont.hasGlyph("μ"))
        XCTAssertTrue(BitmapFont.hasGlyph("α"))
        XCTAssertTrue(BitmapFont.hasGlyph("×"))
        XCTAssertEqual(glyph("\u{00B5}"), glyph("μ"))  // micro sign → Greek mu
        XCTAssertEqual(glyph("é"), glyph("e"))
        XCTAssertEqual(glyph("–"), glyph("-"))
        XCTAssertEqual(glyph("漢"), glyph("?"))
        XCTAssertEqual(glyph("🐶"), glyph("?"))
        var c = RGBCanvas(width: 100, height: 12)
        c.drawText("α=1e-4 × 2 μs", x: 0, y: 0, color: .black)
    }
}
