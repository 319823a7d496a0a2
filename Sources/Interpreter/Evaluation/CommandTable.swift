import Runtime

/// The type a parameter accepts.
public enum ParamType: Sendable {
    case integer(min: Int)
    case number
    case string
    /// A bare word from a fixed set (a string is accepted too).
    case word([String])
    /// A bare word from a fixed set, or a string naming a file.
    case wordOrPath([String])
    case archSet
    /// Any value.
    case value

    /// How the parameter appears in a usage line.
    var placeholder: String {
        switch self {
        case .archSet: return "SET"
        case .string: return "\"FILE\""
        default: return "X"
        }
    }

    var display: String {
        switch self {
        case .integer(let m): return m > 0 ? "a whole number ≥ \(m)" : "a whole number"
        case .number: return "a number"
        case .string: return "a string"
        case .word(let w): return w.joined(separator: "|")
        case .wordOrPath(let w): return w.joined(separator: "|") + " or \"FILE\""
        case .archSet: return "an architecture set"
        case .value: return "a value"
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

    public init(_ name: String, _ type: ParamType, _ doc: String, default defaultText: String? = nil) {
        self.name = name
        self.type = type
        self.doc = doc
        self.defaultText = defaultText
    }
}

/// The arguments of one call, bound and type-checked.
public struct Arguments {
    var values: [String: Value] = [:]
    var ranges: [String: SourceRange] = [:]
    public let call: CommandCall

    func range(_ name: String) -> SourceRange { ranges[name] ?? call.range }
    func has(_ name: String) -> Bool { values[name] != nil }

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
