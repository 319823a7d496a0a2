import Runtime

/// Parses tokens into statements. On a syntax error it records a diagnostic, skips to
/// the end of the line and carries on, so one run reports every syntax error.
public struct Parser {
    var tokens: [Token]
    var index = 0
    let commands: Set<String>
    public private(set) var diagnostics: [Diagnostic] = []

    struct Failure: Error {}

    /// Errors reported for one script before stopping with "too many errors".
    public static let maxErrors = 20

    public init(tokens: [Token], commands: Set<String>) {
        self.tokens = tokens
        self.commands = commands
    }

    /// Lexes and parses a source file; diagnostics come back sorted by position.
    public static func parse(_ source: SourceFile, commands: Set<String>) -> ([Statement], [Diagnostic]) {
        var lexer = Lexer(source)
        let tokens = lexer.tokenize()
        var parser = Parser(tokens: tokens, commands: commands)
        let statements = parser.program()
        var all = (lexer.diagnostics + parser.diagnostics).sorted { $0.range.start < $1.range.start }
        if all.count > maxErrors {
            let cut = all[maxErrors].range
            all = Array(all.prefix(maxErrors)) + [Diagnostic(.tooManyErrors(shown: maxErrors), cut)]
        }
        return (statements, all)
    }

    var current: Token { tokens[index] }

    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func peekKind(_ offset: Int = 0) -> Token.Kind { tokens[min(index + offset, tokens.count - 1)].kind }

    mutating func skipNewlines() { while current.kind == .newline { _ = advance() } }

    func error(_ m: DiagnosticMessage, _ r: SourceRange) -> Diagnostic { Diagnostic(m, r) }

