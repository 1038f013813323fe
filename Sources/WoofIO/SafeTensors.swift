import Foundation

/// An error reading or writing a safetensors file; the message names the file and the problem.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
    public init(_ path: String, _ problem: String) { self.path = path; self.problem = problem }
}

/// One F32 tensor of a safetensors file.
public struct NamedTensor {
    public var shape: [Int]
    public var data: [Float]
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape; self.data = data
    }
    public var count: Int { data.count }
}

/// Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length, a JSON header mapping names to dtype, shape and
/// byte offsets (relative to the end of the header), then the raw little-endian data.
/// Only F32 tensors are accepted. Every field is validated before any data is read.
public struct SafeTensorsFile {
    public let path: String
    /// Tensors by name, in the order of their data offsets.
    public private(set) var tensors: [String: NamedTensor] = [:]
    public private(set) var names: [String] = []
    public private(set) var metadata: [String: String] = [:]

    /// Largest header we accept (the format's own reference implementation uses 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SafeTensorsError(path, "is a directory, not a safetensors file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SafeTensorsError(path, FileManager.default.fileExists(atPath: path)
                ? "cannot be opened for reading" : "no such file")
        }
        defer { try? handle.close() }
        let bytes: Data
        do { bytes = try handle.readToEnd() ?? Data() } catch {
            throw SafeTensorsError(path, "read failed: \(String(cString: strerror(errno)))")
        }
        try self.init(path: path, bytes: bytes)
    }

    /// Parses an in-memory file; `path` is used only in error messages.
    public init(path: String, bytes: Data) throws {
        self.path = path
        let (headerBytes, dataStart) = try Self.splitHeader(bytes, path: path)
        let header = try Self.parseHeader(headerBytes, path: path)
        metadata = header.metadata
        let spans = try Self.tensorSpans(header.entries, dataBytes: bytes.count - dataStart, path: path)
        readTensors(spans, from: bytes, dataStart: dataStart)
    }

    /// Where one tensor's values lie in the data section (byte offsets from its start).
    struct TensorSpan { var name: String; var shape: [Int]; var begin: Int; var end: Int }

    /// The header's bytes and where the data section starts, after checking the declared
    /// header length against the file and the header's encoding.
    static func splitHeader(_ bytes: Data, path: String) throws -> (header: Data, dataStart: Int) {
        let fail = { (problem: String) in SafeTensorsError(path, problem) }
        guard bytes.count >= 8 else { throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        var headerLen: UInt64 = 0
        bytes.withUnsafeBytes { raw in
            for i in 0..<8 { headerLen |= UInt64(raw[i]) << (8 * UInt64(i)) }
        }
        guard headerLen <= UInt64(Self.maxHeaderBytes) else {
            throw fail("declared header length \(headerLen) bytes is implausibly large")
        }
        guard headerLen <= UInt64(bytes.count - 8) else {
            throw fail("declared header length \(headerLen) runs past the end of the file (\(bytes.count) bytes): truncated?")
        }
        let dataStart = 8 + Int(headerLen)
        let header = bytes.subdata(in: (bytes.startIndex + 8)..<(bytes.startIndex + dataStart))
        guard String(data: header, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        return (header, dataStart)
    }

    /// Decodes the header JSON; a key given twice is an error.
    static func parseHeader(_ json: Data, path: String) throws -> SafeTensorsHeader {
        // Foundation's decoder checks a value's syntax only when the value is read, and entries
        // are read loosely below: reading the whole document first keeps bad JSON an error.
        guard (try? JSONDecoder().decode(JSONTree.self, from: json)) != nil else {
            throw SafeTensorsError(path, "header is not valid JSON")
        }
        let header: SafeTensorsHeader
        do {
            header = try JSONDecoder().decode(SafeTensorsHeader.self, from: json)
        } catch let e as SafeTensorsHeader.Problem {
            throw SafeTensorsError(path, e.problem)
        } catch DecodingError.typeMismatch(_, let c) where c.codingPath.isEmpty {
            throw SafeTensorsError(path, "header JSON is not an object")
        } catch {
            throw SafeTensorsError(path, "header is not valid JSON")
        }
        // JSON parsers keep one of repeated keys silently; a file with two tensors of the
        // same name is ambiguous, so it is rejected.
        if let dup = SafeTensorsFile.firstDuplicateTopLevelKey(json) {
            throw SafeTensorsError(path, "header names '\(dup)' more than once")
        }
        return header
    }

    /// Every entry checked (F32, a valid shape, offsets inside the data section that match
    /// the shape), in data order; overlapping tensors are an error.
    static func tensorSpans(_ entries: [String: SafeTensorsHeader.Entry], dataBytes: Int, path: String) throws -> [TensorSpan] {
        var spans = try entries.keys.sorted().map { try span($0, entries[$0]!, dataBytes: dataBytes, path: path) }
        spans.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.end < $1.end) }
        for i in spans.indices.dropFirst() where spans[i].begin < spans[i - 1].end {
            throw SafeTensorsError(path, "tensors '\(spans[i - 1].name)' and '\(spans[i].name)' overlap in the data section")
        }
        return spans
    }

    static func span(_ name: String, _ info: SafeTensorsHeader.Entry, dataBytes: Int, path: String) throws -> TensorSpan {
        let fail = { (problem: String) in SafeTensorsError(path, problem) }
        guard let dtype = info.dtype else { throw fail("tensor '\(name)' has no dtype") }
        guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
        let (shape, elements) = try shapeOf(name, info, path: path)
        guard let offs = info.dataOffsets, offs.count == 2, let begin = offs[0].integer, let end = offs[1].integer else {
            throw fail("tensor '\(name)' has no valid data_offsets [begin, end]")
        }
        guard begin >= 0, end >= begin else { throw fail("tensor '\(name)' has data_offsets [\(begin), \(end)] out of order") }
        guard end <= Int64(dataBytes) else {
            throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataBytes)-byte data section: truncated?")
        }
        guard end - begin == Int64(elements * 4) else {
            throw fail("tensor '\(name)' shape \(shape) needs \(elements * 4) bytes but data_offsets span \(end - begin)")
        }
        return TensorSpan(name: name, shape: shape, begin: Int(begin), end: Int(end))
    }

    /// The shape of an entry and its element count (which must fit in memory as bytes).
    static func shapeOf(_ name: String, _ info: SafeTensorsHeader.Entry, path: String) throws -> (shape: [Int], elements: Int) {
        let fail = { (problem: String) in SafeTensorsError(path, problem) }
        guard let dims = info.shape else { throw fail("tensor '\(name)' has no shape list") }
        var shape: [Int] = [], elements = 1
        for d in dims {
            guard let n = d.integer, n >= 0, n <= Int64(Int32.max) else {
                throw fail("tensor '\(name)' has an invalid dimension \(d.text) in its shape")
            }
            shape.append(Int(n))
            let (m, overflow) = elements.multipliedReportingOverflow(by: Int(n))
            guard !overflow, m <= Int.max / 8 else { throw fail("tensor '\(name)' shape \(shape) is too large") }
            elements = m
        }
        return (shape, elements)
    }

    /// Copies each span's little-endian float32 values out of the data section.
    mutating func readTensors(_ spans: [TensorSpan], from bytes: Data, dataStart: Int) {
        bytes.withUnsafeBytes { raw in
            for e in spans {
                let n = (e.end - e.begin) / 4
                var values = [Float](repeating: 0, count: n)
                values.withUnsafeMutableBytes { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin)..<(dataStart + e.end)]))
                }
                #if _endian(big)
                for i in 0..<n { values[i] = Float(bitPattern: UInt32(littleEndian: values[i].bitPattern)) }
                #endif
                tensors[e.name] = NamedTensor(shape: e.shape, data: values)
                names.append(e.name)
            }
        }
    }

    /// The first top-level key that occurs twice in a JSON object, scanning bytes (strings,
    /// escapes and nesting respected).
    static func firstDuplicateTopLevelKey(_ json: Data) -> String? {
        var seen = Set<Data>()
        var depth = 0, inString = false, escaped = false
        var keyStart = -1
        var pendingKey: Data? = nil
        return json.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            for i in 0..<raw.count {
                let c = raw[i]
                if inString {
                    if escaped { escaped = false }
                    else if c == UInt8(ascii: "\\") { escaped = true }
                    else if c == UInt8(ascii: "\"") {
                        inString = false
                        if depth == 1 && keyStart >= 0 { pendingKey = Data(raw[keyStart..<i]) }
                        keyStart = -1
                    }
                    continue
                }
                switch c {
                case UInt8(ascii: "\""):
                    inString = true
                    keyStart = depth == 1 ? i + 1 : -1
                case UInt8(ascii: ":"):
                    if depth == 1, let k = pendingKey {
                        if !seen.insert(k).inserted { return String(decoding: k, as: UTF8.self) }
                    }
                    pendingKey = nil
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; pendingKey = nil
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; pendingKey = nil
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
                default: pendingKey = nil
                }
            }
            return nil
        }
    }

    public subscript(name: String) -> NamedTensor? { tensors[name] }

    /// The tensor called `name`, or an error naming the file and the missing key.
    public func tensor(_ name: String) throws -> NamedTensor {
        guard let t = tensors[name] else { throw SafeTensorsError(path, "has no tensor '\(name)'") }
        return t
    }

    /// Serialises `tensors` (written in sorted-name order, as the reference writer does).
    public static func encode(_ tensors: [String: NamedTensor], metadata: [String: String] = [:]) -> Data {
        var out = Data()
        stream(tensors, metadata: metadata) { out.append(contentsOf: $0) }
        return out
    }

    /// Writes atomically: a temporary file in the same directory, fsync, then rename. The
    /// tensors go to the file one by one, never copied into one buffer (a checkpoint is
    /// 3 × the trainable parameters).
    public static func write(_ tensors: [String: NamedTensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(to: path) { put in try stream(tensors, metadata: metadata, put) }
    }

    /// Hands the file's bytes to `put` in order: length, header, then each tensor's data.
    private static func stream(_ tensors: [String: NamedTensor], metadata: [String: String],
                               _ put: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let meta = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(meta.joined(separator: ","))}")
        }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * 4
            parts.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        // Pad the header with spaces to an 8-byte boundary so the data is aligned.
        while (header.utf8.count % 8) != 0 { header += " " }
        var len = UInt64(header.utf8.count).littleEndian
        try withUnsafeBytes(of: &len) { try put($0) }
        try Array(header.utf8).withUnsafeBytes { try put($0) }
        for name in names { try tensors[name]!.data.withUnsafeBytes { try put($0) } }
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// The JSON header of a safetensors file: an entry per tensor name, and `__metadata__`, a
/// map of strings. An entry's fields are read loosely (a field of the wrong type reads as
/// absent), so that `SafeTensorsFile` can say which check a tensor fails.
struct SafeTensorsHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [String: Entry] = [:]

    /// A structural problem found while decoding, already phrased for the error message.
    struct Problem: Error { var problem: String }

    struct Entry: Decodable {
        var dtype: String?
        var shape: [Number]?
        var dataOffsets: [Number]?

        enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }

        /// Fails only when the entry is not an object.
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try? c.decode(String.self, forKey: .dtype)
            shape = try? c.decode([Number].self, forKey: .shape)
            dataOffsets = try? c.decode([Number].self, forKey: .dataOffsets)
        }
    }

    /// A JSON value where a number is expected: its exact integer value when it has one
    /// (fractions, booleans, text and numbers beyond 9e15 have none), and its text for messages.
    struct Number: Decodable {
        var integer: Int64?
        var text: String

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int64.self) {
                (integer, text) = (abs(Double(i)) < 9.0e15 ? i : nil, String(i))
            } else if let d = try? c.decode(Double.self) {
                (integer, text) = (d.isFinite && d.rounded() == d && abs(d) < 9.0e15 ? Int64(d) : nil, "\(d)")
            } else if let b = try? c.decode(Bool.self) {
                (integer, text) = (nil, "\(b)")
            } else if let s = try? c.decode(String.self) {
                (integer, text) = (nil, "\"\(s)\"")
            } else {
                (integer, text) = (nil, c.decodeNil() ? "null" : "(a list or object)")
            }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try Self.metadata(c, key)
                continue
            }
            guard let entry = try? c.decode(Entry.self, forKey: key) else {
                throw Problem(problem: "entry '\(key.stringValue)' is not an object")
            }
            entries[key.stringValue] = entry
        }
    }

    static func metadata(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> [String: String] {
        guard let meta = try? c.nestedContainer(keyedBy: Key.self, forKey: key) else {
            throw Problem(problem: "__metadata__ is not an object")
        }
        var out: [String: String] = [:]
        for k in meta.allKeys {
            guard let s = try? meta.decode(String.self, forKey: k) else {
                throw Problem(problem: "__metadata__ value for '\(k.stringValue)' is not a string")
            }
            out[k.stringValue] = s
        }
        return out
    }
}

/// Crash-safe file writes: temp file + fsync + rename, so a reader sees the old or the new
/// file, never a torn one.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { put in try data.withUnsafeBytes { try put($0) } }
    }

    /// Writes whatever `body` passes to its `put` function, in order, as the file's content.
    public static func write(to path: String, _ body: (_ put: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(path, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = true
        var err = ""
        struct WriteFailed: Error {}
        do {
            try body { raw in
                var done = 0
                while done < raw.count {
                    let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n <= 0 { err = String(cString: strerror(errno)); throw WriteFailed() }
                    done += n
                }
            }
        } catch is WriteFailed {
            ok = false
        } catch {
            close(fd); unlink(tmp); throw error
        }
        if ok && fsync(fd) != 0 { ok = false; err = String(cString: strerror(errno)) }
        close(fd)
        guard ok else { unlink(tmp); throw SafeTensorsError(path, "write failed: \(err)") }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno)); unlink(tmp)
            throw SafeTensorsError(path, "rename failed: \(e)")
        }
    }
}
