import Runtime

/// Checks a whole script before any of it runs: every name bound before use, every
/// command's arguments and options, literal words and numbers in range. A typo on the last
/// line is reported at once, not after every fit above it has run; all such errors come
/// together (exit 65), each with its caret. What depends on values (a set's size, a file's
/// contents) is left to the run.
struct Checker {
    let evaluator: Evaluator
    let source: SourceFile
    var scope: Set<String>
    var diagnostics: [Diagnostic] = []

    init(evaluator: Evaluator, source: SourceFile) {
        self.evaluator = evaluator
        self.source = source
        scope = Set(evaluator.session.bindings.keys)
    }

    static func check(_ statements: [Statement], in evaluator: Evaluator, source: SourceFile) -> [Diagnostic] {
        var c = Checker(evaluator: evaluator, source: source)
        for s in statements { c.statement(s) }
        return c.diagnostics
    }

    mutating func statement(_ s: Statement) {
        switch s {
        case .binding(let name, _, let value, _):
            expression(value)
            scope.insert(name)
        case .expression(let e):
            expression(e)
        case .loop(let variable, _, let over, let body, _):
            expression(over)
            let wasBound = scope.contains(variable)
            scope.insert(variable)
            for b in body { statement(b) }
            if !wasBound { scope.remove(variable) }
        }
    }

    mutating func expression(_ e: Expr) {
        do { try check(e) } catch let d as Diagnostic { diagnostics.append(d) } catch {}
    }

    /// Throws the first problem of one expression (its later parts may depend on it).
    mutating func check(_ e: Expr) throws {
        switch e {
        case .integer, .decimal, .string: return
        case .name(let n, let r):
            if scope.contains(n) || evaluator.words.contains(n) { return }
            if let c = evaluator.commands[n] {
                guard c.canStandAlone else { throw Diagnostic(.commandAsValue(n, example: nil), r) }
                return
            }
            let candidates = Array(scope) + evaluator.commands.keys.sorted()
            throw Diagnostic(.unknownName(n, suggestion: suggestion(for: n, among: candidates)), r)
        case .list(let items, _): for i in items { expression(i) }
        case .range(let lo, let hi, let step, _):
            try check(lo)
            try check(hi)
            if let step { try check(step) }
        case .binary(_, let l, let r, _):
            try check(l)
            try check(r)
        case .command(let c):
            guard let spec = evaluator.commands[c.name] else { return }
            try commandsAsArguments(c)
            for (p, arg) in try spec.match(c) { try argument(arg, p, spec) }
        }
    }

    /// `export predict p to "s.json"`: a command written as an argument swallows none of
    /// the words after it; say so, and show the call in parentheses.
    func commandsAsArguments(_ c: CommandCall) throws {
        guard let outer = evaluator.commands[c.name] else { return }
        var index = 0
        for (i, a) in c.arguments.enumerated() {
            guard case .positional(let e) = a else { continue }
            index += 1
            // `help sample`: a command's name is a word that parameter accepts.
            if index <= outer.positional.count, let words = Completion.choices(outer.positional[index - 1]), case .name(let n, _) = e, words.contains(n) { continue }
            guard case .name(let n, let r) = e, !scope.contains(n), let spec = evaluator.commands[n], !spec.canStandAlone else { continue }
            var end = r
            for b in c.arguments[(i + 1)...] {
                guard case .positional(let e) = b else { break }
                end = e.range
            }
            throw Diagnostic(.commandAsValue(n, example: "\(c.name) (\(source.slice(r.to(end))))"), r)
        }
    }

    /// An argument: literal words and numbers are checked against the parameter as the
    /// binder would; anything else is checked as an expression.
    mutating func argument(_ e: Expr, _ p: Param, _ spec: CommandSpec) throws {
        let what = "'\(spec.name)' \(p.name)"
        switch (p.type, e) {
        case (.word, .name(let n, let r)) where !scope.contains(n), (.wordOrPath, .name(let n, let r)) where !scope.contains(n):
            try p.checkWord(n, at: r)
        case (.word, .string(let s, let r)):
            try p.checkWord(s, at: r)
        case (.integer(let m), .integer(let i, let r)):
            guard i >= m else { throw Diagnostic(.outOfRange(what: what, detail: "must be at least \(m), got \(i)"), r) }
        case (.number(let b), .integer(let i, let r)):
            guard b.contains(Double(i)) else { throw Diagnostic(.outOfRange(what: what, detail: "must be \(b.display), got \(i)"), r) }
        case (.number(let b), .decimal(let d, let r)):
            guard b.contains(d) else { throw Diagnostic(.outOfRange(what: what, detail: "must be \(b.display), got \(Format.decimal(d))"), r) }
        default:
            try check(e)
        }
    }
}