    mutating func fail(_ what: String) -> Failure {
        diagnostics.append(error(.expected(what, found: current.display), current.range))
        return Failure()
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws -> Token {
        if current.kind == kind { return advance() }
        throw fail(what)
    }

    mutating func identifier(_ what: String) throws -> (String, SourceRange) {
        if case .identifier(let s) = current.kind { let t = advance(); return (s, t.range) }
        throw fail(what)
    }

    /// Skips to the end of the current line, leaving a closing '}' for the block parser.
    mutating func recover() {
        var depth = 0
        while true {
            switch current.kind {
            case .end: return
            case .newline where depth == 0: _ = advance(); return
            case .rbrace where depth == 0: return
            case .lbracket, .lparen: depth += 1
            case .rbracket, .rparen: depth = max(0, depth - 1)
            default: break
            }
            _ = advance()
        }
    }

    mutating func program() -> [Statement] {
        var out: [Statement] = []
        while true {
            skipNewlines()
            if current.kind == .end { return out }
            if current.kind == .rbrace {
                diagnostics.append(error(.unexpectedClosingBrace, current.range))
                _ = advance()
                continue
            }
            if let s = statementLine() { out.append(s) }
        }
    }

    /// One statement and its line end; nil after a reported error.
    mutating func statementLine() -> Statement? {
        do {
            let s = try statement()
            switch current.kind {
            case .newline: _ = advance()
            case .end, .rbrace: break
            default: throw fail("end of line")
            }
            return s
        } catch {
            recover()
            return nil
        }
    }

    mutating func statement() throws -> Statement {
        if case .identifier(let word) = current.kind {
            if word == "let" {
                let start = advance().range
                let (name, nameRange) = try identifier("a name after 'let'")
                if commands.contains(name) || name == "let" || name == "for" {
                    diagnostics.append(error(.bindingCommandName(name), nameRange))
                    throw Failure()
                }
                _ = try expect(.equals, "'=' after the name")
                let value = try rhs()
                return .binding(name: name, nameRange: nameRange, value: value, range: start.to(value.range))
            }
            if word == "for" { return try loop() }
        }
        return .expression(try rhs())
    }

    mutating func loop() throws -> Statement {
        let start = advance().range
        let (variable, vr) = try identifier("a loop variable after 'for'")
        guard case .identifier("in") = current.kind else { throw fail("'in' after the loop variable") }
        _ = advance()
        let over = try expression()
        let open = try expect(.lbrace, "'{' to start the loop body")
        var body: [Statement] = []
        while true {
            skipNewlines()
            if current.kind == .rbrace { break }
            if current.kind == .end {
                diagnostics.append(error(.unclosedBlock, open.range))
                throw Failure()
            }
            if let s = statementLine() { body.append(s) }
        }
        let close = advance()
        return .loop(variable: variable, variableRange: vr, over: over, body: body, range: start.to(close.range))
    }

    /// A command call (when the line starts with a command name) or an expression.
    mutating func rhs() throws -> Expr {
        if case .identifier(let name) = current.kind {
            // A command is the left operand when '+' or '-' follows its arguments: `all - s`.
            if commands.contains(name) { return try binaryTail(.command(try commandCall())) }
            // A word followed by an argument is a command call to a command that does not exist.
            if startsArgument(peekKind(1)), !argumentKeywords.contains(name) {
                diagnostics.append(error(.unknownCommand(name, suggestion: suggestion(for: name, among: commands.sorted())), current.range))
                throw Failure()
            }
        }
        return try expression()
    }

    func startsArgument(_ k: Token.Kind) -> Bool {
        switch k {
        case .identifier, .integer, .decimal, .string, .lbracket, .lparen: return true
        default: return false
        }
    }

    mutating func commandCall() throws -> CommandCall {
        let (name, nameRange) = try identifier("a command")
        var args: [Argument] = []
        var end = nameRange
        loop: while true {
            switch current.kind {
            case .minus where negativeLiteralAhead(after: end):
                let value = try expression()
                args.append(.positional(value))
                end = value.range
            case .newline, .end, .rbrace, .rparen, .plus, .minus: break loop
            case .identifier(let word):
                if peekKind(1) == .equals {
                    let key = advance().range
                    _ = advance()
                    let value = try expression()
                    args.append(.option(word, keyRange: key, value))
                    end = value.range
                } else if argumentKeywords.contains(word) {
                    let key = advance().range
                    let value = try expression()
                    args.append(.keyword(word, keyRange: key, value))
                    end = value.range
                } else {
                    let value = try expression()
                    args.append(.positional(value))
                    end = value.range
                }
            default:
                let value = try expression()
                args.append(.positional(value))
                end = value.range
            }
        }
        return CommandCall(name: name, nameRange: nameRange, arguments: args, range: nameRange.to(end))
    }

    /// `seed -1`: a '-' written against a number and apart from what precedes it is a
    /// negative argument, not a subtraction (`all - s` stays one).
    func negativeLiteralAhead(after previous: SourceRange) -> Bool {
        let minus = current.range
        let next = tokens[min(index + 1, tokens.count - 1)]
        switch next.kind {
        case .integer, .decimal: return next.range.start == minus.end && minus.start > previous.end
        default: return false
        }
    }

    mutating func expression() throws -> Expr {
        try binaryTail(try term())
    }

    /// Continues `left (+|-) term …`, left-associative.
    mutating func binaryTail(_ first: Expr) throws -> Expr {
        var left = first
        while true {
            let op: BinaryOp
            switch current.kind {
            case .plus: op = .plus
            case .minus: op = .minus
            default: return left
            }
            _ = advance()
            let right = try term()
            left = .binary(op, left, right, left.range.to(right.range))
        }
    }

    mutating func term() throws -> Expr {
        let lo = try primary()
        guard current.kind == .dotdot else { return lo }
        _ = advance()
        let hi = try primary()
        var step: Expr?
        if case .identifier("step") = current.kind {
            _ = advance()
            step = try primary()
        }
        return .range(lo, hi, step: step, lo.range.to((step ?? hi).range))
    }

    mutating func primary() throws -> Expr {
        let t = current
        switch t.kind {
        case .integer(let i): _ = advance(); return .integer(i, t.range)
        case .decimal(let d): _ = advance(); return .decimal(d, t.range)
        case .string(let s): _ = advance(); return .string(s, t.range)
        case .identifier(let s):
            if s == "let" || s == "for" { throw fail("a value") }
            _ = advance()
            return .name(s, t.range)
        case .minus:
            _ = advance()
            switch current.kind {
            case .integer(let i): let r = advance().range; return .integer(-i, t.range.to(r))
            case .decimal(let d): let r = advance().range; return .decimal(-d, t.range.to(r))
            default: throw fail("a number after '-'")
            }
        case .lbracket:
            _ = advance()
            var items: [Expr] = []
            skipNewlines()
            if current.kind != .rbracket {
                while true {
                    skipNewlines()
                    items.append(try expression())
                    skipNewlines()
                    if current.kind == .comma { _ = advance(); continue }
                    break
                }
            }
            let close = try expect(.rbracket, "',' or ']' in the list")
            return .list(items, t.range.to(close.range))
        case .lparen:
            _ = advance()
            skipNewlines()
            let inner = try rhs()
            skipNewlines()
            _ = try expect(.rparen, "')'")
            return inner
        default:
            throw fail("a value")
        }
    }
}
