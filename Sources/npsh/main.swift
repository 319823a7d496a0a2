import ArgumentParser
import Foundation
import Interpreter
import Runtime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The thin executable: argument parsing and process plumbing. Everything else lives in
// the Interpreter and Runtime libraries.

let environment: [String: String] = {
    var env: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return env
}()

BLAS.ensureFastKernel(environment: environment, arguments: CommandLine.arguments)
BLAS.useSingleThread()

func writeOut(_ s: String) { writeAll(1, s) }
func writeErr(_ s: String) { writeAll(2, s) }

/// Unbuffered writes, so standard output and standard error interleave in order.
func writeAll(_ fd: Int32, _ s: String) {
    var bytes = Array(s.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 { if errno == EINTR { continue }; return }
        done += n
    }
}

func makeEvaluator(seed: UInt64?) -> Evaluator {
    // Absolute, so that running a script in its own folder does not move the cache.
    let store = BenchmarkStore(cacheDirectory: absolutePath(BenchmarkStore.defaultCacheDirectory(environment: environment)))
    Predictor.analysisDirectory = store.cacheDirectory
    let session = Session(store: store, output: { writeOut($0 + "\n") }, diagnostics: { writeErr($0 + "\n") })
    session.progress = ProgressReporter(terminal: isatty(2) == 1 && environment["TERM"] != "dumb", write: writeErr)
    if let seed { session.setSeed(seed) }
    return Evaluator(session: session)
}

/// A script's text, or exit 65 with one error when it is not UTF-8 text (a binary, an
/// image): such input would otherwise be one error per byte.
func scriptText(_ bytes: UnsafeRawBufferPointer, name: String) throws -> String {
    if let problem = ScriptText.problem(bytes) {
        writeErr("\(name): error: \(problem)\n")
        throw ExitCode(ExitStatus.syntax.rawValue)
    }
    return String(decoding: bytes, as: UTF8.self)
}

let colour = isatty(2) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"

struct NPSH: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "npsh",
        abstract: "A scripting shell for neural architecture search with a Neural Predictor.",
        version: "npsh 0.1.0",
        subcommands: [Repl.self, Run.self, Convert.self, Benchmark.self, TrainSynthetic.self, Trial.self, SearchTask.self, Kernel.self, Jupyter.self],
        defaultSubcommand: Repl.self)
}

struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl", abstract: "The interactive shell (the default). Reads a script when input is not a terminal.")

    @Option(help: "The session seed (default 0).") var seed: UInt64?

    func run() throws {
        let evaluator = makeEvaluator(seed: seed)
        if isatty(0) == 0 {
            // Not a terminal: run standard input as one script, without prompts.
            let text = try readAllStandardInput().withUnsafeBytes { try scriptText($0, name: "<stdin>") }
            let result = ScriptRunner(renderer: DiagnosticRenderer(colour: colour))
                .run(SourceFile(name: "<stdin>", text: text), evaluator: evaluator, echo: { writeOut($0 + "\n") }, errors: writeErr)
            evaluator.session.close()
            if result.status != .ok { throw ExitCode(result.status.rawValue) }
            return
        }
        // Ctrl-C stops a running command (checked between epochs and statements) and
        // returns to the prompt with the session intact.
        signal(SIGINT) { _ in Interrupt.request() }
        let history = (environment["HOME"].map { $0 + "/.npsh_history" })
        let reader = LineReader(interactive: true, historyPath: environment["NPSH_HISTORY"] ?? history)
        REPL(evaluator: evaluator, reader: reader, renderer: DiagnosticRenderer(colour: colour),
             write: writeOut, writeError: writeErr, resetInterrupt: { Interrupt.clear() }).run()
        evaluator.session.close()
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs a .npx script (or - for standard input).",
        discussion: "--update writes each statement's output under it as '#> ' lines; --check fails with a diff when the output differs.")

    @ArgumentParser.Argument(help: "The script, or - for standard input.") var file: String
    @Flag(help: "Rewrite the file with each statement's output under it.") var update = false
    @Flag(help: "Fail (exit 1) with a unified diff if any output differs from the file's.") var check = false
    @Option(help: "Overrides the session seed for the whole run.") var seed: UInt64?
    @Option(help: "Also write a self-contained HTML report: code, outputs, inline figures, errors.") var html: String?

    func validate() throws {
        if update && check { throw ValidationError("--update and --check cannot be combined") }
        if file == "-" && (update || check) { throw ValidationError("--update and --check need a file, not standard input") }
    }

    func run() throws {
        let startFolder = absolutePath(".")
        let text: String
        if file == "-" {
            text = try readAllStandardInput().withUnsafeBytes { try scriptText($0, name: "<stdin>") }
        } else {
            do {
                let f = try MappedFile(path: file, allowEmpty: true)
                text = try scriptText(f.bytes, name: file)
            } catch let e as RuntimeError {
                writeErr("npsh: \(e)\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
        }
        let evaluator = makeEvaluator(seed: nil)
        if let seed { evaluator.session.seedOverride = seed }
        let name = file == "-" ? "<stdin>" : file
        let scriptPath = absolutePath(file)
        if file != "-" {
            // The script runs in its own folder, as notebooks do: its relative paths mean the
            // same wherever npsh is started from.
            let folder = String(scriptPath[..<scriptPath.lastIndex(of: "/")!])
            if chdir(folder.isEmpty ? "/" : folder) != 0 {
                writeErr("npsh: \(file): cannot enter its folder\n")
                throw ExitCode(ExitStatus.usage.rawValue)
            }
            let given = file.contains("/") ? String(file[...file.lastIndex(of: "/")!]) : "./"
            evaluator.session.baseFolder = given
            evaluator.session.noteRead(scriptPath, as: "the script")
            evaluator.session.scriptPath = scriptPath
        }
        let runner = ScriptRunner(renderer: DiagnosticRenderer(colour: colour))
        let quiet = update || check
        // A report keeps each figure; otherwise figures go only where `plot … to` writes them.
        if html != nil { evaluator.session.display = { _, _ in } }
        let htmlPath = html.map { absolutePathFrom(startFolder, $0) }
        let result = runner.run(SourceFile(name: name, text: text), evaluator: evaluator,
                                echo: quiet ? nil : { writeOut($0 + "\n") }, errors: { writeErr($0) })
        if let htmlPath {
            let page = HTMLReport.render(name: name, text: text, result: result, figures: result.figures, seed: evaluator.session.seed,
                                         version: NPSH.configuration.version, date: isoDate())
            do { try evaluator.session.write(page, to: htmlPath) } catch let e as RuntimeError {
                writeErr("npsh: \(e)\n")
                throw ExitCode(ExitStatus.runtime.rawValue)
            }
            writeErr("wrote \(html!)\n")
        }
        evaluator.session.close()
        if result.status != .ok { throw ExitCode(result.status.rawValue) }
        if update || check {
            let composed = Notebook.compose(text, outputs: result.outputs)
            if update {
                if composed != text {
                    do { try FileWriter.write(composed, to: scriptPath) } catch let e as RuntimeError {
                        writeErr("npsh: \(e)\n")
                        throw ExitCode(ExitStatus.runtime.rawValue)
                    }
                }
                writeErr("updated \(file)\n")
            } else {
                let d = Notebook.diff(text, composed, from: file, to: "\(file) (this run)")
                if !d.isEmpty {
                    writeOut(d)
                    writeErr("npsh: \(file): output differs (see the diff above); run with --update to accept\n")
                    throw ExitCode(ExitStatus.checkFailed.rawValue)
                }
                writeErr("\(file): ok\n")
            }
        }
    }
}

struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark", abstract: "Measures npsh's data paths (see scripts/bench).", shouldDisplay: false)

    @ArgumentParser.Argument(help: "Which benchmark: io, predictor, fit, predict or trainer (or 'phase NAME', used by io itself).") var which: String = "io"
    @ArgumentParser.Argument(help: "With 'phase', the phase; with 'fit' or 'predict', the rounds (default 3); with 'predictor', a Python with torch; with 'trainer', the reference seconds.") var phase: String?
    @Option(help: "Folder for the generated files (default: a new temporary folder).") var dir: String?

    func run() throws {
        switch which {
        case "io": try IOBenchmark.run(directory: dir, report: writeOut)
        case "parity-fixture":
            guard let phase else { throw ValidationError("'parity-fixture' needs an output path") }
            let store = BenchmarkStore(cacheDirectory: BenchmarkStore.defaultCacheDirectory(environment: environment))
            let catalog = try store.catalog()
            try FileWriter.write(JSONWriter.write(ParityFixture.make(catalog: catalog, table: SyntheticLandscape.table(catalog))) + "\n", to: phase)
        case "predictor":
            try PredictorBenchmark.run(reference: phase, report: writeOut)
        case "fit":
            try PredictorBenchmark.runFit(rounds: phase.flatMap(Int.init) ?? 3, report: writeOut)
        case "predict":
            try PredictorBenchmark.runPredict(rounds: phase.flatMap(Int.init) ?? 3, report: writeOut)
        case "trainer":
            try TrainerBenchmark.run(directory: dir ?? makeTemporaryDirectory(prefix: "npsh-bench-trainer"), trials: 2000,
                                     reference: phase.flatMap(Double.init), report: writeOut)
        case "phase":
            guard let phase, let dir else { throw ValidationError("'phase' needs a phase name and --dir") }
            let (seconds, kib) = try IOBenchmark.phase(phase, directory: dir)
            writeOut("\(seconds) \(kib)\n")
        default: throw ValidationError("unknown benchmark '\(which)'; available: io, predictor, fit, predict, trainer")
        }
    }
}

