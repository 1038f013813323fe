import Foundation

/// The one reader and writer of the project's JSON files. Every file is a `Codable` record,
/// written and read by the same type; a file that does not decode fails with a message
/// naming the file, the field and the problem (`out/full_model/summary.json:
/// final_val_top1: missing`), as a `FileFormatError`.
public enum JSONFile {
    /// Reads the record at `path`; `missing` says which stage produces the file.
    public static func read<T: Decodable>(_ type: T.Type, from path: String, missing: String = "") throws -> T {
        try decode(type, from: try contents(path, missing: missing), path: path)
    }

    /// Reads the record at `path`, or `nil` when there is no such file (an optional input,
    /// or a run that has not finished). A file that is there must decode.
    public static func readIfPresent<T: Decodable>(_ type: T.Type, from path: String) throws -> T? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try read(type, from: path)
    }

    /// Reads a JSON Lines file: one record per non-empty line. Errors name the line.
    public static func readLines<T: Decodable>(_ type: T.Type, from path: String, missing: String = "") throws -> [T] {
        let text = String(decoding: try contents(path, missing: missing), as: UTF8.self)
        return try text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return try decode(type, from: Data(line.utf8), path: path, context: "line \(i + 1): ")
        }
    }

    /// Decodes `data`; `path` (and `context`, such as a line number) name it in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String, context: String = "") throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            var message = problem(error)
            if case .dataCorrupted(let c) = error, c.codingPath.isEmpty, let misfit = misfitNumber(type, in: data) { message = misfit }
            throw FileFormatError("\(path): \(context)\(message)")
        }
    }

    /// Writes `value` to `path` atomically: pretty-printed, keys sorted, with a trailing newline.
    public static func write<T: Encodable>(_ value: T, to path: String) throws {
        try AtomicFile.write(try encoded(value), to: path)
    }

    /// The bytes `write` puts in a file.
    public static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value) + Data("\n".utf8)
    }

    /// `value` as one compact line (keys sorted, no newline): a line of a JSON Lines file,
    /// or what a command prints.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A field a record may lack but this reader needs: its value, or `<path>: <field>: missing`.
    public static func require<T>(_ value: T?, _ field: String, in path: String) throws -> T {
        guard let value else { throw FileFormatError("\(path): \(field): missing") }
        return value
    }

    static func contents(_ path: String, missing: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot read" : "missing"
            throw FileFormatError("\(path): \(why)" + (missing.isEmpty ? "" : " (\(missing))"))
        }
        return data
    }

    /// `<field>: <problem>` for a decoding error, the field spelled as in the file
    /// (`config.loraTargets[2]`); errors of the document as a whole name no field.
    static func problem(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let c):
            return field(c.codingPath + [key]) + ": missing"
        case .valueNotFound(let type, let c):
            return field(c.codingPath) + ": null, expected \(describe(type))"
        case .typeMismatch(let type, let c):
            return c.codingPath.isEmpty ? "not a JSON object" : field(c.codingPath) + ": expected \(describe(type))"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not valid JSON" : field(c.codingPath) + ": " + c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    /// Foundation's decoder reports a number that does not fit its field (1.5 where an
    /// integer belongs) as invalid JSON, without a coding path. When the document does parse,
    /// this finds that number: the first whose replacement by 0 gets the decoder past it.
    static func misfitNumber<T: Decodable>(_ type: T.Type, in data: Data) -> String? {
        guard let tree = try? JSONDecoder().decode(JSONTree.self, from: data) else { return nil }
        for (path, value) in tree.numbers() {
            guard let patched = try? JSONEncoder().encode(tree.replacing(path[...], with: .number(0))) else { continue }
            do {
                _ = try JSONDecoder().decode(type, from: patched)
            } catch DecodingError.dataCorrupted(let c) where c.codingPath.isEmpty {
                continue
            } catch {}
            return field(path) + (value.rounded() == value ? ": \(value) is out of range" : ": expected an integer, found \(value)")
        }
        return nil
    }

    static func field(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue, key.stringValue.hasPrefix("Index ") {  // a list element
                out += "[\(i)]"
            } else {
                out += (out.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return out.isEmpty ? "(top level)" : out
    }

    /// "a number", "text", … for the type a decoder expected.
    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type: return "an integer"
        case is String.Type: return "text"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Dictionary") { return "an object" }
            if name.hasPrefix("Array") { return "a list" }
            return name
        }
    }
}

