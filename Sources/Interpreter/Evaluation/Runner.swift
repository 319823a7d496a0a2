import Runtime

/// Exit statuses of `npsh`, following sysexits.h where one fits.
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    case checkFailed = 1
    case usage = 64
    case syntax = 65
    case runtime = 70
}

/// The outcome of running a script.
public struct RunResult: Sendable {
    public var status: ExitStatus
    /// Output of each top-level statement that ran, with the line it ends on.
    public var outputs: [(endLine: Int, text: String)]
    /// Rendered diagnostics (already written to `errors`).
    public var diagnostics: [String]
}

/// Runs script text through the same path for files, standard input and REPL replay:
/// parse everything (reporting every syntax error), then execute statement by statement,
/// stopping at the first runtime error.
public struct ScriptRunner {
    public var renderer: DiagnosticRenderer
    public init(renderer: DiagnosticRenderer = DiagnosticRenderer()) { self.renderer = renderer }

    /// Parses `source` and checks it against `evaluator`'s session before anything runs:
    /// the statements, or every problem found (at most `Parser.maxErrors`, then one saying
    /// so), sorted by position.
    public static func prepare(_ source: SourceFile, evaluator: Evaluator) -> ([Statement], [Diagnostic]) {
        var (statements, problems) = Parser.parse(source, commands: evaluator.commandNames)
        if problems.isEmpty { problems = Checker.check(statements, in: evaluator, source: source) }
        if problems.count > Parser.maxErrors {
            problems = Array(problems.prefix(Parser.maxErrors)) + [Diagnostic(.tooManyErrors(shown: Parser.maxErrors), problems[Parser.maxErrors].range)]
        }
        return (statements, problems)
    }

    /// Runs `source` in `evaluator`'s session. Each statement's output goes to
    /// `echo` as it is produced (nil: collect only); diagnostics go to `errors`.
    public func run(_ source: SourceFile, evaluator: Evaluator, echo: ((String) -> Void)?, errors: (String) -> Void) -> RunResult {
        let (statements, syntax) = Self.prepare(source, evaluator: evaluator)
        if !syntax.isEmpty {
            let texts = syntax.map { renderer.render($0, in: source) }
            texts.forEach(errors)
            return RunResult(status: .syntax, outputs: [], diagnostics: texts)
        }
        var outputs: [(Int, String)] = []
        let session = evaluator.session
        let savedOutput = session.output
        defer { session.output = savedOutput }
        for s in statements {
            var lines: [String] = []
            session.output = { text in
                lines.append(text)
                echo?(text)
            }
            do {
                try evaluator.execute(s)
                outputs.append((source.location(max(s.range.start, s.range.end - 1)).line, lines.joined(separator: "\n")))
            } catch let d as Diagnostic {
                let text = renderer.render(d, in: source)
                errors(text)
                return RunResult(status: .runtime, outputs: outputs, diagnostics: [text])
            } catch {
                let text = renderer.render(Diagnostic(.runtime("\(error)"), s.range), in: source)
                errors(text)
                return RunResult(status: .runtime, outputs: outputs, diagnostics: [text])
            }
        }
        return RunResult(status: .ok, outputs: outputs, diagnostics: [])
    }
}

/// Notebook files: each statement's output stands under it as `#> ` lines.
public enum Notebook {
    static func isOutputLine<S: StringProtocol>(_ line: S) -> Bool {
        let t = line.drop { $0 == " " || $0 == "\t" }
        return t == "#>" || t.hasPrefix("#> ")
    }

    /// `text` with `outputs` written under their statements, replacing any earlier output
    /// lines. Line numbers are `text`'s own: the runner parses the notebook as it stands
    /// (output lines are comments), so errors point at the file's real lines.
    public static func compose(_ text: String, outputs: [(endLine: Int, text: String)]) -> String {
        var byLine: [Int: [String]] = [:]
        for (line, text) in outputs where !text.isEmpty { byLine[line, default: []].append(text) }
        var out: [String] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if isOutputLine(line) { continue }
            out.append(String(line))
            for text in byLine[i + 1] ?? [] {
                for l in text.split(separator: "\n", omittingEmptySubsequences: false) {
                    out.append(l.isEmpty ? "#>" : "#> " + l)
                }
            }
        }
        return out.joined(separator: "\n")
    }

    /// A unified diff of two texts (3 lines of context), empty when equal.
    public static func diff(_ a: String, _ b: String, from: String, to: String) -> String {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if x == y { return "" }
        // LCS table (scripts are small).
        let n = x.count, m = y.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && x[i] == y[j] { ops.append(.same(x[i])); i += 1; j += 1 }
            else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) { ops.append(.del(x[i])); i += 1 }
            else { ops.append(.add(y[j])); j += 1 }
        }
        var out = "--- \(from)\n+++ \(to)\n"
        var k = 0
        var ai = 1, bi = 1
        var positions: [(Int, Int)] = []
        for op in ops {
            positions.append((ai, bi))
            switch op {
            case .same: ai += 1; bi += 1
            case .del: ai += 1
            case .add: bi += 1
            }
        }
        while k < ops.count {
            if case .same = ops[k] { k += 1; continue }
            let start = max(0, k - 3)
            var end = k
            var lastChange = k
            while end < ops.count {
                if case .same = ops[end] { if end - lastChange > 6 { break } } else { lastChange = end }
                end += 1
            }
            end = min(ops.count, lastChange + 4)
            let (a0, b0) = positions[start]
            var ac = 0, bc = 0
            var body = ""
            for op in ops[start..<end] {
                switch op {
                case .same(let s): body += " \(s)\n"; ac += 1; bc += 1
                case .del(let s): body += "-\(s)\n"; ac += 1
                case .add(let s): body += "+\(s)\n"; bc += 1
                }
            }
            out += "@@ -\(a0),\(ac) +\(b0),\(bc) @@\n" + body
            k = end
        }
        return out
    }
}
