import Runtime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `npsh kernel --stdio`: npsh for a notebook front end. One JSON object per line each way,
// so a thin Jupyter wrapper (jupyter/npsh_kernel.py) speaks the Jupyter protocol and npsh
// speaks only this. Requests carry an "id" the events echo:
//
//   {"id": 1, "type": "execute", "code": "let s = sample 10\nshow s"}
//   {"id": 2, "type": "complete", "code": "sam", "cursor": 3}
//   {"id": 3, "type": "inspect", "code": "sample 10", "cursor": 2}
//   {"id": 4, "type": "is_complete", "code": "for x in [1, 2] {"}
//   {"id": 5, "type": "history"}
//
// Events: {"id", "event": "stream", "name": "stderr", "text"} (notes, progress),
// {"event": "result", "text"} (a statement's output), {"event": "display", "svg", "text"}
// (a figure), {"event": "error", "ename", "evalue", "traceback"}, and last
// {"event": "done", …} with the request's answer. A malformed request is an error event and
// a done; the session carries on. Statements run exactly as `npsh run` runs them: the same
// runner, the same session, so Restart-and-Run-All prints what the script prints.

public final class KernelServer {
    let evaluator: Evaluator
    let renderer = DiagnosticRenderer(colour: false)
    /// Writes one line (the caller adds nothing); called from worker threads too (progress).
    let writeLine: (String) -> Void
    private let lock = Mutex()
    public private(set) var executionCount = 0
    private var history: [String] = []
    /// The request being answered: events carry its id.
    private var currentID = "null"

    public init(evaluator: Evaluator, writeLine: @escaping (String) -> Void) {
        self.evaluator = evaluator
        self.writeLine = writeLine
    }

    /// Reads requests until end of input.
    public func run(readLine: () -> String?) {
        while let line = readLine() {
            if line.trimmedOf(" \t\r").isEmpty { continue }
            handle(line)
        }
    }

