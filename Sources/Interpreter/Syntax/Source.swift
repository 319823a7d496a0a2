/// A script's text with its name, for locating diagnostics.
public struct SourceFile: Sendable {
    public let name: String
    public let text: [UInt8]
    /// Byte offset at which each line starts.
    let lineStarts: [Int]

    public init(name: String, text: String) {
        self.name = name
        self.text = Array(text.utf8)
        var starts = [0]
        for (i, c) in self.text.enumerated() where c == 10 { starts.append(i + 1) }
        lineStarts = starts
    }

    /// 1-based line and column (in characters) of a byte offset.
    public func location(_ offset: Int) -> (line: Int, column: Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        let start = lineStarts[lo]
        let column = String(decoding: text[start..<min(offset, text.count)], as: UTF8.self).count + 1
        return (lo + 1, column)
    }

    /// The text of a 1-based line, without its newline.
    public func line(_ n: Int) -> String {
        guard n >= 1 && n <= lineStarts.count else { return "" }
        let start = lineStarts[n - 1]
        var end = n < lineStarts.count ? lineStarts[n] - 1 : text.count
        if end > start && text[end - 1] == 13 { end -= 1 }
        return String(decoding: text[start..<max(start, end)], as: UTF8.self)
    }

    public var lineCount: Int { lineStarts.count }

    /// The text of a range.
    public func slice(_ r: SourceRange) -> String {
        String(decoding: text[max(0, r.start)..<min(text.count, r.end)], as: UTF8.self)
    }
}

/// A half-open byte range in a source file.
public struct SourceRange: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = max(start, end) }
    public func to(_ other: SourceRange) -> SourceRange { SourceRange(start, other.end) }
}

/// The check every script passes before it is lexed: a script is UTF-8 text without NUL
/// bytes. Anything else (a binary, an image, a file in another encoding) is refused with one
/// error instead of one per byte.
public enum ScriptText {
    /// Why `bytes` are not script text ("a NUL byte at line 3, byte 17"), or nil.
    public static func problem(_ bytes: UnsafeRawBufferPointer) -> String? {
        var i = 0, line = 1
        let n = bytes.count
        func at() -> String { "line \(line), byte \(i + 1)" }
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0 { return "a NUL byte at \(at()): this is not a text file" }
                if b == 10 { line += 1 }
                i += 1
                continue
            }
            // Lead byte: the length of the sequence and the smallest allowed second byte.
            let length: Int, lo: UInt8, hi: UInt8
            switch b {
            case 0xC2...0xDF: length = 2; lo = 0x80; hi = 0xBF
            case 0xE0: length = 3; lo = 0xA0; hi = 0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3; lo = 0x80; hi = 0xBF
            case 0xED: length = 3; lo = 0x80; hi = 0x9F
            case 0xF0: length = 4; lo = 0x90; hi = 0xBF
            case 0xF1...0xF3: length = 4; lo = 0x80; hi = 0xBF
            case 0xF4: length = 4; lo = 0x80; hi = 0x8F
            default: return "invalid UTF-8 at \(at()): scripts are UTF-8 text"
            }
            guard i + length <= n, bytes[i + 1] >= lo, bytes[i + 1] <= hi,
                  (2..<length).allSatisfy({ bytes[i + $0] & 0xC0 == 0x80 }) else {
                return "invalid UTF-8 at \(at()): scripts are UTF-8 text"
            }
            i += length
        }
        return nil
    }

    public static func problem(_ bytes: [UInt8]) -> String? { bytes.withUnsafeBytes { problem($0) } }
}
