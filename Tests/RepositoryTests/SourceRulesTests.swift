import Foundation
import XCTest
import WoofTestSupport

/// The house rules that a reviewer would otherwise check by eye: short functions, typed
/// records, a README whose layout table names every module.
final class SourceRulesTests: XCTestCase {
    static let sources = packageRoot + "/Sources"

    /// Every Swift file under Sources with its lines.
    func swiftFiles() throws -> [(path: String, lines: [String])] {
        let fm = FileManager.default
        let all = fm.enumerator(atPath: Self.sources)?.compactMap { $0 as? String } ?? []
        return try all.filter { $0.hasSuffix(".swift") }.sorted().map { rel in
            let text = try String(contentsOfFile: Self.sources + "/" + rel, encoding: .utf8)
            return ("Sources/" + rel, text.components(separatedBy: "\n"))
        }
    }

    /// Lines from each `func`/`init` declaration to its closing brace (string literals and
    /// comments ignored).
    static func functionLengths(_ lines: [String]) -> [(line: Int, name: String, length: Int)] {
        let decl = try! NSRegularExpression(pattern: #"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|override|mutating|final|class|nonisolated|@discardableResult|@inlinable)\s+)*(func\s+[^\s(<]+|init[?!]?|deinit|subscript)\b"#)
        let literal = try! NSRegularExpression(pattern: #""(?:[^"\\]|\\.)*""#)
        var out: [(Int, String, Int)] = []
        for (i, line) in lines.enumerated() {
            let range = NSRange(line.startIndex..., in: line)
            guard let m = decl.firstMatch(in: line, range: range), let r = Range(m.range(at: 1), in: line) else { continue }
            var depth = 0, started = false, j = i
            scan: while j < lines.count {
                let l = lines[j]
                var code = literal.stringByReplacingMatches(in: l, range: NSRange(l.startIndex..., in: l), withTemplate: "\"\"")
                if let c = code.range(of: "//") { code = String(code[..<c.lowerBound]) }
                for ch in code {
                    if ch == "{" { depth += 1; started = true } else if ch == "}" { depth -= 1 }
                    if started && depth <= 0 { break scan }
                }
                j += 1
            }
            if started { out.append((i + 1, String(line[r]), j - i + 1)) }
        }
        return out
    }

    func testNoFunctionIsLongerThanAScreen() throws {
        var long: [String] = []
        for (path, lines) in try swiftFiles() {
            for f in Self.functionLengths(lines) where f.length > 60 { long.append("\(path):\(f.line) \(f.name): \(f.length) lines") }
        }
        XCTAssertEqual(long, [], "functions over 60 lines")
    }

    func testTheCounterSeesALongFunction() {
        let body = ["func big() {"] + Array(repeating: "    let s = \"}\" // }", count: 70) + ["}"]
        XCTAssertEqual(Self.functionLengths(body).first?.length, 72)
    }

    func testTheProjectsFilesAreTypedRecords() throws {
        for (path, lines) in try swiftFiles() {
            for (i, l) in lines.enumerated() where l.contains("String: Any") || l.contains("JSONSerialization") {
                XCTFail("\(path):\(i + 1): untyped JSON: \(l.trimmingCharacters(in: .whitespaces))")
            }
        }
    }

    func testReadmeLayoutNamesEveryModule() throws {
        let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources).filter { !$0.hasPrefix(".") }
        for m in modules { XCTAssertTrue(readme.contains("`Sources/\(m)`") || readme.contains("Sources/\(m)/"), "README's layout lacks Sources/\(m)") }
    }
}
