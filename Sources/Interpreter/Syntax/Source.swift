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
