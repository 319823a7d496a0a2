import Runtime

/// The type a parameter accepts.
public enum ParamType: Sendable {
    case integer(min: Int)
    /// A number within bounds (checked by the binder, with a caret on the value).
    case number(Bounds)
    case string
    /// A bare word from a fixed set (a string is accepted too).
    case word([String])
    /// A bare word from a fixed set, or a string naming a file.
    case wordOrPath([String])
    case archSet
    /// A fitted predictor (fit, load).
    case predictor
    /// Scores (predict).
    case scores
    /// Any value.
    case value

    /// How the parameter appears in a usage line.
    var placeholder: String {
        switch self {
        case .archSet: return "SET"
        case .predictor: return "P"
        case .scores: return "SCORES"
        case .string: return "\"FILE\""
        case .word(let w): return w.joined(separator: "|")
        default: return "X"
        }
    }

    var display: String {
        switch self {
        case .integer(let m): return m > 0 ? "a whole number ≥ \(m)" : "a whole number"
        case .number(let b): return b.display
        case .string: return "a string"
        case .word(let w): return w.joined(separator: "|")
        case .wordOrPath(let w): return w.joined(separator: "|") + " or \"FILE\""
        case .archSet: return "an architecture set"
        case .predictor: return "a predictor (from fit or load)"
        case .scores: return "scores (from predict)"
        case .value: return "a value"
        }
    }
}

/// The range a numeric option accepts.
public struct Bounds: Sendable {
    public var low: Double?
    public var high: Double?
    /// Whether `low` / `high` themselves are excluded.
    public var lowOpen = false
    public var highOpen = false

    public static let any = Bounds()
    /// > 0.
    public static let positive = Bounds(low: 0, lowOpen: true)
    /// ≥ 0.
    public static let nonNegative = Bounds(low: 0)
    /// [0, 1): a rate such as dropout.
    public static let rate = Bounds(low: 0, high: 1, highOpen: true)
    /// (0, 1): a fraction of a set.
    public static let fraction = Bounds(low: 0, high: 1, lowOpen: true, highOpen: true)
    /// (0, 100): a percentage strictly inside.
    public static let percent = Bounds(low: 0, high: 100, lowOpen: true, highOpen: true)

    public func contains(_ x: Double) -> Bool {
        guard x.isFinite else { return false }
        if let l = low, lowOpen ? x <= l : x < l { return false }
        if let h = high, highOpen ? x >= h : x > h { return false }
        return true
    }

    /// "a number > 0", "a number in [0, 1)".
    public var display: String {
        func f(_ x: Double) -> String { formatSignificant(x, digits: 6) }
        switch (low, high) {
        case (nil, nil): return "a number"
        case (let l?, nil): return "a number \(lowOpen ? ">" : "≥") \(f(l))"
        case (nil, let h?): return "a number \(highOpen ? "<" : "≤") \(f(h))"
        case (let l?, let h?): return "a number in \(lowOpen ? "(" : "[")\(f(l)), \(f(h))\(highOpen ? ")" : "]")"
        }
    }
}

/// One parameter of a command: positional, keyword-introduced (`on`, `from`, `to`) or an
/// option (`key=value`).
public struct Param: Sendable {
    public var name: String
    public var type: ParamType
    public var doc: String
    /// Shown by `help`; nil for a required parameter.
    public var defaultText: String?
    public var required: Bool { defaultText == nil }

    /// A word given for a `.word` or `.wordOrPath` parameter must be one of its choices.
    func checkWord(_ w: String, at range: SourceRange) throws {
        switch type {
        case .word(let choices), .wordOrPath(let choices):
            guard choices.contains(w) else {
                throw Diagnostic(.unknownWord(what: name, word: w, choices: choices, suggestion: suggestion(for: w, among: choices)), range)
            }
        default: break
        }
    }

    /// The value the binder gives an option that was not written (`help` prints it); nil for
    /// a required parameter or one whose default depends on the call (told by `defaultText`).
    public var defaultValue: Value?

    /// A parameter with a described default ("the paper's for N"), or none (required).
    public init(_ name: String, _ type: ParamType, _ doc: String, default defaultText: String? = nil) {
        self.name = name
        self.type = type
        self.doc = doc
        self.defaultText = defaultText
    }

    /// A parameter with a typed default: the binder applies it, `help` prints it, and the
    /// command reads a complete set of arguments.
    public init(_ name: String, _ type: ParamType, _ doc: String, value: Value) {
        self.init(name, type, doc, default: Self.describe(value))
        defaultValue = value
    }

    static func describe(_ v: Value) -> String {
        switch v {
        case .integer(let i): return String(i)
        case .decimal(let d): return formatSignificant(d, digits: 6)
        case .word(let w): return w
        default: return Printer.render(v)
        }
    }
}

