import XCTest
@testable import WoofIO

/// The one CSV reader/writer: RFC 4180 quoting both ways, and errors that name file and line.
final class CSVTests: XCTestCase {
    func testFieldsWithCommasQuotesAndLineBreaksRoundTrip() throws {
        var t = CSVTable(header: ["path", "note", "n"])
        t.append(["val/a,b.JPEG", "says \"hi\"", "1"])
        t.append(["plain", "two\nlines", ""])
        t.append(["", "", "3"])
        XCTAssertEqual(t.text, "path,note,n\n\"val/a,b.JPEG\",\"says \"\"hi\"\"\",1\nplain,\"two\nlines\",\n,,3\n")
        let back = try CSVTable(text: t.text, path: "t.csv")
        XCTAssertEqual(back.header, t.header)
        XCTAssertEqual(back.rows, t.rows)
    }

    func testPlainFilesReadAsBeforeWithCRLFAndBlankLines() throws {
        let t = try CSVTable(text: "a,b\r\n1,2\r\n\r\n3,4", path: "x.csv")
        XCTAssertEqual(t.rows, [["1", "2"], ["3", "4"]])
        XCTAssertEqual(try t.double(1, "b"), 4)
        XCTAssertEqual(t.text, "a,b\n1,2\n3,4\n")
    }

    func testMalformedTablesNameFileAndLine() {
        func message(_ text: String) -> String {
            do { _ = try CSVTable(text: text, path: "bad.csv"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("a,b\n1,2\n3\n"), "bad.csv: line 3 has 1 fields, the header has 2")
        XCTAssertEqual(message("a,b\n1,\"open\n"), "bad.csv: line 2: a quoted field is never closed")
        XCTAssertEqual(message("a,b\n1,\"x\"y\n"), "bad.csv: line 2: text after a closing quote")
        XCTAssertEqual(message("a,b\n1,x\"y\n"), "bad.csv: line 2: a quote inside an unquoted field")
        XCTAssertEqual(message(""), "bad.csv: empty CSV (no header)")
        XCTAssertThrowsError(try CSVTable(text: "a\nnot-a-number\n", path: "n.csv").double(0, "a")) {
            XCTAssertEqual("\($0)", "n.csv: line 2, column 'a': 'not-a-number' is not a finite number")
        }
    }
}
