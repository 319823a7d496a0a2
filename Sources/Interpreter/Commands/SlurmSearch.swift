import Foundation
import Runtime

// `search … runs=R on slurm tasks=T`: a search's runs spread over a Slurm job array. The
// driver writes a job file (the benchmark to open, the method with every setting, the seed,
// the runs), submits T tasks through the same Slurm backend as trials, and merges the
// tasks' traces in run order with the same arithmetic as a local search, so the curve is
// byte for byte the local one. Each task runs `npsh search exec JOB T`: it opens the
// benchmark as the driver did and runs its share of runs, each from its own stream.

/// How a session's benchmark table was opened.
public enum BenchOrigin: Codable, Sendable, Equatable {
    case synthetic
    case file(path: String, metric: String?)
}

/// What one Slurm task of a search needs: written by the driver, read by `search exec`.
public struct SearchJob: Codable, Sendable {
    public var origin: BenchOrigin
    public var method: SearchMethod
    public var seed: UInt64
    public var name: String
    public var runs: Int
    public var tasks: Int
    /// The benchmark cache the driver uses (NPSH_CACHE), so tasks read the same files.
    public var cache: String

    /// Task `t`'s runs: a contiguous share, the first `runs % tasks` tasks one longer.
    public func runs(of t: Int) -> Range<Int> {
        let base = runs / tasks, extra = runs % tasks
        let start = t * base + min(t, extra)
        return start..<(start + base + (t < extra ? 1 : 0))
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// Opens the benchmark as the driver's session did.
    static func open(_ origin: BenchOrigin, store: BenchmarkStore) throws -> any Bench {
        switch origin {
        case .synthetic: return try Session.synthetic(store)
        case .file(let path, let metric):
            if let loader = try GraphBenchmark.sniff(path) { return try loader(path) }
            return try store.open(path, metric: metric).0
        }
    }

    /// `npsh search exec JOB T`: runs task `t`'s share and writes its traces, then the
    /// result file that tells the task's launcher it succeeded.
    public static func execute(job path: String, task t: Int, resultPath: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw RuntimeError.fileNotFound(path) }
        let job: SearchJob
        do { job = try decoder().decode(SearchJob.self, from: data) } catch {
            throw RuntimeError.malformed(DataPlace(file: path), .json("not a search job npsh wrote (\(error))"))
        }
        guard t >= 0, t < job.tasks else { throw RuntimeError.malformed(DataPlace(file: path), .json("no task \(t) (the job has \(job.tasks))")) }
        let store = BenchmarkStore(cacheDirectory: job.cache)
        let bench = try open(job.origin, store: store)
        var problem = try SearchProblem(bench: bench)
        problem.catalog = { try Session.catalog(store) }
        let traces = try Search.traces(job.method, on: problem, runs: job.runs(of: t), seed: job.seed, name: job.name) { _ in !Interrupt.isRequested }
        let folder = String(resultPath[..<(resultPath.lastIndex(of: "/") ?? resultPath.startIndex)])
        let text = String(decoding: try encoder().encode(traces), as: UTF8.self)
        try FileWriter.write(text + "\n", to: folder + "/traces.json", durable: true)
        try FileWriter.write("{\"metric\": \(traces.count)}\n", to: resultPath, durable: true)
    }
}

extension Builtins {
    /// The options `search` takes to run on Slurm.
    static let searchSlurmOptions: [Param] = [
        Param("tasks", .integer(min: 1), "slurm: array tasks the runs are split over", default: "min(runs, 10)"),
        Param("retries", .integer(min: 0), "slurm: resubmissions of a task that failed or was lost", value: .integer(1)),
    ] + slurmOptions

    /// Runs a search's runs as one Slurm job array and merges them in run order.
    static func searchOnSlurm(_ method: SearchMethod, runs: Int, seed: UInt64, name: String, _ slurm: SlurmOptions, _ session: Session,
                              _ args: Arguments) throws -> SearchCurve {
        var options = slurm
        let tasks = min(args.integer("tasks") ?? min(runs, 10), runs)
        let job = SearchJob(origin: session.benchOrigin ?? .synthetic, method: method, seed: seed, name: name, runs: runs, tasks: tasks,
                            cache: absolutePath(session.store.cacheDirectory))
        let text = String(decoding: try SearchJob.encoder().encode(job), as: UTF8.self) + "\n"
        // One folder per distinct job: a rerun of the same search finds its own files.
        let id = String(MD5.digest(text).hex.prefix(12))
        options.dir = absolutePath(options.dir)
        let folder = options.dir + "/searches/search-" + id
        try makeDirectory(folder)
        let jobPath = folder + "/job.json"
        try FileWriter.write(text, to: jobPath, durable: true)
        var spec = TrainerSpec(argv: [options.executable, "search", "exec", jobPath], metric: "runs")
        spec.retries = args.integer("retries")!
        spec.timeout = nil
        let jobs = try (0..<tasks).map { t -> TrialJob in
            let dir = folder + "/task-\(t)"
            try makeDirectory(dir)
            return TrialJob(index: t, trial: "search-\(id)-\(t)", program: options.executable,
                            argv: [options.executable, "search", "exec", jobPath, String(t), dir + "/result.json"],
                            environment: [], directory: dir, resultPath: dir + "/result.json")
        }
        let progress = session.progress
        progress.start("search \(name) on slurm", total: tasks, unit: "task")
        defer { progress.finish() }
        var failures: [String] = []
        func jobRuns(_ t: Int) -> String { let r = job.runs(of: t); return "\(r.lowerBound)…\(r.upperBound - 1)" }
        let backend = SlurmBackend(options: options, spec: spec, range: nil)
        let stopped = try backend.run(
            jobs, willStart: { _, _ in },
            finished: { job, attempt, outcome, _ in
                guard case .failure(let problem, let final) = outcome else { return }
                var log = job.stderrPath, tail = tailLines(log)
                if tail.isEmpty { log = job.stdoutPath; tail = tailLines(log) }
                let text = TrainerProblem.failed(trial: job.trial, arch: "runs \(jobRuns(job.index))", problem: problem.description,
                                                 log: log, logTail: tail).description
                if final { failures.append(text) } else { session.diagnostics("note: retrying (attempt \(attempt + 1)): " + text) }
            },
            status: { progress.update($0.done + $0.failed) },
            stop: { session.interruptRequested() })
        if stopped { throw RuntimeError.interrupted("the search on Slurm (its tasks were cancelled)") }
        if let first = failures.first { throw RuntimeError.trainer(.cannotTrain("the search's task failed: " + first)) }
        var traces: [RunTrace] = []
        for t in 0..<tasks {
            let path = folder + "/task-\(t)/traces.json"
            let part: [RunTrace]
            do { part = try SearchJob.decoder().decode([RunTrace].self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw RuntimeError.malformed(DataPlace(file: path), .json("the task's traces are unreadable (\(error))"))
            }
            guard part.count == job.runs(of: t).count else {
                throw RuntimeError.malformed(DataPlace(file: path), .json("\(part.count) traces for \(job.runs(of: t).count) runs"))
            }
            traces += part
        }
        return Search.curve(method, name: name, traces: traces)
    }
}
