import Runtime

/// Evaluates statements against a session. Errors are `Diagnostic`s pointing at the place.
public final class Evaluator {
    public let session: Session
    public let commands: [String: CommandSpec]

    public init(session: Session) {
        self.session = session
        var table: [String: CommandSpec] = [:]
        for c in Builtins.all { table[c.name] = c }
        commands = table
    }

    public var commandNames: Set<String> { Set(commands.keys) }

    /// Runs one statement; a bare value is printed (notebook style).
    public func execute(_ statement: Statement) throws {
        if session.interruptRequested() { throw Diagnostic(.interrupted, statement.range) }
        switch statement {
        case .binding(let name, _, let expr, _):
            session.bindings[name] = try evaluate(expr)
        case .expression(let expr):
            let value = try evaluate(expr)
            let text = Printer.render(value)
            if !text.isEmpty { session.output(text) }
        case .loop(let variable, _, let over, let body, _):
            let items: [Value]
            switch try evaluate(over) {
            case .list(let l): items = l
            case let other: throw Diagnostic(.notIterable(other.typeName), over.range)
            }
            let saved = session.bindings[variable]
            let output = session.output
            defer { session.bindings[variable] = saved; session.output = output }
            for item in items {
                session.bindings[variable] = item
                // Output inside a loop says which iteration printed it: a header before the
                // iteration's first line.
                var header: String? = "\(variable) = \(Printer.render(item)):"
                session.output = { text in
                    if let h = header { output(h); header = nil }
                    output(text)
                }
                for s in body { try execute(s) }
            }
        }
    }

    /// Every word a command accepts (models, plot kinds, search methods, …): a bare word that
    /// names no binding is that word, so `for m in [gcn, mlp] { fit m s }` works.
    public lazy var words: Set<String> = {
        var out = Set<String>()
        for c in commands.values {
            for p in c.positional + c.keywords + c.options {
                switch p.type {
                case .word(let w), .wordOrPath(let w): out.formUnion(w)
                default: break
                }
            }
        }
        return out.subtracting(commands.keys)
    }()

