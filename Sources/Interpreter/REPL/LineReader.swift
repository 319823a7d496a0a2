@preconcurrency import CReadline

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads lines for the REPL: readline (editing, history, completion) on a terminal, plain
/// reads otherwise. Line editing lives here, apart from evaluation.
public final class LineReader {
    public let interactive: Bool
    let historyPath: String?

    /// Tab completion: candidates for the word being typed, given the line before it; set
    /// by the REPL.
    nonisolated(unsafe) static var completer: (_ text: String, _ line: String) -> [String] = { _, _ in [] }

    public init(interactive: Bool, historyPath: String?) {
        self.interactive = interactive
        self.historyPath = historyPath
        if interactive {
            rl_readline_name = UnsafePointer(strdup("npsh"))
            rl_attempted_completion_function = lineReaderComplete
            // append_history needs the file to exist: create it on first use.
            if let historyPath, read_history(historyPath) != 0 { _ = write_history(historyPath) }
        }
    }

    /// The next line, or nil at end of input (Ctrl-D).
    public func read(prompt: String) -> String? {
        if !interactive {
            var line: UnsafeMutablePointer<CChar>?
            var cap = 0
            let n = getline(&line, &cap, stdin)
            defer { free(line) }
            guard n >= 0, let line else { return nil }
            var s = String(cString: line)
            if s.hasSuffix("\n") { s.removeLast() }
            return s
        }
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        let s = String(cString: raw)
        if !s.trimmedOf(" \t").isEmpty {
            add_history(raw)
            if let historyPath { _ = append_history(1, historyPath); _ = history_truncate_file(historyPath, 2000) }
        }
        return s
    }

    static func pathCandidates(_ text: String) -> [String] {
        let slash = text.lastIndex(of: "/")
        let dir = slash.map { String(text[...$0]) } ?? ""
        let prefix = slash.map { String(text[text.index(after: $0)...]) } ?? text
        guard let d = opendir(dir.isEmpty ? "." : dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." || !name.hasPrefix(prefix) { continue }
            let full = dir + name
            let isDir = fileIsDirectory(full)
            out.append(isDir ? full + "/" : full)
        }
        return out.sorted()
    }
}

private func fileIsDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

extension String {
    func trimmedOf(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// readline's completion hook: a capture-free function.
private func lineReaderComplete(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    rl_attempted_completion_over = 1
    let word = text.map { String(cString: $0) } ?? ""
    let line = rl_line_buffer.map { String(String(cString: $0).utf8.prefix(Int(start))) ?? "" } ?? ""
    let found = LineReader.completer(word, line)
    if found.isEmpty { return nil }
    if found.count == 1 && found[0].hasSuffix("/") { rl_completion_append_character = 0 }
    // readline wants the common prefix first, then the matches, NULL-terminated.
    var common = found[0]
    for f in found.dropFirst() { while !f.hasPrefix(common) { common.removeLast() } }
    let list = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: found.count + 2)
    list[0] = strdup(common)
    for (i, f) in found.enumerated() { list[i + 1] = strdup(f) }
    list[found.count + 1] = nil
    if found.count == 1 { free(list[1]); list[1] = nil }
    return list
}
