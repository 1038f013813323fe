import Foundation

/// A small comma-separated table: a header row and rows of plain fields (no quoting; the
/// project's CSVs never put commas inside a field). Errors name the file and the line.
public struct CSVTable: Equatable {
    public var path: String
    public var header: [String]
    public var rows: [[String]]

    public init(path: String, header: [String], rows: [[String]]) {
        self.path = path; self.header = header; self.rows = rows
    }

    /// Parses `text`; every row must have as many fields as the header.
    public init(text: String, path: String) throws {
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw TrainError.io("\(path): empty CSV (no header)") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var rows: [[String]] = []
        for (i, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == header.count else {
                throw TrainError.io("\(path): line \(i + 2) has \(f.count) fields, the header has \(header.count)")
            }
            rows.append(f)
        }
        self.init(path: path, header: header, rows: rows)
    }

    /// Reads the file at `path`; `missing` says which stage produces it.
    public static func read(_ path: String, missing: String = "") throws -> CSVTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainError.io("\(path): cannot read" + (missing.isEmpty ? "" : " (\(missing))"))
        }
        return try CSVTable(text: text, path: path)
    }

    /// Fails unless every one of `columns` is in the header.
    public func require(_ columns: [String]) throws {
        let absent = columns.filter { !header.contains($0) }
        guard absent.isEmpty else { throw TrainError.io("\(path): missing column(s) \(absent.joined(separator: ", "))") }
    }

    public func column(_ name: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else { throw TrainError.io("\(path): no column '\(name)'") }
        return i
    }

    /// The field `name` of row `row` as text.
    public func string(_ row: Int, _ name: String) throws -> String { rows[row][try column(name)] }

    /// The field `name` of row `row` as a number; the error names the file, line and column.
    public func double(_ row: Int, _ name: String) throws -> Double {
        let s = try string(row, name)
        guard let v = Double(s), v.isFinite else {
            throw TrainError.io("\(path): line \(row + 2), column '\(name)': '\(s)' is not a finite number")
        }
        return v
    }

    /// The field `name` as a number when it is a finite one, else `nil` (for optional fields
    /// such as a group's spread).
    public func optionalDouble(_ row: Int, _ name: String) throws -> Double? {
        Double(try string(row, name)).flatMap { $0.isFinite ? $0 : nil }
    }

    /// Rows whose fields equal the given values.
    public func rows(where match: [String: String]) throws -> [Int] {
        let cols = try match.map { (try column($0.key), $0.value) }
        return rows.indices.filter { r in cols.allSatisfy { rows[r][$0.0] == $0.1 } }
    }

    /// The text of the table (header first, one row per line, trailing newline).
    public var text: String {
        ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
