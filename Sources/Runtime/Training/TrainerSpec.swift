#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The trainer contract (docs/training.md): the user's training command, given as an argv
// template, never a shell string. Placeholders are replaced inside single arguments and
// never split or re-parsed; the same values are in the environment.

/// A user's training command and how to run it.
public struct TrainerSpec: Sendable {
    /// The argv template; argv[0] is the program (a path, or a name looked up on PATH).
    public var argv: [String]
    /// Trials running at once.
    public var parallel: Int
    /// Seconds one attempt may run before its process group is ended; nil: no limit.
    public var timeout: Double?
    /// How many times a failed attempt is tried again (exit 3 never is).
    public var retries: Int
    /// Seconds between SIGTERM and SIGKILL when a trainer is ended.
    public var grace: Double
    /// The seed every trial's `{seed}` derives from (with the architecture's identity).
    public var seed: UInt64
    /// The metric the space trains for ("val_acc", "val_loss", …): part of the spec's identity.
    public var metric: String
    /// Bytes of standard output and of standard error kept per attempt.
    var logCap: Int
    /// Variables added to every trial's environment; not part of the identity (the
    /// synthetic trainer's delay).
    public var environment: [(String, String)] = []

    static let placeholders = ["arch", "result", "trial", "seed", "dir"]
    /// Exit status meaning "this architecture failed for good": never retried.
    static let permanentFailureStatus: Int32 = 3

    public init(argv: [String], parallel: Int = 1, timeout: Double? = nil, retries: Int = 0, grace: Double = 10, seed: UInt64 = 0,
                metric: String, logCap: Int = 1 << 20) {
        self.argv = argv
        self.parallel = parallel
        self.timeout = timeout
        self.retries = retries
        self.grace = grace
        self.seed = seed
        self.metric = metric
        self.logCap = logCap
    }

    /// The identity of what a result means: the argv template, the metric and the seed. Not
    /// parallel, timeout or retries, which change how trials run, not what they return.
    public var identity: String {
        var text = "npsh-trainer-1\u{0}\(metric)\u{0}\(seed)"
        for a in argv { text += "\u{0}" + a }
        return MD5.digest(text).hex
    }

    /// Checks the template: not empty, known placeholders only, balanced braces, and a
    /// program that exists and may be executed (`program` when given, else argv[0] looked
    /// up). Returns the program's resolved path.
    public func validate(searchPath: String?, program given: String? = nil) throws -> String {
        guard let program = argv.first, !program.isEmpty else {
            throw RuntimeError.trainer(.emptyCommand)
        }
        for (i, a) in argv.enumerated() {
            _ = try Self.substitute(a, [:], argument: i, checkOnly: true)
        }
        guard !program.contains("{") else { throw RuntimeError.trainer(.placeholderInProgram(program)) }
        return try Self.resolve(given ?? program, searchPath: searchPath)
    }

    /// `program` as a path to an executable file: itself when it holds a slash, else the
    /// first match on PATH.
    static func resolve(_ program: String, searchPath: String?) throws -> String {
        func executable(_ p: String) -> Bool {
            guard let st = fileStatus(p), !st.isDirectory else { return false }
            return access(p, X_OK) == 0
        }
        if program.contains("/") {
            guard fileStatus(program) != nil else { throw RuntimeError.trainer(.notFound(program)) }
            guard executable(program) else { throw RuntimeError.trainer(.notExecutable(program)) }
            return program
        }
        for dir in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(program)"
            if executable(p) { return p }
        }
        throw RuntimeError.trainer(.notFound(program))
    }

    /// One argument with its placeholders replaced; `{{` and `}}` are literal braces.
    static func substitute(_ text: String, _ values: [String: String], argument: Int, checkOnly: Bool = false) throws -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "{" {
                if next < text.endIndex && text[next] == "{" { out.append("{"); i = text.index(after: next); continue }
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw RuntimeError.trainer(.badPlaceholder(argument: argument, text: text, name: nil))
                }
                let name = String(text[next..<close])
                guard placeholders.contains(name) else {
                    throw RuntimeError.trainer(.badPlaceholder(argument: argument, text: text, name: name))
                }
                if !checkOnly { out += values[name] ?? "" }
                i = text.index(after: close)
            } else if c == "}" {
                guard next < text.endIndex && text[next] == "}" else {
                    throw RuntimeError.trainer(.badPlaceholder(argument: argument, text: text, name: nil))
                }
                out.append("}")
                i = text.index(after: next)
            } else {
                out.append(c)
                i = next
            }
        }
        return out
    }

    /// The argv of one trial.
    public func argv(for values: [String: String]) throws -> [String] {
        try argv.enumerated().map { try Self.substitute($1, values, argument: $0) }
    }

    /// The seed passed to one architecture's trial: stable for (spec seed, architecture).
    func trialSeed(_ hash: Digest128) -> UInt64 {
        var r = RandomStream(seed: seed, path: [.name("trial"), .index(hash.hi), .index(hash.lo)])
        return r.next() >> 33
    }
}

