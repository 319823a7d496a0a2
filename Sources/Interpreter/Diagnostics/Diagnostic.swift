import Runtime

/// What went wrong. Every message is worded in `text`, and only there.
public enum DiagnosticMessage: Sendable, Equatable {
    // Lexical
    case unexpectedCharacter(String)
    case unexpectedCharacters(String, count: Int)
    case smartQuotes
    case tooManyErrors(shown: Int)
    case badNumber(String)
    case badEscape(String)
    case unterminatedString
    // Syntax
    case expected(String, found: String)
    case unclosedBlock
    case unexpectedClosingBrace
    case bindingCommandName(String)
    case emptyBlock
    // Names and arguments
    case unknownCommand(String, suggestion: String?)
    case unknownName(String, suggestion: String?)
    case commandAsValue(String, example: String?)
    case unknownOption(command: String, option: String, suggestion: String?)
    case unknownWord(what: String, word: String, choices: [String], suggestion: String?)
    case missingArgument(command: String, parameter: String)
    case tooManyArguments(command: String, expected: Int)
    case duplicateOption(String)
    case wrongType(what: String, expected: String, got: String)
    case outOfRange(what: String, detail: String)
    case notIterable(String)
    case notPrintable(String)
    // Runtime
    case runtime(String)
    case command(CommandProblem)
    case interrupted

    public var text: String {
        switch self {
        case .unexpectedCharacter(let c): return "unexpected character '\(visible(c))'"
        case .unexpectedCharacters(let c, let n): return "\(n) unexpected characters '\(visible(c))'"
        case .smartQuotes: return "typographic quotes (“ ”); strings use straight double quotes (\")"
        case .tooManyErrors(let n): return "too many errors, stopping (the first \(n) are shown)"
        case .badNumber(let s): return "'\(s)' is not a valid number"
        case .badEscape(let e): return "unknown escape '\\\(e)' in string (use \\n, \\t, \\\" or \\\\)"
        case .unterminatedString: return "unterminated string (missing closing '\"')"
        case .expected(let what, let found): return "expected \(what), found \(found)"
        case .unclosedBlock: return "this '{' is never closed"
        case .unexpectedClosingBrace: return "'}' without a matching '{'"
        case .bindingCommandName(let n): return "'\(n)' is a command and cannot be rebound; choose another name"
        case .emptyBlock: return "empty loop body"
        case .unknownCommand(let n, let s): return "unknown command '\(n)'" + hint(s) + "; type 'help' for the list"
        case .unknownName(let n, let s): return "unknown name '\(n)'" + hint(s)
        case .commandAsValue(let n, let example):
            return "'\(n)' is a command; where a value is expected, put the call in parentheses: \(example ?? "(\(n) …)")"
        case .unknownOption(let c, let o, let s): return "unknown option '\(o)' for '\(c)'" + hint(s) + "; see 'help \(c)'"
        case .unknownWord(let what, let w, let choices, let s):
            return "unknown \(what) '\(w)'" + hint(s) + " (choose from \(choices.joined(separator: ", ")))"
        case .missingArgument(let c, let p): return "'\(c)' needs \(p); see 'help \(c)'"
        case .tooManyArguments(let c, let n): return "too many arguments for '\(c)' (it takes \(n) positional); see 'help \(c)'"
        case .duplicateOption(let o): return "option '\(o)' is given twice"
        case .wrongType(let what, let expected, let got): return "\(what) must be \(expected), got \(got)"
        case .outOfRange(let what, let detail): return "\(what) \(detail)"
        case .notIterable(let t): return "cannot loop over \(t); give a list or a range"
        case .notPrintable(let t): return "cannot show \(t)"
        case .runtime(let m): return m
        case .command(let p): return p.description
        case .interrupted: return "interrupted"
        }
    }

    private func hint(_ s: String?) -> String { s.map { " (did you mean '\($0)'?)" } ?? "" }
}

/// Control characters as their Unicode control pictures (␀ ␁ … ␡), so a message or a
/// quoted source line never writes raw control bytes to a terminal. Tabs stay.
func visible(_ s: String) -> String {
    String(String.UnicodeScalarView(s.unicodeScalars.map { u -> Unicode.Scalar in
        switch u.value {
        case 9: return u
        case 0..<32: return Unicode.Scalar(0x2400 + u.value)!
        case 127: return "\u{2421}"
        case 0x80..<0xA0: return "\u{FFFD}"
        default: return u
        }
    }))
}

/// A diagnostic: a message and where it points.
public struct Diagnostic: Error, Sendable, Equatable {
    public enum Severity: String, Sendable { case error, note }
    public var severity: Severity
    public var message: DiagnosticMessage
    public var range: SourceRange

    public init(_ message: DiagnosticMessage, _ range: SourceRange, severity: Severity = .error) {
        self.message = message
        self.range = range
        self.severity = severity
    }
}

/// Renders diagnostics as `file:line:col: error: message`, the source line and a caret
/// under the place; ANSI colour only when asked (on a terminal).
public struct DiagnosticRenderer: Sendable {
    public var colour: Bool
    public init(colour: Bool = false) { self.colour = colour }

    /// Longest message and source excerpt shown, in characters: a 40 KB line or name is
    /// shown as a window around the caret, never whole.
    static let maxMessage = 300
    static let window = 100

    public func render(_ d: Diagnostic, in source: SourceFile) -> String {
        let (line, column) = source.location(d.range.start)
        let full = Array(visible(source.line(line)))
        let head = "\(source.name):\(line):\(column): "
        let label = d.severity.rawValue + ":"
        var message = visible(d.message.text)
        if message.count > Self.maxMessage { message = String(message.prefix(Self.maxMessage)) + "…" }
        var out = colour ? "\u{1B}[1m\(head)\u{1B}[31m\(label)\u{1B}[0m\u{1B}[1m \(message)\u{1B}[0m\n"
                         : "\(head)\(label) \(message)\n"
        guard !full.isEmpty || line <= source.lineCount else { return out }
        let endLoc = source.location(max(d.range.start, d.range.end - 1))
        var width = endLoc.line == line ? max(1, endLoc.column - column + 1) : max(1, full.count - column + 1)
        // The excerpt: the whole line, or a window around the caret with "…" at cut ends.
        var from = 0, to = full.count
        if full.count > Self.window {
            from = max(0, min(column - 1 - Self.window / 3, full.count - Self.window))
            to = min(full.count, from + Self.window)
            width = min(width, to - (column - 1))
        }
        let excerpt = (from > 0 ? "…" : "") + String(full[from..<to]) + (to < full.count ? "…" : "")
        out += "  \(excerpt)\n"
        let before = full[from..<min(to, max(from, column - 1))]
        let pad = (from > 0 ? " " : "") + String(before.map { $0 == "\t" ? "\t" : " " })
        let marks = "^" + String(repeating: "~", count: max(0, width - 1))
        out += "  " + pad + (colour ? "\u{1B}[32m\(marks)\u{1B}[0m" : marks) + "\n"
        return out
    }
}
