import Foundation

/// A file the project reads is malformed or missing; the message names the file.
public struct FileFormatError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A comma-separated table, the one reader and writer of the project's CSV files (RFC 4180):
/// a header row and rows of fields; a field holding a comma, a quote or a line break is
/// written in double quotes with its quotes doubled, and read back the same way. Lines end
/// in LF when written; LF and CRLF are both read. Errors name the file and the line.
public struct CSVTable: Equatable {
    public var path: String
    public var header: [String]
    public var rows: [[String]]

    public init(path: String = "", header: [String], rows: [[String]] = []) {
        self.path = path; self.header = header; self.rows = rows
    }

    /// Appends a row; it must have one field per column.
    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "CSV row of \(row.count) fields for \(header.count) columns")
        rows.append(row)
    }

    /// Parses `text`; every row must have as many fields as the header.
    public init(text: String, path: String) throws {
        var records = try CSVTable.records(text, path: path)
        guard !records.isEmpty else { throw FileFormatError("\(path): empty CSV (no header)") }
        let header = records.removeFirst().fields
        for r in records where r.fields.count != header.count {
            throw FileFormatError("\(path): line \(r.line) has \(r.fields.count) fields, the header has \(header.count)")
        }
        self.init(path: path, header: header, rows: records.map(\.fields))
    }

    /// RFC 4180 records of `text` with the line each starts on; blank lines are skipped.
    static func records(_ text: String, path: String) throws -> [(line: Int, fields: [String])] {
        var out: [(line: Int, fields: [String])] = []
        var fields: [String] = [], field = "", quoted = false, afterQuote = false
        var line = 1, start = 1, it = Array(text.unicodeScalars)[...]
        func endRecord() {
            fields.append(field); field = ""
            if !(fields.count == 1 && fields[0].isEmpty) { out.append((start, fields)) }
            fields = []
        }
        while let c = it.popFirst() {
            if quoted {
                if c == "\"" {
                    if it.first == "\"" { it.removeFirst(); field.unicodeScalars.append(c) } else { quoted = false; afterQuote = true }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",": fields.append(field); field = ""; afterQuote = false
            case "\r" where it.first == "\n": break
            case "\n": endRecord(); afterQuote = false; line += 1; start = line
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            default:
                guard !afterQuote else { throw FileFormatError("\(path): line \(line): text after a closing quote") }
                guard c != "\"" else { throw FileFormatError("\(path): line \(line): a quote inside an unquoted field") }
                field.unicodeScalars.append(c)
            }
        }
        guard !quoted else { throw FileFormatError("\(path): line \(start): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || afterQuote { endRecord() }
        return out
    }

    /// Reads the file at `path`; `missing` says which stage produces it.
    public static func read(_ path: String, missing: String = "") throws -> CSVTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileFormatError("\(path): cannot read" + (missing.isEmpty ? "" : " (\(missing))"))
        }
        return try CSVTable(text: text, path: path)
    }

    /// Writes the table to `path` atomically.
    public func write(to path: String) throws { try AtomicFile.write(Data(text.utf8), to: path) }

    /// Fails unless every one of `columns` is in the header.
    public func require(_ columns: [String]) throws {
        let absent = columns.filter { !header.contains($0) }
        guard absent.isEmpty else { throw FileFormatError("\(path): missing column(s) \(absent.joined(separator: ", "))") }
    }

    public func column(_ name: String) throws -> Int {
        guard let i = header.firstIndex(of: name) else { throw FileFormatError("\(path): no column '\(name)'") }
        return i
    }

    /// The field `name` of row `row` as text.
    public func string(_ row: Int, _ name: String) throws -> String { rows[row][try column(name)] }

    /// The field `name` of row `row` as a number; the error names the file, line and column.
    public func double(_ row: Int, _ name: String) throws -> Double {
        let s = try string(row, name)
        guard let v = Double(s), v.isFinite else {
            throw FileFormatError("\(path): line \(row + 2), column '\(name)': '\(s)' is not a finite number")
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

    /// A field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break.
    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The text of the table (header first, one row per line, trailing newline).
    public var text: String {
        ([header] + rows).map { $0.map(CSVTable.quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