/// The trainer `bench trainer synthetic` runs: npsh itself, through the same subprocess
/// machinery as a user's trainer (see SyntheticTrainer).
struct TrainSynthetic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-synthetic", abstract: "The synthetic trainer (run by bench trainer synthetic).", shouldDisplay: false)

    @Option(help: "The architecture's JSON file.") var arch: String
    @Option(help: "Where to write the result.") var result: String
    @Option(help: "The trial's seed: which recorded run is reported.") var seed: UInt64 = 0
    @Option(help: "The share of architectures that fail for good (exit 3).") var fail: Double = 0

    func run() throws {
        let delay = environment["NPSH_SYNTHETIC_DELAY"].flatMap(Double.init) ?? 0
        let (status, message) = SyntheticTrainer.run(archPath: arch, resultPath: result, seed: seed, fail: fail, delay: delay)
        if !message.isEmpty { writeErr("npsh train-synthetic: \(message)\n") }
        if status != 0 { throw ExitCode(status) }
    }
}

struct Trial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trial", abstract: "Runs trials for a driver elsewhere (a Slurm array task).", shouldDisplay: false,
        subcommands: [Exec.self])

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec", abstract: "Runs one task of a job array's folder: one attempt, then its outcome file.")

        @ArgumentParser.Argument(help: "The array's folder (it holds tasks.json).") var batch: String
        @ArgumentParser.Argument(help: "The task's index ($SLURM_ARRAY_TASK_ID).") var index: Int

        func run() throws {
            // scancel and a time limit send SIGTERM: end the trainer's group, write nothing.
            signal(SIGTERM) { _ in Interrupt.request() }
            signal(SIGINT) { _ in Interrupt.request() }
            do {
                let task = try SlurmTask.read(batch: batch, index: index)
                let status = try task.execute()
                if status != 0 { throw ExitCode(status) }
            } catch let e as RuntimeError {
                writeErr("npsh trial exec: \(e)\n")
                throw ExitCode(1)
            }
        }
    }
}

