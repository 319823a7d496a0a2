/// Turns source text into tokens. Lexical problems become diagnostics and the lexer
/// carries on, so one run reports every error.
public struct Lexer {
    let source: SourceFile
    var pos = 0
    public private(set) var diagnostics: [Diagnostic] = []
    /// Past this many problems the lexer stops: the rest of a binary or garbled file would
    /// only repeat them (the parser reports "too many errors").
    static let maxDiagnostics = 50

    public init(_ source: SourceFile) { self.source = source }

    var text: [UInt8] { source.text }

    public mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let t = next()
            tokens.append(t)
            if t.kind == .end { return tokens }
        }
    }

    mutating func next() -> Token {
        if diagnostics.count >= Self.maxDiagnostics { return Token(kind: .end, range: SourceRange(text.count, text.count)) }
        // Spaces, comments.
        while pos < text.count {
            let c = text[pos]
            if c == 32 || c == 9 || c == 13 { pos += 1; continue }
            if c == UInt8(ascii: "#") {
                while pos < text.count && text[pos] != 10 { pos += 1 }
                continue
            }
            break
        }
        let start = pos
        guard pos < text.count else { return Token(kind: .end, range: SourceRange(pos, pos)) }
        let c = text[pos]
        pos += 1
        func tok(_ k: Token.Kind) -> Token { Token(kind: k, range: SourceRange(start, pos)) }
        switch c {
        case 10: return tok(.newline)
        case UInt8(ascii: "="): return tok(.equals)
        case UInt8(ascii: ","): return tok(.comma)
        case UInt8(ascii: "["): return tok(.lbracket)
        case UInt8(ascii: "]"): return tok(.rbracket)
        case UInt8(ascii: "{"): return tok(.lbrace)
        case UInt8(ascii: "}"): return tok(.rbrace)
        case UInt8(ascii: "("): return tok(.lparen)
        case UInt8(ascii: ")"): return tok(.rparen)
        case UInt8(ascii: "+"): return tok(.plus)
        case UInt8(ascii: "-"): return tok(.minus)
        case UInt8(ascii: "."):
            if pos < text.count && text[pos] == UInt8(ascii: ".") { pos += 1; return tok(.dotdot) }
            if pos < text.count && isDigit(text[pos]) { pos = start; return number() }
            diagnostics.append(Diagnostic(.unexpectedCharacter("."), SourceRange(start, pos)))
            return next()
        case UInt8(ascii: "\""): return string(start)
        default:
            if isDigit(c) { pos = start; return number() }
            if isIdentStart(c) {
                while pos < text.count && isIdentPart(text[pos]) { pos += 1 }
                return tok(.identifier(String(decoding: text[start..<pos], as: UTF8.self)))
            }
            pos = start
            if let close = smartQuote(at: pos), close == false { return smartString(start) }
            // A run of stray characters is one error, not one per character.
            var count = 0, shown = ""
            while pos < text.count && !isTokenStart(text[pos]) && smartQuote(at: pos) == nil {
                let s = pos
                pos += 1
                while pos < text.count && text[pos] & 0xC0 == 0x80 { pos += 1 }
                if count < 3 { shown += String(decoding: text[s..<pos], as: UTF8.self) }
                count += 1
            }
            if pos == start { pos += 3 } // a lone closing smart quote
            if count > 3 { shown += "…" }
            diagnostics.append(Diagnostic(count <= 1 ? .unexpectedCharacter(count == 0 ? String(decoding: text[start..<pos], as: UTF8.self) : shown)
                                                     : .unexpectedCharacters(shown, count: count), SourceRange(start, pos)))
            return next()
        }
    }

    /// Whether a byte begins something the lexer knows (so a run of stray characters ends).
    func isTokenStart(_ c: UInt8) -> Bool {
        isIdentPart(c) || c == 32 || c == 9 || c == 10 || c == 13 || "#=,[]{}()+-.\"".utf8.contains(c)
    }

    /// At a typographic double quote: false for an opening one (“ „), true for a closing
    /// one (”), nil otherwise.
    func smartQuote(at p: Int) -> Bool? {
        guard p + 2 < text.count, text[p] == 0xE2, text[p + 1] == 0x80 else { return nil }
        switch text[p + 2] {
        case 0x9C, 0x9E: return false
        case 0x9D: return true
        default: return nil
        }
    }

    /// A string in typographic quotes (“…”, as word processors write them): one error, and
    /// the string is read as if straight quotes had been typed.
    mutating func smartString(_ start: Int) -> Token {
        pos += 3
        var end = pos
        while end < text.count && text[end] != 10 && smartQuote(at: end) == nil && text[end] != UInt8(ascii: "\"") { end += 1 }
        let body = String(decoding: text[pos..<end], as: UTF8.self)
        pos = end < text.count && text[end] != 10 ? end + (text[end] == UInt8(ascii: "\"") ? 1 : 3) : end
        diagnostics.append(Diagnostic(.smartQuotes, SourceRange(start, pos)))
        return Token(kind: .string(body), range: SourceRange(start, pos))
    }

    mutating func number() -> Token {
        let start = pos
        while pos < text.count && (isDigit(text[pos]) || text[pos] == UInt8(ascii: "_")) { pos += 1 }
        var isDecimal = false
        // A '.' followed by a digit is a fraction; '..' is a range.
        if pos + 1 < text.count && text[pos] == UInt8(ascii: ".") && isDigit(text[pos + 1]) {
            isDecimal = true
            pos += 1
            while pos < text.count && isDigit(text[pos]) { pos += 1 }
        } else if pos < text.count && text[pos] == UInt8(ascii: ".") && (pos + 1 >= text.count || text[pos + 1] != UInt8(ascii: ".")) {
            isDecimal = true
            pos += 1
        }
        if pos < text.count && (text[pos] == UInt8(ascii: "e") || text[pos] == UInt8(ascii: "E")) {
            var p = pos + 1
            if p < text.count && (text[p] == UInt8(ascii: "+") || text[p] == UInt8(ascii: "-")) { p += 1 }
            if p < text.count && isDigit(text[p]) {
                isDecimal = true
                pos = p
                while pos < text.count && isDigit(text[pos]) { pos += 1 }
            }
        }
        let range = SourceRange(start, pos)
        if pos < text.count && isIdentStart(text[pos]) {
            while pos < text.count && isIdentPart(text[pos]) { pos += 1 }
            diagnostics.append(Diagnostic(.badNumber(String(decoding: text[start..<pos], as: UTF8.self)), SourceRange(start, pos)))
            return Token(kind: .integer(0), range: SourceRange(start, pos))
        }
        let literal = String(decoding: text[start..<pos], as: UTF8.self).replacingUnderscores()
        if isDecimal {
            guard let d = Double(literal), d.isFinite else {
                diagnostics.append(Diagnostic(.badNumber(literal), range))
                return Token(kind: .decimal(0), range: range)
            }
            return Token(kind: .decimal(d), range: range)
        }
        guard let i = Int(literal) else {
            diagnostics.append(Diagnostic(.badNumber(literal), range))
            return Token(kind: .integer(0), range: range)
        }
        return Token(kind: .integer(i), range: range)
    }

    mutating func string(_ start: Int) -> Token {
        var bytes: [UInt8] = []
        while pos < text.count {
            let c = text[pos]
            if c == 10 { break }
            pos += 1
            if c == UInt8(ascii: "\"") {
                return Token(kind: .string(String(decoding: bytes, as: UTF8.self)), range: SourceRange(start, pos))
            }
            if c == UInt8(ascii: "\\") && pos < text.count {
                let e = text[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "\""): bytes.append(34)
                case UInt8(ascii: "\\"): bytes.append(92)
                default:
                    diagnostics.append(Diagnostic(.badEscape(String(decoding: [e], as: UTF8.self)), SourceRange(pos - 2, pos)))
                }
                continue
            }
            bytes.append(c)
        }
        diagnostics.append(Diagnostic(.unterminatedString, SourceRange(start, pos)))
        return Token(kind: .string(String(decoding: bytes, as: UTF8.self)), range: SourceRange(start, pos))
    }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
@inline(__always) func isIdentStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
@inline(__always) func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }

extension String {
    func replacingUnderscores() -> String { String(self.filter { $0 != "_" }) }
}
