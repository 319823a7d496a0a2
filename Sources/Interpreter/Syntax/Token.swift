/// A lexical token.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case identifier(String)
        case integer(Int)
        case decimal(Double)
        case string(String)
        case equals, comma, lbracket, rbracket, lbrace, rbrace, lparen, rparen, dotdot, plus, minus
        case newline
        case end
    }

    public var kind: Kind
    public var range: SourceRange

    /// How the token reads in a message.
    public var display: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .integer(let i): return "'\(i)'"
        case .decimal(let d): return "'\(d)'"
        case .string: return "a string"
        case .equals: return "'='"
        case .comma: return "','"
        case .lbracket: return "'['"
        case .rbracket: return "']'"
        case .lbrace: return "'{'"
        case .rbrace: return "'}'"
        case .lparen: return "'('"
        case .rparen: return "')'"
        case .dotdot: return "'..'"
        case .plus: return "'+'"
        case .minus: return "'-'"
        case .newline: return "end of line"
        case .end: return "end of input"
        }
    }
}