/// What a trainer wrote to `{result}`.
public struct TrialResult: Sendable, Equatable {
    public var metric: Double
    public var test: Double
    /// Seconds of training the trainer reported; NaN when it did not say.
    public var time: Double
    /// The "extra" object, as JSON text ("" when absent).
    public var extra: String

    public init(metric: Double, test: Double = .nan, time: Double = .nan, extra: String = "") {
        self.metric = metric
        self.test = test
        self.time = time
        self.extra = extra
    }

    public static func == (a: TrialResult, b: TrialResult) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return same(a.metric, b.metric) && same(a.test, b.test) && same(a.time, b.time) && a.extra == b.extra
    }

    /// Results larger than this are refused, not read.
    static let maxBytes = 1 << 20

    /// Reads and checks a result file. `range` is the metric's valid range in the space's
    /// unit (accuracies as fractions: 0…1), nil for a loss. The error says what is wrong.
    public static func read(_ path: String, range: ClosedRange<Double>?) -> Result<TrialResult, TrialProblem> {
        guard let st = fileStatus(path), !st.isDirectory else { return .failure(.noResult) }
        guard st.size <= maxBytes else { return .failure(.resultTooLarge(st.size)) }
        let file: MappedFile
        do { file = try MappedFile(path: path, allowEmpty: true) } catch { return .failure(.resultNotJSON("\(error)")) }
        let v: JSONValue
        do { v = try JSONValue.parse(file.bytes.bindMemory(to: UInt8.self), allowNonFinite: true) } catch {
            return .failure(.resultNotJSON("\(error)"))
        }
        guard case .object = v else { return .failure(.resultNotJSON("expected an object {\"metric\": …}")) }
        func number(_ key: String, required: Bool) -> Result<Double, TrialProblem> {
            guard let x = v[key], x != .null else { return required ? .failure(.missingMetric) : .success(.nan) }
            guard let n = x.number else { return .failure(.badValue(key, "is not a number")) }
            guard n.isFinite else { return .failure(.badValue(key, "is \(n)")) }
            return .success(n)
        }
        do {
            let metric = try number("metric", required: true).get()
            let test = try number("test", required: false).get()
            let time = try number("time", required: false).get()
            if let r = range {
                if !r.contains(metric) { return .failure(.badValue("metric", "is \(metric), outside \(rangeText(r)) (the space's unit)")) }
                if !test.isNaN && !r.contains(test) { return .failure(.badValue("test", "is \(test), outside \(rangeText(r))")) }
            }
            if !time.isNaN && time < 0 { return .failure(.badValue("time", "is negative")) }
            var extra = ""
            if let e = v["extra"], e != .null {
                guard case .object = e else { return .failure(.badValue("extra", "is not an object")) }
                extra = JSONWriter.write(e)
            }
            return .success(TrialResult(metric: metric, test: test, time: time, extra: extra))
        } catch {
            return .failure(error)
        }
    }

    static func rangeText(_ r: ClosedRange<Double>) -> String { "[\(formatSignificant(r.lowerBound, digits: 6)), \(formatSignificant(r.upperBound, digits: 6))]" }
}

