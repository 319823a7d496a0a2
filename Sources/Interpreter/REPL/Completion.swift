/// What Tab offers, from the command table and the line so far: at the start of a
/// statement the commands and names; after a command its next positional's words (`fit ` →
/// models, `plot ` → kinds) or else names, its options and keywords; after `option=` that
/// option's words; inside a string, paths. Pure, so tests drive it without a terminal.
public enum Completion {
    public static func candidates(for text: String, line: String, commands: [String: CommandSpec], names: [String]) -> [String] {
        let quotes = line.filter { $0 == "\"" }.count
        if quotes % 2 == 1 { return LineReader.pathCandidates(text) }
        let offered = offer(line: line, commands: commands, names: names)
        return Array(Set(offered.filter { $0.hasPrefix(text) })).sorted()
    }

    static func offer(line: String, commands: [String: CommandSpec], names: [String]) -> [String] {
        // The statement being typed: after the last unclosed '(' or '{', or the line's start.
        var start = line.startIndex
        var depth: [String.Index] = []
        for i in line.indices {
            switch line[i] {
            case "(", "{": depth.append(line.index(after: i))
            case ")", "}": _ = depth.popLast()
            default: break
            }
        }
        if let last = depth.last { start = last }
        var words = line[start...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let statementStart = names + commands.keys.sorted() + ["let", "for"]
        // `let NAME =` and `for X in` lead to a value.
        if words.first == "let" {
            guard words.count >= 3, words[2] == "=" || words[1].hasSuffix("=") else { return [] }
            words.removeFirst(words[1].hasSuffix("=") ? 2 : 3)
        } else if words.first == "for" {
            return words.count >= 3 ? names : (words.count == 2 ? ["in"] : [])
        }
        guard let first = words.first, let spec = commands[first] else { return words.isEmpty ? statementStart : names }
        let after = Array(words.dropFirst())
        // `option=` just typed: that option's words.
        if line.hasSuffix("="), let key = after.last?.dropLast(), let p = spec.options.first(where: { $0.name == key }) {
            return choices(p) ?? names
        }
        // After a keyword (`on`, `from`, `to`): a value.
        if let last = after.last, spec.keywords.contains(where: { $0.name == last }) { return names }
        var positionals = 0
        var skipNext = false
        for w in after {
            if skipNext { skipNext = false; continue }
            if spec.keywords.contains(where: { $0.name == w }) { skipNext = true; continue }
            if w.contains("=") { continue }
            positionals += 1
        }
        let rest = spec.options.map { $0.name + "=" } + spec.keywords.map(\.name)
        if positionals < spec.positional.count, let words = choices(spec.positional[positionals]) {
            return words + names
        }
        return names + rest
    }

    static func choices(_ p: Param) -> [String]? {
        switch p.type {
        case .word(let w), .wordOrPath(let w): return w
        default: return nil
        }
    }
}