    public func evaluate(_ expr: Expr) throws -> Value {
        switch expr {
        case .integer(let i, _): return .integer(i)
        case .decimal(let d, _): return .decimal(d)
        case .string(let s, _): return .string(s)
        case .name(let n, let r):
            if let v = session.bindings[n] { return v }
            if let c = commands[n] {
                guard c.canStandAlone else { throw Diagnostic(.commandAsValue(n, example: nil), r) }
                return try call(CommandCall(name: n, nameRange: r, arguments: [], range: r))
            }
            if words.contains(n) { return .word(n) }
            let candidates = Array(session.bindings.keys) + commands.keys.sorted()
            throw Diagnostic(.unknownName(n, suggestion: suggestion(for: n, among: candidates)), r)
        case .list(let items, _):
            return .list(try items.map(evaluate))
        case .range(let lo, let hi, let step, _):
            let a = try integerValue(lo, "a range's start"), b = try integerValue(hi, "a range's end")
            let s = try step.map { try integerValue($0, "a range's step") } ?? 1
            guard s > 0 else { throw Diagnostic(.outOfRange(what: "a range's step", detail: "must be positive, got \(s)"), step!.range) }
            guard b >= a else { return .list([]) }
            guard (b - a) / s < 10_000_000 else {
                throw Diagnostic(.outOfRange(what: "a range", detail: "has more than 10,000,000 values"), expr.range)
            }
            return .list(stride(from: a, through: b, by: s).map { .integer($0) })
        case .binary(let op, let l, let r, _):
            let a = try evaluate(l), b = try evaluate(r)
            switch (a, b) {
            case (.integer(let x), .integer(let y)):
                let (v, overflow) = op == .plus ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)
                if overflow { throw Diagnostic(.outOfRange(what: "the result", detail: "overflows a 64-bit integer"), expr.range) }
                return .integer(v)
            case (.archSet(let x), .archSet(let y)):
                if op == .plus {
                    let conflicts = x.conflicts(with: y)
                    if conflicts > 0 {
                        session.diagnostics("note: \(Format.plural(conflicts, "architecture")) of the right set \(conflicts == 1 ? "is" : "are") also in the left with other results; a union keeps the left set's")
                    }
                    return .archSet(x.union(y))
                }
                return .archSet(x.subtracting(y))
            case (.string(let x), .string(let y)) where op == .plus:
                return .string(x + y)
            default:
                if let x = a.number, let y = b.number { return .decimal(op == .plus ? x + y : x - y) }
                if case .archSet = a {
                    throw Diagnostic(.wrongType(what: "the right side of '\(op.rawValue)'", expected: "an architecture set", got: b.typeName), r.range)
                }
                throw Diagnostic(.wrongType(what: "the left side of '\(op.rawValue)'", expected: "a number, an architecture set or (for +) a string", got: a.typeName), l.range)
            }
        case .command(let c):
            return try call(c)
        }
    }

    func integerValue(_ e: Expr, _ what: String) throws -> Int {
        let v = try evaluate(e)
        guard case .integer(let i) = v else { throw Diagnostic(.wrongType(what: what, expected: "a whole number", got: v.typeName), e.range) }
        return i
    }

    /// Binds a call's arguments to its command's parameters and runs it.
    func call(_ c: CommandCall) throws -> Value {
        guard let spec = commands[c.name] else {
            throw Diagnostic(.unknownCommand(c.name, suggestion: suggestion(for: c.name, among: commands.keys.sorted())), c.nameRange)
        }
        var args = Arguments(call: c)
        for (p, e) in try spec.match(c) {
            args.values[p.name] = try bind(e, p, spec)
            args.ranges[p.name] = e.range
        }
        for p in spec.positional + spec.keywords + spec.options where args.values[p.name] == nil {
            if let v = p.defaultValue { args.values[p.name] = v }
        }
        do {
            return try spec.run(session, args)
        } catch let e as RuntimeError {
            var text = e.description
            if case .fileNotFound(let p) = e, !p.hasPrefix("/"), let base = session.baseFolder {
                text += " (relative paths start at the script's folder, \(base))"
            }
            throw Diagnostic(.runtime(text), errorRange(e, args))
        } catch let p as CommandProblem {
            throw Diagnostic(.command(p), p.argument.map(args.range) ?? c.range)
        }
    }

    /// The caret of a runtime error: a file's problem points at the file argument, an
    /// option's at the option (when the call wrote them); anything else at the whole call.
    private func errorRange(_ e: RuntimeError, _ args: Arguments) -> SourceRange {
        let keys: [String]
        switch e {
        case .fileNotFound, .isDirectory, .emptyFile, .unreadable, .unwritable, .truncated, .truncatedData, .crcMismatch, .malformed,
             .staleCache, .foreignCache, .incompleteCache, .unknownFormat, .wouldOverwriteInput, .unknownSetFormat,
             .unusable(.cacheNotSource), .unusable(.metricName):
            keys = ["source", "file", "to", "space"]
        case .invalidCell(_, let place), .invalidProxyless(_, let place):
            keys = place == nil ? [] : ["source", "file", "to", "space"]
        case .unusable(.oneBudget), .unusable(.trainerBudget), .unusable(.noRunsAt): keys = ["epochs"]
        case .unusable(.budget): keys = ["budget"]
        case .unusable(.runsBelowOne): keys = ["runs"]
        case .unusable(.nPlusK), .unusable(.nBelowBatch): keys = ["n"]
        case .unusable(.fewerThanBatch): keys = ["batch"]
        case .unusable(.evolutionParameters): keys = ["population", "sample", "cycles"]
        case .trainer: keys = ["command", "ledger"]
        default: keys = []
        }
        for key in keys where args.ranges[key] != nil { return args.ranges[key]! }
        return args.call.range
    }

    func bind(_ e: Expr, _ p: Param, _ spec: CommandSpec) throws -> Value {
        let what = "'\(spec.name)' \(p.name)"
        switch p.type {
        case .word, .wordOrPath:
            var word: String?
            if case .name(let n, _) = e, session.bindings[n] == nil { word = n }
            if case .string(let s, _) = e {
                if case .wordOrPath = p.type { return .string(s) }
                word = s
            }
            if word == nil {
                switch try evaluate(e) {
                case .word(let w): word = w
                case .string(let s):
                    if case .wordOrPath = p.type { return .string(s) }
                    word = s
                case let v: throw Diagnostic(.wrongType(what: what, expected: p.type.display, got: v.typeName), e.range)
                }
            }
            let w = word!
            try p.checkWord(w, at: e.range)
            return .word(w)
        default:
            let v = try evaluate(e)
            switch (p.type, v) {
            case (.integer(let m), .integer(let i)):
                guard i >= m else { throw Diagnostic(.outOfRange(what: what, detail: "must be at least \(m), got \(i)"), e.range) }
                return v
            case (.number(let b), .integer), (.number(let b), .decimal):
                guard b.contains(v.number!) else {
                    throw Diagnostic(.outOfRange(what: what, detail: "must be \(b.display), got \(Printer.render(v))"), e.range)
                }
                return v
            case (.string, .string), (.archSet, .archSet), (.predictor, .predictor), (.scores, .scores), (.value, _):
                return v
            default:
                throw Diagnostic(.wrongType(what: what, expected: p.type.display, got: v.typeName), e.range)
            }
        }
    }
}
