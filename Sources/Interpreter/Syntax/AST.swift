/// A binary operator on values (numbers or architecture sets).
public enum BinaryOp: String, Sendable { case plus = "+", minus = "-" }

/// An expression. Every node keeps its source range for diagnostics.
public indirect enum Expr: Sendable {
    case integer(Int, SourceRange)
    case decimal(Double, SourceRange)
    case string(String, SourceRange)
    case name(String, SourceRange)
    case list([Expr], SourceRange)
    case range(Expr, Expr, step: Expr?, SourceRange)
    case binary(BinaryOp, Expr, Expr, SourceRange)
    case command(CommandCall)

    public var range: SourceRange {
        switch self {
        case .integer(_, let r), .decimal(_, let r), .string(_, let r), .name(_, let r), .list(_, let r),
             .range(_, _, _, let r), .binary(_, _, _, let r):
            return r
        case .command(let c): return c.range
        }
    }
}

/// One argument of a command: positional, `key=value`, or introduced by a keyword
/// (`on SET`, `from SET`, `to "FILE"`).
public enum Argument: Sendable {
    case positional(Expr)
    case option(String, keyRange: SourceRange, Expr)
    case keyword(String, keyRange: SourceRange, Expr)

    public var range: SourceRange {
        switch self {
        case .positional(let e): return e.range
        case .option(_, let k, let e), .keyword(_, let k, let e): return k.to(e.range)
        }
    }
}

/// A command with its arguments.
public struct CommandCall: Sendable {
    public var name: String
    public var nameRange: SourceRange
    public var arguments: [Argument]
    public var range: SourceRange
}

/// A statement.
public indirect enum Statement: Sendable {
    case binding(name: String, nameRange: SourceRange, value: Expr, range: SourceRange)
    case expression(Expr)
    case loop(variable: String, variableRange: SourceRange, over: Expr, body: [Statement], range: SourceRange)

    public var range: SourceRange {
        switch self {
        case .binding(_, _, _, let r), .loop(_, _, _, _, let r): return r
        case .expression(let e): return e.range
        }
    }
}

/// The words that introduce a command argument.
let argumentKeywords: Set<String> = ["on", "from", "to"]