    func send(_ fields: [(String, String)]) {
        let text = "{" + ([("id", currentID)] + fields).map { "\(JSONWriter.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        lock.sync { writeLine(text) }
    }

    static func q(_ s: String) -> String { JSONWriter.quote(s) }

    /// Answers one request line.
    public func handle(_ line: String) {
        currentID = "null"
        let request: JSONValue
        do { request = try JSONValue.parse(line) } catch {
            return fail("RequestError", "not a JSON request: \(error)")
        }
        if let id = request["id"] {
            switch id {
            case .number(let n) where n.isFinite: currentID = JSONWriter.number(n)
            case .string(let s): currentID = Self.q(s)
            default: break
            }
        }
        guard case .object = request, let type = request["type"]?.string else {
            return fail("RequestError", "a request is an object with \"type\": execute, complete, inspect, is_complete or history")
        }
        let code = request["code"]?.string ?? ""
        let cursor = request["cursor"]?.number.flatMap { $0.isFinite && $0 >= 0 ? Int(min($0, 1e9)) : nil } ?? code.unicodeScalars.count
        switch type {
        case "execute": execute(code, silent: request["silent"] == .bool(true))
        case "complete": complete(code, cursor: cursor)
        case "inspect": inspect(code, cursor: cursor)
        case "is_complete": isComplete(code)
        case "history":
            send([("event", Self.q("done")), ("history", "[" + history.map(Self.q).joined(separator: ", ") + "]")])
        default: fail("RequestError", "unknown request type '\(type)'; known: execute, complete, inspect, is_complete, history")
        }
    }

    /// An error event and a done: the request failed, the session is intact.
    func fail(_ name: String, _ message: String) {
        send([("event", Self.q("error")), ("ename", Self.q(name)), ("evalue", Self.q(message)), ("traceback", "[" + Self.q(message) + "]")])
        send([("event", Self.q("done")), ("status", Self.q("error")), ("execution_count", String(executionCount))])
    }

    func execute(_ code: String, silent: Bool) {
        if !silent { executionCount += 1; history.append(code) }
        Interrupt.clear()
        let session = evaluator.session
        let savedDiagnostics = session.diagnostics, savedDisplay = session.display
        session.diagnostics = { [weak self] text in self?.send([("event", Self.q("stream")), ("name", Self.q("stderr")), ("text", Self.q(text + "\n"))]) }
        session.display = { [weak self] svg, text in self?.send([("event", Self.q("display")), ("svg", Self.q(svg)), ("text", Self.q(text))]) }
        defer { session.diagnostics = savedDiagnostics; session.display = savedDisplay }
        let source = SourceFile(name: "<cell \(executionCount)>", text: code)
        // A cell that fails leaves the session as it found it, as a REPL statement does.
        let before = session.snapshot()
        var errors: [String] = []
        let result = ScriptRunner(renderer: renderer).run(source, evaluator: evaluator, echo: { [weak self] text in
            self?.send([("event", Self.q("result")), ("text", Self.q(text))])
        }, errors: { errors.append($0) })
        guard result.status == .ok else {
            session.restore(before)
            let text = errors.joined(separator: "\n")
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let first = lines.first ?? ""
            let message = first.range(of: "error: ").map { String(first[$0.upperBound...]) } ?? first
            let name = result.status == .syntax ? "SyntaxError" : (message.hasPrefix("interrupted") ? "KeyboardInterrupt" : "NpshError")
            send([("event", Self.q("error")), ("ename", Self.q(name)), ("evalue", Self.q(message)),
                  ("traceback", "[" + lines.map(Self.q).joined(separator: ", ") + "]")])
            send([("event", Self.q("done")), ("status", Self.q("error")), ("execution_count", String(executionCount))])
            return
        }
        send([("event", Self.q("done")), ("status", Self.q("ok")), ("execution_count", String(executionCount))])
    }

    /// The word the cursor ends: letters, digits and `_`, or a path inside a string.
    static func word(_ code: String, cursor: Int) -> (start: Int, text: String, line: String) {
        let scalars = Array(code.unicodeScalars.prefix(cursor))
        let lineStart = (scalars.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
        let line = String(String.UnicodeScalarView(scalars[lineStart...]))
        let inString = line.filter { $0 == "\"" }.count % 2 == 1
        var start = scalars.count
        func belongs(_ u: Unicode.Scalar) -> Bool {
            if inString { return u != "\"" && u != " " }
            return u == "_" || u.properties.isAlphabetic || ("0"..."9").contains(u)
        }
        while start > lineStart && belongs(scalars[start - 1]) { start -= 1 }
        return (start, String(String.UnicodeScalarView(scalars[start...])), line)
    }

    func complete(_ code: String, cursor: Int) {
        let (start, text, line) = Self.word(code, cursor: cursor)
        // As readline gives it: the line before the word being completed.
        let before = String(line.unicodeScalars.dropLast(text.unicodeScalars.count))
        let matches = Completion.candidates(for: text, line: before, commands: evaluator.commands,
                                            names: evaluator.session.bindings.keys.sorted())
        send([("event", Self.q("done")), ("matches", "[" + matches.map(Self.q).joined(separator: ", ") + "]"),
              ("cursor_start", String(start)), ("cursor_end", String(min(cursor, code.unicodeScalars.count)))])
    }

    func inspect(_ code: String, cursor: Int) {
        // The whole word under the cursor: what precedes it and what follows.
        let scalars = Array(code.unicodeScalars)
        var end = min(cursor, scalars.count)
        while end < scalars.count && (scalars[end] == "_" || scalars[end].properties.isAlphabetic) { end += 1 }
        let word = Self.word(code, cursor: end).text
        var text: String?
        if let spec = evaluator.commands[word] {
            text = spec.help
        } else if let v = evaluator.session.bindings[word] {
            text = "\(word): \(v.typeName)\n" + Printer.render(v)
        }
        send([("event", Self.q("done")), ("found", text == nil ? "false" : "true"), ("text", text.map(Self.q) ?? "null")])
    }

    func isComplete(_ code: String) {
        let depth = REPL.depthChange(code)
        let status = depth > 0 ? "incomplete" : depth < 0 ? "invalid" : "complete"
        send([("event", Self.q("done")), ("status", Self.q(status)), ("indent", Self.q(depth > 0 ? String(repeating: "    ", count: depth) : ""))])
    }
}

/// Lines from a file descriptor, for the kernel's requests: a line longer than `maxLine`
/// bytes is cut there (the request is then malformed JSON, answered with an error), so no
/// input can grow memory without bound.
public final class LineInput {
    let fd: Int32
    static let maxLine = 64 << 20
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private var eof = false

    public init(fd: Int32) { self.fd = fd }

    public func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            if buffer.count >= Self.maxLine {
                let line = String(decoding: buffer.prefix(Self.maxLine), as: UTF8.self)
                buffer.removeAll()
                // Skip the rest of the overlong line.
                while !eof {
                    let n = read(fd, &chunk, chunk.count)
                    if n <= 0 { if n < 0 && errno == EINTR { continue }; eof = true; break }
                    if let nl = chunk[..<n].firstIndex(of: 10) { buffer = Array(chunk[(nl + 1)..<n]); break }
                }
                return line
            }
            if eof { return buffer.isEmpty ? nil : { let l = String(decoding: buffer, as: UTF8.self); buffer.removeAll(); return l }() }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { if errno == EINTR { continue }; eof = true; continue }
            if n == 0 { eof = true; continue }
            buffer += chunk[..<n]
        }
    }
}
