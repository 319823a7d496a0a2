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
    /// The figures drawn (when the session has a `display`), with their statement's last line.
    public var figures: [(endLine: Int, svg: String)] = []

    public init(status: ExitStatus, outputs: [(endLine: Int, text: String)], diagnostics: [String], figures: [(endLine: Int, svg: String)] = []) {
        self.status = status
        self.outputs = outputs
        self.diagnostics = diagnostics
        self.figures = figures
    }
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
        let savedOutput = session.output, savedDisplay = session.display
        defer { session.output = savedOutput; session.display = savedDisplay }
        var figures: [(endLine: Int, svg: String)] = []
        for s in statements {
            let endLine = source.location(max(s.range.start, s.range.end - 1)).line
            if let display = savedDisplay {
                session.display = { svg, text in
                    figures.append((endLine, svg))
                    display(svg, text)
                }
            }
            var lines: [String] = []
            session.output = { text in
                lines.append(text)
                echo?(text)
            }
            do {
                try evaluator.execute(s)
                outputs.append((endLine, lines.joined(separator: "\n")))
            } catch let d as Diagnostic {
                let text = renderer.render(d, in: source)
                errors(text)
                return RunResult(status: .runtime, outputs: outputs, diagnostics: [text], figures: figures)
            } catch {
                let text = renderer.render(Diagnostic(.runtime("\(error)"), s.range), in: source)
                errors(text)
                return RunResult(status: .runtime, outputs: outputs, diagnostics: [text], figures: figures)
            }
        }
        return RunResult(status: .ok, outputs: outputs, diagnostics: [], figures: figures)
    }
}