struct SearchTask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Runs a share of a search's runs for a driver elsewhere (a Slurm array task).",
        shouldDisplay: false, subcommands: [Exec.self])

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "exec", abstract: "Runs task T of a search job; writes its traces.")

        @ArgumentParser.Argument(help: "The job file the driver wrote.") var job: String
        @ArgumentParser.Argument(help: "The task's number.") var task: Int
        @ArgumentParser.Argument(help: "The result file that marks success.") var result: String

        func run() throws {
            signal(SIGTERM) { _ in Interrupt.request() }
            do {
                try SearchJob.execute(job: job, task: task, resultPath: result)
            } catch let e as RuntimeError {
                writeErr("npsh search exec: \(e)\n")
                throw ExitCode(1)
            }
        }
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Converts a notebook: .npx to Jupyter's .ipynb, or back.",
        discussion: "Comments become markdown cells, statements code cells, '#> ' lines their outputs. npx → ipynb → npx gives the same bytes.")

    @ArgumentParser.Argument(help: "The notebook to convert (.npx or .ipynb).") var file: String
    @Option(help: "The format to write: ipynb or npx.") var to: String
    @Option(name: .shortAndLong, help: "Where to write it (default: the file's name with the new extension).") var output: String?

    func run() throws {
        guard to == "ipynb" || to == "npx" else { throw ValidationError("--to is ipynb or npx") }
        let base = file.hasSuffix(".npx") ? String(file.dropLast(4)) : file.hasSuffix(".ipynb") ? String(file.dropLast(6)) : file
        let target = output ?? base + "." + to
        do {
            guard absolutePath(target) != absolutePath(file) else { throw RuntimeError.wouldOverwriteInput(target, role: "the notebook being converted") }
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw RuntimeError.fileNotFound(file) }
            let text: String
            if to == "ipynb" {
                guard let s = String(data: data, encoding: .utf8) else { throw RuntimeError.malformed(DataPlace(file: file), .json("not UTF-8 text")) }
                text = NotebookConvert.toIPYNB(s)
            } else {
                text = try NotebookConvert.toNPX(data, path: file)
            }
            try FileWriter.write(text, to: target, durable: true)
            writeOut("wrote \(target)\n")
        } catch let e as RuntimeError {
            writeErr("npsh convert: \(e)\n")
            throw ExitCode(1)
        }
    }
}

struct Kernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel", abstract: "npsh for a notebook front end: JSON lines on standard input and output (see npsh jupyter).")

    @Flag(help: "Speak JSON lines over standard input and output (the only mode).") var stdio = false
    @Option(help: "The session seed (default 0).") var seed: UInt64?

    func run() throws {
        guard stdio else { throw ValidationError("npsh kernel speaks JSON lines: npsh kernel --stdio") }
        let evaluator = makeEvaluator(seed: seed)
        let session = evaluator.session
        // Standard output carries only events; progress goes where the server sends notes.
        session.output = { writeErr($0 + "\n") }
        session.progress = ProgressReporter(terminal: false, write: { [unowned session] text in session.diagnostics(String(text.dropLast())) })
        // The front end's interrupt button: stop the running statement, keep the session.
        signal(SIGINT) { _ in Interrupt.request() }
        let server = KernelServer(evaluator: evaluator, writeLine: { writeOut($0 + "\n") })
        let reader = LineInput(fd: 0)
        server.run(readLine: { reader.next() })
        session.close()
    }
}

struct Jupyter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jupyter", abstract: "Jupyter: install the npsh kernel.", subcommands: [Install.self])

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install",
            abstract: "Registers the npsh kernel (kernel.json, its Python wrapper, a logo) for JupyterLab, Notebook and VS Code.",
            discussion: "The wrapper needs a Python with ipykernel 7 (--python). Where: --user (~/.local/share/jupyter), --sys-prefix (that Python's environment) or --prefix P.")

        @Flag(help: "Install for this user.") var user = false
        @Flag(help: "Install into the Python's environment (sys.prefix).") var sysPrefix = false
        @Option(help: "Install under this prefix (P/share/jupyter/kernels/npsh).") var prefix: String?
        @Option(help: "The Python that runs the wrapper (it needs ipykernel).") var python = "python3"

        func run() throws {
            do {
                let folder = try JupyterInstall.install(python: python, user: user, sysPrefix: sysPrefix, prefix: prefix,
                                                        npsh: currentExecutable(), environment: environment)
                writeOut("installed the npsh kernel in \(folder)\n")
            } catch let e as RuntimeError {
                writeErr("npsh jupyter install: \(e)\n")
                throw ExitCode(1)
            }
        }
    }
}

/// `path` as given on the command line, made absolute from the folder npsh started in.
func absolutePathFrom(_ folder: String, _ path: String) -> String { path.hasPrefix("/") ? path : folder + "/" + path }

/// Now, in UTC, as 2026-12-01 18:40 UTC (a report's footer: the one line that differs between runs).
func isoDate() -> String {
    var t = time(nil)
    var tm = tm()
    gmtime_r(&t, &tm)
    func two(_ x: Int32) -> String { x < 10 ? "0\(x)" : "\(x)" }
    return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday)) \(two(tm.tm_hour)):\(two(tm.tm_min)) UTC"
}

func readAllStandardInput() -> [UInt8] {
    var data: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(0, &buf, buf.count)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    return data
}

NPSH.main()
