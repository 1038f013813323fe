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
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SafeTensorsError(path, FileManager.default.fileExists(atPath: path)
                ? "cannot be opened for reading" : "no such file")
        }
        defer { try? handle.close() }
        let bytes: Data
        do { bytes = try handle.readToEnd() ?? Data() } catch {
            throw SafeTensorsError(path, "read failed: \(error.localizedDescription)")
        }
        try self.init(path: path, bytes: bytes)
    }

    /// Parses an in-memory file; `path` is used only in error messages.
    public init(path: String, bytes: Data) throws {
        self.path = path
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
        let headerBytes = bytes.subdata(in: (bytes.startIndex + 8)..<(bytes.startIndex + dataStart))
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes, options: []) } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header JSON is not an object") }
        // JSON parsers keep the last of repeated keys silently; a file with two tensors of
        // the same name is ambiguous, so it is rejected.
        if let dup = SafeTensorsFile.firstDuplicateTopLevelKey(headerBytes) {
            throw fail("header names '\(dup)' more than once")
        }
        let dataLen = bytes.count - dataStart
        var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("tensor '\(name)' has no shape list") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let n = jsonInteger(d), n >= 0, n <= Int64(Int32.max) else {
                    throw fail("tensor '\(name)' has an invalid dimension \(d) in its shape")
                }
                shape.append(Int(n))
                let (m, overflow) = elements.multipliedReportingOverflow(by: Int(n))
                guard !overflow, m <= Int.max / 8 else { throw fail("tensor '\(name)' shape \(shape) is too large") }
                elements = m
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                  let begin = jsonInteger(offs[0]), let end = jsonInteger(offs[1]) else {
                throw fail("tensor '\(name)' has no valid data_offsets [begin, end]")
            }
            guard begin >= 0, end >= begin else { throw fail("tensor '\(name)' has data_offsets [\(begin), \(end)] out of order") }
            guard end <= Int64(dataLen) else {
                throw fail("tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataLen)-byte data section: truncated?")
            }
            guard end - begin == Int64(elements * 4) else {
                throw fail("tensor '\(name)' shape \(shape) needs \(elements * 4) bytes but data_offsets span \(end - begin)")
            }
            entries.append((name, shape, Int(begin), Int(end)))
        }
        entries.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.end < $1.end) }
        for i in entries.indices.dropFirst() where entries[i].begin < entries[i - 1].end {
            throw fail("tensors '\(entries[i - 1].name)' and '\(entries[i].name)' overlap in the data section")
        }
        bytes.withUnsafeBytes { raw in
            for e in entries {
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

    /// An exact integer from a JSON number (rejects fractions, booleans and huge values).
    private func jsonInteger(_ any: Any) -> Int64? {
        guard let n = any as? NSNumber, !String(describing: type(of: any)).contains("Bool") else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int64(d)
    }

    public subscript(name: String) -> NamedTensor? { tensors[name] }

    /// The tensor called `name`, or an error naming the file and the missing key.
    public func tensor(_ name: String) throws -> NamedTensor {
        guard let t = tensors[name] else { throw SafeTensorsError(path, "has no tensor '\(name)'") }
        return t
    }

    /// Serialises `tensors` (written in sorted-name order, as the reference writer does).
    public static func encode(_ tensors: [String: NamedTensor], metadata: [String: String] = [:]) -> Data {
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
        var out = Data()
        var len = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        for name in names {
            tensors[name]!.data.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes atomically: a temporary file in the same directory, fsync, then rename.
    public static func write(_ tensors: [String: NamedTensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
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

/// Crash-safe file writes: temp file + fsync + rename, so a reader sees the old or the new
/// file, never a torn one.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError(path, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = true
        var err = ""
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { ok = false; err = String(cString: strerror(errno)); return }
                done += n
            }
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
