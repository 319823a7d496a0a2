#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Where trials run. A trainer bench hands its jobs to one backend — local processes (the
// launcher) or a Slurm cluster — and hears back, per attempt, the same callbacks: an attempt
// will start (the ledger's intent row), an attempt ended (its outcome). Everything else —
// which trials to run, the ledger, reuse, the order of results — is shared.

protocol TrialBackend: AnyObject {
    /// Runs every job to a final outcome (or until `stop` says so); returns whether `stop`
    /// ended the run early. See `Launcher.run` for the callbacks' contract.
    func run(
        _ jobs: [TrialJob],
        willStart: (TrialJob, Int) throws -> Void,
        finished: (TrialJob, Int, AttemptOutcome, Double) throws -> Void,
        status: (LaunchStatus) -> Void,
        stop: () -> Bool
    ) throws -> Bool

    /// Where trial folders live: "<ledger>.trials" locally, beneath `dir=` on Slurm (a
    /// folder the nodes see).
    func trialsFolder(ledgerBase: String) -> String
}

extension Launcher: TrialBackend {
    func trialsFolder(ledgerBase: String) -> String { absolutePath(ledgerBase) + ".trials" }
}

// MARK: - An attempt's outcome as a file

/// The outcome of one attempt run away from the driver (a Slurm task), as the file
/// "outcome-<attempt>.json" in the trial's folder. The task writes it once, atomically
/// (temporary file, fsync, link): a task that runs twice (preempted, requeued) cannot
/// replace the first outcome, so the driver records each attempt once.
public enum OutcomeFile {
    public static func path(directory: String, attempt: Int) -> String { directory + "/outcome-\(attempt).json" }

    static func json(_ outcome: AttemptOutcome, seconds: Double) -> String {
        switch outcome {
        case .success:
            return "{\"status\": \"done\", \"seconds\": \(JSONWriter.number(seconds))}\n"
        case .failure(let problem, _):
            return "{\"status\": \"failed\", \"seconds\": \(JSONWriter.number(seconds)), \"problem\": \(problem.json)}\n"
        case .interrupted:
            return "{\"status\": \"interrupted\", \"seconds\": \(JSONWriter.number(seconds))}\n"
        }
    }

    /// Writes the outcome unless one is already there; returns whether this call wrote it.
    @discardableResult
    public static func write(_ outcome: AttemptOutcome, seconds: Double, directory: String, attempt: Int) throws -> Bool {
        let final = path(directory: directory, attempt: attempt)
        let temporary = final + ".\(getpid()).tmp"
        try FileWriter.write(json(outcome, seconds: seconds), to: temporary, durable: true)
        defer { unlink(temporary) }
        if link(temporary, final) == 0 { return true }
        if errno == EEXIST { return false }
        throw RuntimeError.unwritable(final, reason: String(cString: strerror(errno)))
    }

    /// Reads an outcome file; nil while there is none. A success re-reads the trainer's
    /// result file with the same checks as a local attempt. Whether a failure is final is
    /// the driver's to decide (`final` is false here).
    public static func read(directory: String, attempt: Int, resultPath: String, range: ClosedRange<Double>?) -> (AttemptOutcome, Double)? {
        let p = path(directory: directory, attempt: attempt)
        guard let st = fileStatus(p), !st.isDirectory, st.size < 1 << 20 else { return nil }
        guard let file = try? MappedFile(path: p, allowEmpty: true),
              let v = try? JSONValue.parse(file.bytes.bindMemory(to: UInt8.self)) else {
            return (.failure(.resultNotJSON("the task's outcome file \(p) is unreadable"), final: false), 0)
        }
        let seconds = v["seconds"]?.number ?? .nan
        switch v["status"]?.string {
        case "done":
            switch TrialResult.read(resultPath, range: range) {
            case .success(let r): return (.success(r), seconds)
            case .failure(let problem): return (.failure(problem, final: false), seconds)
            }
        case "interrupted": return (.interrupted, seconds)
        default:
            let problem = v["problem"].flatMap(TrialProblem.init(json:)) ?? .resultNotJSON("the task's outcome file \(p) names no problem")
            return (.failure(problem, final: false), seconds)
        }
    }
}

extension TrialProblem {
    /// The problem as a JSON object, for an outcome file.
    var json: String {
        func o(_ kind: String, _ fields: [(String, String)] = []) -> String {
            "{" + ([("kind", JSONWriter.quote(kind))] + fields).map { "\(JSONWriter.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        switch self {
        case .exited(let c): return o("exited", [("code", String(c))])
        case .signaled(let s): return o("signaled", [("signal", String(s))])
        case .timedOut(let t): return o("timed_out", [("seconds", JSONWriter.number(t))])
        case .noResult: return o("no_result")
        case .resultTooLarge(let n): return o("result_too_large", [("bytes", String(n))])
        case .resultNotJSON(let m): return o("result_not_json", [("message", JSONWriter.quote(m))])
        case .missingMetric: return o("missing_metric")
        case .badValue(let k, let m): return o("bad_value", [("key", JSONWriter.quote(k)), ("message", JSONWriter.quote(m))])
        case .couldNotStart(let m): return o("could_not_start", [("message", JSONWriter.quote(m))])
        case .permanent: return o("permanent")
        case .interrupted: return o("interrupted")
        case .lost(let m): return o("lost", [("message", JSONWriter.quote(m))])
        }
    }

    init?(json v: JSONValue) {
        let int = (v["code"]?.number ?? v["signal"]?.number).flatMap { $0.isFinite && abs($0) < 1e9 ? Int($0) : nil }
        let message = v["message"]?.string ?? ""
        switch v["kind"]?.string {
        case "exited": self = .exited(Int32(clamping: int ?? 1))
        case "signaled": self = .signaled(Int32(clamping: int ?? 9))
        case "timed_out": self = .timedOut(v["seconds"]?.number ?? 0)
        case "no_result": self = .noResult
        case "result_too_large": self = .resultTooLarge(v["bytes"]?.number.flatMap { $0.isFinite && $0 >= 0 && $0 < 1e15 ? Int($0) : nil } ?? 0)
        case "result_not_json": self = .resultNotJSON(message)
        case "missing_metric": self = .missingMetric
        case "bad_value": self = .badValue(v["key"]?.string ?? "metric", message)
        case "could_not_start": self = .couldNotStart(message)
        case "permanent": self = .permanent
        case "interrupted": self = .interrupted
        case "lost": self = .lost(message)
        default: return nil
        }
    }
}
