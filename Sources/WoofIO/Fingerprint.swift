import Foundation

/// Short, stable fingerprints of what a run trains from (64-bit FNV-1a in hex), so a resume
/// on other weights or other data is noticed.
public enum Fingerprint {
    static func fnv1a(_ bytes: UnsafeRawBufferPointer, into h: inout UInt64) {
        for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
    }

    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The 64-bit FNV-1a hash of a string's UTF-8 bytes.
    public static func hash(_ s: String) -> UInt64 {
        var h = offsetBasis
        Data(s.utf8).withUnsafeBytes { fnv1a($0, into: &h) }
        return h
    }

    /// A file: its size and a hash of its first MiB (a safetensors file's header and first
    /// tensors) and last 64 KiB. Cheap for a large file; another model of the same
    /// architecture differs in its data, not only in the header.
    public static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw FileFormatError("\(path): cannot read to fingerprint it") }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        var h = offsetBasis
        withUnsafeBytes(of: size.littleEndian) { fnv1a($0, into: &h) }
        try handle.seek(toOffset: 0)
        let head = try handle.read(upToCount: 1 << 20) ?? Data()
        head.withUnsafeBytes { fnv1a($0, into: &h) }
        if size > 1 << 20 {
            try handle.seek(toOffset: size - min(size - (1 << 20), 1 << 16))
            (try handle.readToEnd() ?? Data()).withUnsafeBytes { fnv1a($0, into: &h) }
        }
        return String(format: "%016llx", h)
    }

    /// A file's whole content (its size and a hash of every byte): for telling apart models
    /// that differ anywhere, where `file` samples only the ends.
    public static func content(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileFormatError("\(path): cannot read to fingerprint it") }
        var h = offsetBasis
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { fnv1a($0, into: &h) }
        data.withUnsafeBytes { fnv1a($0, into: &h) }
        return String(format: "%016llx", h)
    }

    /// A list of strings (a dataset's relative paths), order included.
    public static func list(_ items: [String]) -> String {
        var h = offsetBasis
        for s in items { Data((s + "\n").utf8).withUnsafeBytes { fnv1a($0, into: &h) } }
        return String(format: "%016llx", h)
    }
}