/// Why one attempt did not produce a result.
public enum TrialProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case timedOut(Double)
    case noResult
    case resultTooLarge(Int)
    case resultNotJSON(String)
    case missingMetric
    case badValue(String, String)
    case couldNotStart(String)
    case permanent
    case interrupted
    /// A Slurm task that left the queue without an outcome (cancelled, preempted, node lost);
    /// what sacct says of it when accounting is there.
    case lost(String)

    public var description: String {
        switch self {
        case .exited(let c): return "exited with status \(c)"
        case .signaled(let s): return "was killed by signal \(s)"
        case .timedOut(let t): return "ran past its timeout of \(formatSignificant(t, digits: 6)) s and was ended"
        case .noResult: return "exited 0 but wrote no result file"
        case .resultTooLarge(let n): return "wrote a result of \(formatCount(n)) bytes (at most \(formatCount(TrialResult.maxBytes)))"
        case .resultNotJSON(let m): return "wrote a result that is not a JSON object: \(m)"
        case .missingMetric: return "wrote a result without \"metric\""
        case .badValue(let k, let m): return "wrote a result whose \"\(k)\" \(m)"
        case .couldNotStart(let m): return "could not start: \(m)"
        case .permanent: return "exited with status 3: failed for good, not retried"
        case .interrupted: return "was stopped by Ctrl-C"
        case .lost(let m): return "ended on Slurm without an outcome (\(m))"
        }
    }
}

/// Problems with a trainer or its ledger, before or between trials.
public enum TrainerProblem: Sendable, Equatable, CustomStringConvertible {
    case emptyCommand
    case notFound(String)
    case notExecutable(String)
    case placeholderInProgram(String)
    case badPlaceholder(argument: Int, text: String, name: String?)
    case ledgerLocked(String, holder: String)
    case ledgerForeign(String, reason: String)
    case ledgerSpace(String, ledger: String, session: String)
    case failed(trial: String, arch: String, problem: String, log: String, logTail: [String])
    case cannotTrain(String)
    /// sbatch refused a job array; Slurm's own message is quoted.
    case slurmRefused(command: String, message: String)
    /// A Slurm command could not run or answered nonsense.
    case slurmFailed(command: String, message: String)
    /// `dir=` of a Slurm trainer cannot hold the run's files.
    case slurmFolder(String, reason: String)

    public var description: String {
        switch self {
        case .emptyCommand: return "the trainer command is empty; give [\"program\", \"arg\", …]"
        case .notFound(let p): return "trainer program '\(p)' not found\(p.contains("/") ? "" : " on PATH")"
        case .notExecutable(let p): return "trainer program '\(p)' is not executable (chmod +x, or name its interpreter first: [\"python3\", \"\(p)\", …])"
        case .placeholderInProgram(let p): return "the trainer's program '\(p)' cannot hold a placeholder"
        case .badPlaceholder(let i, let text, let name):
            let known = TrainerSpec.placeholders.map { "{\($0)}" }.joined(separator: ", ")
            if let name { return "unknown placeholder {\(name)} in trainer argument \(i + 1) \"\(text)\"; known: \(known) (write {{ and }} for braces)" }
            return "unbalanced brace in trainer argument \(i + 1) \"\(text)\"; placeholders are \(known), and {{ }} are literal braces"
        case .ledgerLocked(let p, let holder): return "\(p): the ledger is in use by \(holder); wait for it to finish or stop it"
        case .ledgerForeign(let p, let r): return "\(p): not an npsh ledger: \(r)"
        case .ledgerSpace(let p, let l, let s): return "\(p): the ledger holds trials of space \(l), not \(s); choose another ledger=\"…\""
        case .failed(let trial, let arch, let problem, let log, let tail):
            var s = "trial \(trial) (architecture \(arch)) \(problem); log: \(log)"
            if !tail.isEmpty { s += "\n" + tail.map { "  | " + $0 }.joined(separator: "\n") }
            return s
        case .cannotTrain(let m): return m
        case .slurmRefused(let c, let m): return "Slurm refused the job array (\(c)): \(m)"
        case .slurmFailed(let c, let m): return "\(c) failed: \(m)"
        case .slurmFolder(let p, let r):
            return "\(p): dir= must be a folder that npsh and every node can write (\(r)); give dir=\"/shared/…\""
        }
    }
}