/// Any JSON document, for locating a number the decoder rejected (`JSONFile.misfitNumber`).
indirect enum JSONTree: Codable {
    case object([String: JSONTree]), array([JSONTree]), string(String), number(Double), bool(Bool), null

    /// A step of a path into the tree, spelled as the decoders spell coding paths.
    struct Key: CodingKey {
        var stringValue: String, intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
        init(intValue: Int) { stringValue = "Index \(intValue)"; self.intValue = intValue }
    }

    init(from decoder: Decoder) throws {
        if let o = try? decoder.container(keyedBy: Key.self) {
            let pairs = try o.allKeys.map { ($0.stringValue, try o.decode(JSONTree.self, forKey: $0)) }
            self = .object(Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
        } else if var a = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !a.isAtEnd { items.append(try a.decode(JSONTree.self)) }
            self = .array(items)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .object(let o): try c.encode(o)
        case .array(let a): try c.encode(a)
        case .string(let s): try c.encode(s)
        case .number(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        }
    }

    /// Every number in the tree with its path, in key order.
    func numbers(at path: [CodingKey] = []) -> [([CodingKey], Double)] {
        switch self {
        case .number(let d): return [(path, d)]
        case .object(let o): return o.keys.sorted().flatMap { o[$0]!.numbers(at: path + [Key(stringValue: $0)]) }
        case .array(let a): return a.indices.flatMap { a[$0].numbers(at: path + [Key(intValue: $0)]) }
        default: return []
        }
    }

    /// The tree with the value at `path` replaced.
    func replacing(_ path: ArraySlice<CodingKey>, with value: JSONTree) -> JSONTree {
        guard let step = path.first else { return value }
        switch self {
        case .object(var o):
            o[step.stringValue] = o[step.stringValue]?.replacing(path.dropFirst(), with: value)
            return .object(o)
        case .array(var a):
            if let i = step.intValue, a.indices.contains(i) { a[i] = a[i].replacing(path.dropFirst(), with: value) }
            return .array(a)
        default:
            return self
        }
    }
}

/// A record type whose files carry a `version` field.
public protocol VersionedRecord: Codable {
    /// The newest version this build writes and reads.
    static var currentVersion: Int { get }
}

/// The `version` field of a `VersionedRecord`: written always; read as 1 when absent (files
/// written before records carried a version), and refused when newer than this build reads
/// (`<path>: version: 2 is newer than this build reads (1)`).
@propertyWrapper
public struct RecordVersion<Record: VersionedRecord>: Codable, Equatable, Sendable {
    public var wrappedValue: Int

    public init(wrappedValue: Int) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let version = try decoder.singleValueContainer().decode(Int.self)
        guard version <= Record.currentVersion else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "\(version) is newer than this build reads (\(Record.currentVersion))"))
        }
        wrappedValue = version
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}

/// An optional field written as an explicit `null` when it has no value (the synthesized
/// encoding would leave the key out); read back from `null` or from an absent key.
@propertyWrapper
public struct ExplicitNull<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

// The synthesized decoders call `decode(_:forKey:)`, which fails on an absent key; these
// overloads, more specific than the generic one, let the two wrappers read absent keys.
extension KeyedDecodingContainer {
    /// A record's version; 1 when the key is absent.
    public func decode<R>(_ type: RecordVersion<R>.Type, forKey key: Key) throws -> RecordVersion<R> {
        try decodeIfPresent(type, forKey: key) ?? RecordVersion(wrappedValue: 1)
    }

    /// An optional written as an explicit null; `nil` when the key is absent.
    public func decode<V>(_ type: ExplicitNull<V>.Type, forKey key: Key) throws -> ExplicitNull<V> {
        try decodeIfPresent(type, forKey: key) ?? ExplicitNull(wrappedValue: nil)
    }
}