/// The arguments of one call, bound and type-checked.
public struct Arguments {
    var values: [String: Value] = [:]
    var ranges: [String: SourceRange] = [:]
    public let call: CommandCall

    func range(_ name: String) -> SourceRange { ranges[name] ?? call.range }
    /// A problem with one argument: the caret goes on it.
    func problem(_ name: String, _ problem: CommandProblem) -> Diagnostic { Diagnostic(.command(problem), range(name)) }
    /// Whether the call wrote this argument (a typed default does not count).
    func has(_ name: String) -> Bool { ranges[name] != nil }

    func integer(_ name: String) -> Int? {
        if case .integer(let i) = values[name] { return i }
        return nil
    }

    func number(_ name: String) -> Double? { values[name]?.number }

    func string(_ name: String) -> String? {
        if case .string(let s) = values[name] { return s }
        return nil
    }

    func set(_ name: String) -> ArchSet? {
        if case .archSet(let s) = values[name] { return s }
        return nil
    }

}

/// A command: its syntax, documentation and implementation. The table of these drives
/// parsing (which words are commands), binding, validation, `help` and completion.
public struct CommandSpec: Sendable {
    public var name: String
    public var summary: String
    public var positional: [Param] = []
    /// Parameters introduced by a keyword; the parameter's name is the keyword.
    public var keywords: [Param] = []
    public var options: [Param] = []
    public var details: String = ""
    var run: @Sendable (Session, Arguments) throws -> Value

    /// Pairs each argument of `call` with its parameter: the checks that need no values
    /// (argument counts, option names, duplicates, required parameters), shared by the
    /// checker that runs before a script and the binder that runs each call.
    func match(_ call: CommandCall) throws -> [(Param, Expr)] {
        var out: [(Param, Expr)] = []
        var seen = Set<String>()
        var nextPositional = 0
        for a in call.arguments {
            switch a {
            case .positional(let e):
                guard nextPositional < positional.count else {
                    throw Diagnostic(.tooManyArguments(command: name, expected: positional.count), e.range)
                }
                out.append((positional[nextPositional], e))
                nextPositional += 1
            case .keyword(let k, let kr, let e):
                guard let p = keywords.first(where: { $0.name == k }) else {
                    throw Diagnostic(.unknownOption(command: name, option: k, suggestion: nil), kr)
                }
                if !seen.insert(k).inserted { throw Diagnostic(.duplicateOption(k), kr) }
                out.append((p, e))
            case .option(let k, let kr, let e):
                guard let p = options.first(where: { $0.name == k }) else {
                    let names = options.map(\.name) + keywords.map(\.name)
                    throw Diagnostic(.unknownOption(command: name, option: k, suggestion: suggestion(for: k, among: names)), kr)
                }
                if !seen.insert(k).inserted { throw Diagnostic(.duplicateOption(k), kr) }
                out.append((p, e))
            }
        }
        let given = Set(out.map(\.0.name))
        for p in positional + keywords where p.required && !given.contains(p.name) {
            let label = keywords.contains { $0.name == p.name } ? "'\(p.name) \(p.type.placeholder)'" : p.name.uppercased()
            throw Diagnostic(.missingArgument(command: name, parameter: label), call.range)
        }
        return out
    }

    /// Whether the command can run with no arguments (`all`, `help`), and so stand alone
    /// where a value is expected.
    public var canStandAlone: Bool { positional.allSatisfy { !$0.required } && keywords.allSatisfy { !$0.required } }

    /// "sample N [from SET]"-style usage line.
    public var usage: String {
        var parts = [name]
        for p in positional { parts.append(p.required ? p.name.uppercased() : "[\(p.name.uppercased())]") }
        for k in keywords {
            let word = "\(k.name) \(k.type.placeholder)"
            parts.append(k.required ? word : "[\(word)]")
        }
        for o in options { parts.append("[\(o.name)=…]") }
        return parts.joined(separator: " ")
    }

    /// The full `help NAME` text.
    public var help: String {
        var out = "\(usage)\n  \(summary)\n"
        if !details.isEmpty { out += details.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }.joined(separator: "\n") + "\n" }
        let params = positional.map { ($0.name.uppercased(), $0) } + keywords.map { ("\($0.name) …", $0) } + options.map { ("\($0.name)=", $0) }
        if !params.isEmpty {
            let width = params.map(\.0.count).max()!
            for (label, p) in params {
                let pad = String(repeating: " ", count: width - label.count)
                let def = p.defaultText.map { $0.isEmpty ? "" : " (default \($0))" } ?? ""
                out += "    \(label)\(pad)  \(p.doc) — \(p.type.display)\(def)\n"
            }
        }
        return out
    }
}
