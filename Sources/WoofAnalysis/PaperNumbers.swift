import Foundation
import WoofCore

/// One value of the paper's `summary.json`: a number, an integer, text, or a flag.
public enum PaperValue: Codable, Equatable, Sendable {
    case integer(Int)
    case number(Double)
    case text(String)
    case flag(Bool)

    /// The value as a number (an integer is one too); `nil` for text and flags.
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        case .text, .flag: return nil
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Flags first: a JSON number never decodes as a Bool, nor true as a number.
        if let b = try? c.decode(Bool.self) { self = .flag(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a number, text, true or false")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .text(let s): try c.encode(s)
        case .flag(let b): try c.encode(b)
        }
    }
}

/// A Swift value that is a `PaperValue`: Int, Double, String, Bool.
public protocol PaperValueConvertible {
    /// The value as the paper stores it.
    var paperValue: PaperValue { get }
    /// The stored value as this type; `nil` when it is of another kind.
    init?(paperValue: PaperValue)
}

extension Int: PaperValueConvertible {
    public var paperValue: PaperValue { .integer(self) }
    public init?(paperValue v: PaperValue) { guard case .integer(let i) = v else { return nil }; self = i }
}

extension Double: PaperValueConvertible {
    public var paperValue: PaperValue { .number(self) }
    public init?(paperValue v: PaperValue) { guard let d = v.double else { return nil }; self = d }
}

extension String: PaperValueConvertible {
    public var paperValue: PaperValue { .text(self) }
    public init?(paperValue v: PaperValue) { guard case .text(let s) = v else { return nil }; self = s }
}

extension Bool: PaperValueConvertible {
    public var paperValue: PaperValue { .flag(self) }
    public init?(paperValue v: PaperValue) { guard case .flag(let b) = v else { return nil }; self = b }
}

/// The paper's `report/results/summary.json`: every headline number by key, one LaTeX macro
/// each (`ReportTeX`). The keys are open-ended by nature (one per class, group, node count…),
/// so this is a map, typed by value; it has no `version`, since every key becomes a macro and
/// the paper's inputs are regenerated, not migrated.
public struct PaperNumbers: Codable, Equatable, Sendable {
    public var values: [String: PaperValue]

    /// The numbers `values` (none by default).
    public init(_ values: [String: PaperValue] = [:]) { self.values = values }

    /// The value of `key` as a `V` (`nil` when absent or of another kind); setting `nil`
    /// removes the key.
    public subscript<V: PaperValueConvertible>(key: String) -> V? {
        get { values[key].flatMap(V.init(paperValue:)) }
        set { values[key] = newValue?.paperValue }
    }

    /// Every key (in no order).
    public var keys: Dictionary<String, PaperValue>.Keys { values.keys }

    /// Whether there is a value for `key`, of any kind.
    public func has(_ key: String) -> Bool { values[key] != nil }

    /// Whether `key` is a flag that is set (absent or false: not).
    public func flag(_ key: String) -> Bool { values[key] == .flag(true) }

    public init(from decoder: Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: PaperValue].self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }
}
