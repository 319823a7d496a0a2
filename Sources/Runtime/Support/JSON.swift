// A small, strict JSON reader over bytes. `JSONScanner` is a pull tokenizer used directly
// by hot loaders (the TFRecord rows) and, through `JSONValue.parse`, by everything else.

/// A JSON syntax problem at a byte offset within the parsed text.
struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at column \(offset + 1): \(message)" }
}

/// A parsed JSON value. Objects keep their key order.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member `key` of an object, if any.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    public var number: Double? { if case .number(let n) = self { return n }; return nil }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }

    /// Parses one complete JSON text.
    /// `allowNonFinite` accepts Python's NaN, Infinity and -Infinity (NAS-Bench-NLP's logs
    /// hold them for diverged epochs).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, allowNonFinite: Bool = false) throws -> JSONValue {
        var s = JSONScanner(bytes)
        s.allowNonFinite = allowNonFinite
        let v = try s.value(depth: 0)
        try s.end()
        return v
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBufferPointer { try parse($0) }
    }
}

/// A pull tokenizer over one JSON text.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var offset = 0
    /// Accept NaN, Infinity and -Infinity as numbers (not JSON; Python writes them).
    var allowNonFinite = false
    var scratch: [UInt8] = []
    static let maxDepth = 64

    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: offset, message: message) }

    mutating func skipSpace() {
        while offset < bytes.count {
            let c = bytes[offset]
            if c == 32 || c == 9 || c == 10 || c == 13 { offset += 1 } else { break }
        }
    }

    /// The next non-space byte, not consumed; nil at the end.
    mutating func peek() -> UInt8? {
        skipSpace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    /// Consumes `byte` (after spaces) or throws.
    public mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard offset < bytes.count else { throw fail("unexpected end, expected '\(Character(Unicode.Scalar(byte)))'") }
        guard bytes[offset] == byte else {
            throw fail("expected '\(Character(Unicode.Scalar(byte)))', found '\(Character(Unicode.Scalar(bytes[offset])))'")
        }
        offset += 1
    }

    /// Consumes `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        if peek() == byte { offset += 1; return true }
        return false
    }

    /// Only white space may follow.
    public mutating func end() throws {
        skipSpace()
        if offset != bytes.count { throw fail("unexpected text after the value") }
    }

    /// Reads a string's decoded bytes into `scratch`; returns them.
    mutating func stringBytes() throws -> ArraySlice<UInt8> {
        try expect(34)
        scratch.removeAll(keepingCapacity: true)
        while true {
            guard offset < bytes.count else { throw fail("unterminated string") }
            let c = bytes[offset]
            offset += 1
            if c == 34 { return scratch[...] }
            if c < 32 { throw fail("control character in string") }
            if c != 92 { scratch.append(c); continue }
            guard offset < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[offset]
            offset += 1
            switch e {
            case 34: scratch.append(34)
            case 92: scratch.append(92)
            case 47: scratch.append(47)
            case 98: scratch.append(8)
            case 102: scratch.append(12)
            case 110: scratch.append(10)
            case 114: scratch.append(13)
            case 116: scratch.append(9)
            case 117:
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00 {
                    guard offset + 1 < bytes.count, bytes[offset] == 92, bytes[offset + 1] == 117 else {
                        throw fail("unpaired surrogate")
                    }
                    offset += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if code >= 0xDC00 && code < 0xE000 {
                    throw fail("unpaired surrogate")
                }
                scratch.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
            default: throw fail("bad escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            offset += 1
            switch c {
            case 48...57: v = v << 4 | UInt32(c - 48)
            case 97...102: v = v << 4 | UInt32(c - 87)
            case 65...70: v = v << 4 | UInt32(c - 55)
            default: throw fail("bad hex digit in \\u escape")
            }
        }
        return v
    }

    public mutating func string() throws -> String {
        String(decoding: try stringBytes(), as: UTF8.self)
    }

    /// Reads a JSON number.
    public mutating func number() throws -> Double {
        skipSpace()
        let start = offset
        if offset < bytes.count && bytes[offset] == 45 { offset += 1 }
        var intValue: UInt64 = 0
        var digits = 0
        var simple = true
        while offset < bytes.count, bytes[offset] >= 48, bytes[offset] <= 57 {
            if digits < 18 { intValue = intValue * 10 + UInt64(bytes[offset] - 48) } else { simple = false }
            digits += 1
            offset += 1
        }
        guard digits > 0 else {
            offset = start
            throw fail(start < bytes.count ? "expected a value" : "unexpected end, expected a value")
        }
        if digits > 1 && bytes[start + (bytes[start] == 45 ? 1 : 0)] == 48 { throw fail("leading zero in number") }
        if offset < bytes.count, bytes[offset] == 46 || bytes[offset] == 101 || bytes[offset] == 69 {
            simple = false
            if bytes[offset] == 46 {
                offset += 1
                let fs = offset
                while offset < bytes.count, bytes[offset] >= 48, bytes[offset] <= 57 { offset += 1 }
                if offset == fs { throw fail("digits expected after '.'") }
            }
            if offset < bytes.count, bytes[offset] == 101 || bytes[offset] == 69 {
                offset += 1
                if offset < bytes.count, bytes[offset] == 43 || bytes[offset] == 45 { offset += 1 }
                let es = offset
                while offset < bytes.count, bytes[offset] >= 48, bytes[offset] <= 57 { offset += 1 }
                if offset == es { throw fail("digits expected in exponent") }
            }
        }
        if simple {
            let v = Double(intValue)
            return bytes[start] == 45 ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard let v = Double(text) else { throw fail("bad number '\(text)'") }
        return v
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws -> JSONValue {
        for c in word.utf8 {
            guard offset < bytes.count, bytes[offset] == c else { throw fail("expected a value") }
            offset += 1
        }
        return value
    }

    /// Reads any value.
    public mutating func value(depth: Int = 0) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        guard let c = peek() else { throw fail("unexpected end, expected a value") }
        switch c {
        case 34: return .string(try string())
        case 123:
            offset += 1
            var members: [(String, JSONValue)] = []
            if consume(125) { return .object(members) }
            repeat {
                let key = try string()
                try expect(58)
                members.append((key, try value(depth: depth + 1)))
            } while consume(44)
            try expect(125)
            return .object(members)
        case 91:
            offset += 1
            var items: [JSONValue] = []
            if consume(93) { return .array(items) }
            repeat { items.append(try value(depth: depth + 1)) } while consume(44)
            try expect(93)
            return .array(items)
        case 116: return try literal("true", .bool(true))
        case 102: return try literal("false", .bool(false))
        case 110: return try literal("null", .null)
        case 78 where allowNonFinite: return try literal("NaN", .number(.nan))
        case 73 where allowNonFinite: return try literal("Infinity", .number(.infinity))
        case 45 where allowNonFinite && offset + 1 < bytes.count && bytes[offset + 1] == 73:
            offset += 1
            return try literal("Infinity", .number(-.infinity))
        default: return .number(try number())
        }
    }
}

/// Writes JSON text with stable formatting.
public enum JSONWriter {
    /// A JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// A number: integers without a fraction, others with up to `digits` significant digits;
    /// non-finite numbers become null.
    public static func number(_ v: Double, digits: Int = 10) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return formatSignificant(v, digits: digits)
    }

    /// Serialises a value compactly.
    public static func write(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return number(n)
        case .string(let s): return quote(s)
        case .array(let a): return "[" + a.map(write).joined(separator: ",") + "]"
        case .object(let m): return "{" + m.map { quote($0.0) + ":" + write($0.1) }.joined(separator: ",") + "}"
        }
    }
}

/// `v` with at most `digits` significant digits, shortest form, no exponent for
/// ordinary magnitudes; identical on every platform.
public func formatSignificant(_ v: Double, digits: Int) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v == 0 { return "0" }
    // Swift's description is the shortest round-trip representation; round first.
    let magnitude = Int((abs(v)).log10Floor)
    let scale = digits - 1 - magnitude
    var rounded = v
    if scale >= 0 && scale < 300 {
        let p = pow10(scale)
        rounded = (v * p).rounded() / p
    } else if scale < 0 {
        let p = pow10(-scale)
        rounded = (v / p).rounded() * p
    }
    var s = "\(rounded)"
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
}

private func pow10(_ n: Int) -> Double {
    var r = 1.0
    for _ in 0..<n { r *= 10 }
    return r
}

extension Double {
    var log10Floor: Double {
        var e = 0.0
        var x = self
        while x >= 10 { x /= 10; e += 1 }
        while x < 1 { x *= 10; e -= 1 }
        return e
    }
}

/// Comma-separated values as RFC 4180 writes them: a header row, fields quoted when they
/// hold a comma, a quote or a line break, unknown numbers empty.
public enum CSV {
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    public static func number(_ v: Double) -> String { v.isFinite ? JSONWriter.number(v) : "" }

    public static func write(_ rows: [[String]]) -> String {
        rows.map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
