import Runtime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The interactive loop: reads statements (a block may span lines), runs each through the
/// same `ScriptRunner` as script files, reports errors and carries on. `save "FILE.npx"`
/// writes the statements that succeeded, which replay the session.
public final class REPL {
    let evaluator: Evaluator
    let reader: LineReader
    let renderer: DiagnosticRenderer
    let write: (String) -> Void
    let writeError: (String) -> Void
    /// Statements that ran without error, in order.
    public private(set) var transcript: [String] = []
    var counter = 0
    let initialSeed: UInt64
    let resetInterrupt: () -> Void

    public init(evaluator: Evaluator, reader: LineReader, renderer: DiagnosticRenderer,
                write: @escaping (String) -> Void, writeError: @escaping (String) -> Void,
                resetInterrupt: @escaping () -> Void = {}) {
        self.evaluator = evaluator
        self.initialSeed = evaluator.session.seed
        self.resetInterrupt = resetInterrupt
        self.reader = reader
        self.renderer = renderer
        self.write = write
        self.writeError = writeError
    }

    public func run() {
        // On a terminal, plot also draws its Unicode preview.
        evaluator.session.previews = reader.interactive && isatty(1) == 1
        if reader.interactive {
            write("npsh — Neural Predictor NAS shell. 'help' lists the commands; Ctrl-D quits.\n")
        }
        while let chunk = readStatement() {
            if chunk.trimmedOf(" \t\n").isEmpty { continue }
            execute(chunk)
        }
        if reader.interactive { write("\n") }
    }

    /// Reads lines until braces and brackets balance.
    func readStatement() -> String? {
        let commands = evaluator.commands, names = evaluator.session.bindings.keys.sorted()
        LineReader.completer = { text, line in Completion.candidates(for: text, line: line, commands: commands, names: names) }
        guard var text = reader.read(prompt: "npsh> ") else { return nil }
        while Self.depthChange(text) > 0 {
            guard let more = reader.read(prompt: "  ... ") else { return text }
            text += "\n" + more
        }
        return text
    }

    /// How many braces and brackets `text` opens and leaves open (ignoring strings and
    /// comments); negative when it closes more than it opens.
    static func depthChange(_ text: String) -> Int {
        var d = 0
        var inString = false, inComment = false
        for c in text {
            if inComment { if c == "\n" { inComment = false }; continue }
            if inString { if c == "\"" { inString = false }; continue }
            switch c {
            case "\"": inString = true
            case "#": inComment = true
            case "{", "[", "(": d += 1
            case "}", "]", ")": d -= 1
            default: break
            }
        }
        return d
    }

    /// Runs one entry; `save "FILE"` is handled here because it writes the transcript.
    public func execute(_ text: String) {
        counter += 1
        let trimmed = text.trimmedOf(" \t")
        if trimmed.hasPrefix("save ") || trimmed == "save" {
            save(trimmed)
            return
        }
        resetInterrupt()
        let source = SourceFile(name: "<stdin:\(counter)>", text: text)
        // A statement that fails or is interrupted leaves the session as it found it (draw
        // counters, bindings, space, benchmark), so a saved session replays what was shown.
        let before = evaluator.session.snapshot()
        evaluator.session.defaultLedgerOpened = nil
        let result = ScriptRunner(renderer: renderer).run(source, evaluator: evaluator, echo: { self.write($0 + "\n") }, errors: writeError)
        guard result.status == .ok else {
            evaluator.session.restore(before)
            return
        }
        // `help` prints documentation: nothing to replay.
        guard !(trimmed == "help" || trimmed.hasPrefix("help ")) else { return }
        var statement = Self.indented(text)
        // A trainer on the REPL's default ledger: the saved script names it, or its replay
        // would look for NAME.ledger.sqlite beside itself and train everything again.
        if let ledger = evaluator.session.defaultLedgerOpened, !statement.contains("\n") {
            statement += " ledger=\(Self.ledgerMark)\(ledger)\(Self.ledgerMark)"
        }
        transcript.append(statement)
    }

    /// A statement as a script shows it: a block's lines indented four spaces a level,
    /// however they were typed.
    static func indented(_ text: String) -> String {
        var level = 0
        var out: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).trimmedOf(" \t")
            let closes = line.hasPrefix("}") || line.hasPrefix("]") || line.hasPrefix(")") ? 1 : 0
            out.append(line.isEmpty ? "" : String(repeating: "    ", count: max(0, level - closes)) + line)
            level = max(0, level + REPL.depthChange(line))
        }
        return out.joined(separator: "\n")
    }

    /// Brackets a default ledger's absolute path in a transcript entry until `save` knows
    /// where the script goes.
    static let ledgerMark = "\u{1}"

    /// The entry with its ledger path as a string: relative when the ledger is in the saved
    /// script's folder (where `npsh run` runs it), else absolute.
    static func resolveLedger(_ entry: String, savedTo path: String) -> String {
        let parts = entry.components(separatedBy: ledgerMark)
        guard parts.count == 3 else { return entry }
        let ledger = parts[1]
        let script = absolutePath(path)
        let folder = String(script[..<(script.lastIndex(of: "/") ?? script.startIndex)])
        let shown = ledger.hasPrefix(folder + "/") && !ledger.dropFirst(folder.count + 1).contains("/") ? String(ledger.dropFirst(folder.count + 1)) : ledger
        return parts[0] + JSONWriter.quote(shown) + parts[2]
    }

    func save(_ line: String) {
        let arg = String(line.dropFirst(4)).trimmedOf(" \t")
        guard arg.count >= 2, arg.hasPrefix("\""), arg.hasSuffix("\"") else {
            writeError("error: usage: save \"FILE.npx\"\n")
            return
        }
        let path = String(arg.dropFirst().dropLast())
        let text = "# npsh session, saved by 'save'; replay with: npsh run \(path)\nseed \(initialSeed)\n"
            + transcript.map { Self.resolveLedger($0, savedTo: path) }.joined(separator: "\n") + "\n"
        do {
            try evaluator.session.write(text, to: path)
            write("saved \(transcript.count) statement\(transcript.count == 1 ? "" : "s") to \(path)\n")
        } catch let e as RuntimeError {
            writeError("error: \(e)\n")
        } catch {
            writeError("error: \(error)\n")
        }
    }
}
