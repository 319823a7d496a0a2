import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Trials on a Slurm cluster. npsh stays the driver — it submits, watches, retries and
// records in the ledger — and Slurm runs: each batch of trials is one job array, and each
// array task runs `npsh trial exec BATCH INDEX`, which runs one attempt through the same
// launcher as a local trial (contract, timeout, log capture) and writes the attempt's
// outcome file once, atomically, in the trial's folder under `dir=`.
//
// The driver learns what happened from those files and from one `squeue` per poll; it
// never needs `sacct` (clusters without accounting work), but asks it, where it answers,
// why a task left the queue without an outcome. Job names carry the run (the trainer spec's
// identity), so a driver killed with kill -9 and started again finds the run's arrays still
// queued or running and adopts them instead of submitting their trials again.

/// Where and how trials are submitted (`bench trainer […] on slurm …`).
public struct SlurmOptions: Sendable, Equatable {
    public var partition: String?
    public var time: String?
    public var gres: String?
    public var cpus: Int?
    public var mem: String?
    public var account: String?
    public var qos: String?
    /// At most this many tasks of one array run at once (`--array=…%N`).
    public var arrayLimit: Int?
    /// More sbatch arguments, each one argv element ("--constraint=a100").
    public var args: [String] = []
    /// A folder the driver and every node see: trial folders and job arrays live here.
    public var dir: String
    /// Seconds between two looks at the queue.
    public var poll: Double = 5
    /// The npsh the tasks run (this executable: it must be at the same path on the nodes).
    public var executable: String

    public init(dir: String, executable: String) {
        self.dir = dir
        self.executable = executable
    }

    /// sbatch's options, in a fixed order.
    var sbatchOptions: [String] {
        var a: [String] = []
        if let p = partition { a.append("--partition=\(p)") }
        if let t = time { a.append("--time=\(t)") }
        if let g = gres { a.append("--gres=\(g)") }
        if let c = cpus { a.append("--cpus-per-task=\(c)") }
        if let m = mem { a.append("--mem=\(m)") }
        if let x = account { a.append("--account=\(x)") }
        if let q = qos { a.append("--qos=\(q)") }
        return a + args
    }
}

/// The Slurm commands the driver runs, each as one argv (never a shell line).
struct SlurmClient {
    var sbatch = "sbatch", squeue = "squeue", scancel = "scancel", scontrol = "scontrol", sacct = "sacct"

    private func call(_ argv: [String]) throws -> (code: Int32, output: String, errors: String) {
        do { return try runCommand(argv) } catch {
            throw RuntimeError.trainer(.slurmFailed(command: argv[0], message: "\(error) (is Slurm's client installed and on PATH?)"))
        }
    }

    /// Submits an array; returns its job id. A refusal quotes Slurm's message.
    func submit(_ arguments: [String]) throws -> String {
        let r = try call([sbatch, "--parsable"] + arguments)
        let id = r.output.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        guard r.code == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let message = (r.errors + r.output).trimmingCharacters(in: .whitespacesAndNewlines)
            throw RuntimeError.trainer(.slurmRefused(command: "sbatch", message: message.isEmpty ? "exit status \(r.code)" : String(message.prefix(2000))))
        }
        return id
    }

    /// The tasks of this user's jobs whose name starts with `prefix`: "JOBID_TASK" → (state,
    /// job name). One squeue call.
    func queue(prefix: String) throws -> [String: (state: String, name: String)] {
        let r = try call([squeue, "--me", "--noheader", "--array", "--format=%i|%T|%j"])
        guard r.code == 0 else { throw RuntimeError.trainer(.slurmFailed(command: "squeue", message: r.errors.trimmingCharacters(in: .whitespacesAndNewlines))) }
        var out: [String: (String, String)] = [:]
        for line in r.output.split(separator: "\n") {
            let f = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3, f[2].hasPrefix(prefix) else { continue }
            out[f[0]] = (f[1], f[2])
        }
        return out
    }

    func cancel(_ jobIDs: [String]) {
        guard !jobIDs.isEmpty else { return }
        _ = try? call([scancel] + jobIDs)
    }

    /// The cluster's MaxArraySize (array indices run 0…MaxArraySize−1); 1001, Slurm's
    /// default, when scontrol does not say.
    func maxArraySize() -> Int {
        guard let r = try? call([scontrol, "show", "config"]), r.code == 0 else { return 1001 }
        for line in r.output.split(separator: "\n") where line.hasPrefix("MaxArraySize") {
            if let v = line.split(separator: "=").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }), v >= 1 { return v }
        }
        return 1001
    }

    /// What accounting says of a task ("CANCELLED by 0", "NODE_FAIL"), when there is any.
    func accounting(_ task: String) -> String? {
        guard let r = try? call([sacct, "--noheader", "--parsable2", "--allocations", "--jobs=\(task)", "--format=State,ExitCode"]),
              r.code == 0 else { return nil }
        let line = r.output.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return line.isEmpty ? nil : line.replacingOccurrences(of: "|", with: ", exit code ")
    }
}

/// One task of an array, as the driver writes it to "tasks.json" and `npsh trial exec`
/// reads it back: everything the launcher needs to run one attempt.
public struct SlurmTask: Sendable, Equatable {
    public var trial: String
    public var attempt: Int
    public var program: String
    public var argv: [String]
    public var environment: [[String]]
    public var directory: String
    public var resultPath: String
    public var timeout: Double?
    public var grace: Double
    public var range: ClosedRange<Double>?

    var json: String {
        func q(_ s: String) -> String { JSONWriter.quote(s) }
        let env = environment.map { "[" + $0.map(q).joined(separator: ", ") + "]" }.joined(separator: ", ")
        let r = range.map { "[\(JSONWriter.number($0.lowerBound)), \(JSONWriter.number($0.upperBound))]" } ?? "null"
        return "{\"trial\": \(q(trial)), \"attempt\": \(attempt), \"program\": \(q(program)), \"argv\": [\(argv.map(q).joined(separator: ", "))], "
            + "\"environment\": [\(env)], \"directory\": \(q(directory)), \"result\": \(q(resultPath)), "
            + "\"timeout\": \(timeout.map { JSONWriter.number($0) } ?? "null"), \"grace\": \(JSONWriter.number(grace)), \"range\": \(r)}"
    }

    init(trial: String, attempt: Int, program: String, argv: [String], environment: [[String]], directory: String, resultPath: String,
         timeout: Double?, grace: Double, range: ClosedRange<Double>?) {
        self.trial = trial
        self.attempt = attempt
        self.program = program
        self.argv = argv
        self.environment = environment
        self.directory = directory
        self.resultPath = resultPath
        self.timeout = timeout
        self.grace = grace
        self.range = range
    }

    init?(json v: JSONValue) {
        guard let trial = v["trial"]?.string, let attempt = v["attempt"]?.number, let program = v["program"]?.string,
              let argv = v["argv"]?.array?.compactMap(\.string), let dir = v["directory"]?.string, let result = v["result"]?.string,
              let env = v["environment"]?.array, attempt >= 1, attempt < 1e6 else { return nil }
        let pairs = env.compactMap { $0.array?.compactMap(\.string) }.filter { $0.count == 2 }
        var range: ClosedRange<Double>?
        if let r = v["range"]?.array, r.count == 2, let lo = r[0].number, let hi = r[1].number, lo <= hi { range = lo...hi }
        self.init(trial: trial, attempt: Int(attempt), program: program, argv: argv, environment: pairs, directory: dir, resultPath: result,
                  timeout: v["timeout"]?.number, grace: v["grace"]?.number ?? 10, range: range)
    }

    /// Reads task `index` of a batch folder's "tasks.json".
    public static func read(batch: String, index: Int) throws -> SlurmTask {
        let path = batch + "/tasks.json"
        let file = try MappedFile(path: path)
        let v: JSONValue
        do { v = try JSONValue.parse(file.bytes.bindMemory(to: UInt8.self)) } catch {
            throw RuntimeError.malformed(DataPlace(file: path), .json("\(error)"))
        }
        guard let tasks = v["tasks"]?.array else { throw RuntimeError.malformed(DataPlace(file: path), .notAnArray) }
        guard index >= 0, index < tasks.count else {
            throw RuntimeError.malformed(DataPlace(file: path), .json("no task \(index) (the array has \(tasks.count))"))
        }
        guard let t = SlurmTask(json: tasks[index]) else {
            throw RuntimeError.malformed(DataPlace(file: path, position: "task \(index)"), .json("not a task npsh wrote"))
        }
        return t
    }

    /// Runs this task's attempt on this node, through the local launcher, and writes its
    /// outcome (unless a run of this task already did: a requeued task does not train twice).
    /// Ctrl-C or SIGTERM (scancel, the time limit) ends the trainer and writes nothing: the
    /// driver sees the task gone without an outcome and retries it.
    public func execute() throws -> Int32 {
        if fileStatus(OutcomeFile.path(directory: directory, attempt: attempt)) != nil { return 0 }
        var spec = TrainerSpec(argv: argv, metric: "metric")
        spec.parallel = 1
        spec.retries = 0
        spec.timeout = timeout
        spec.grace = grace
        let job = TrialJob(index: 0, trial: trial, program: program, argv: argv, environment: environment.map { ($0[0], $0[1]) },
                           directory: directory, resultPath: resultPath, previousAttempts: attempt - 1)
        var result: (AttemptOutcome, Double)?
        let stopped = try Launcher(spec: spec, range: range).run(
            [job], willStart: { _, _ in }, finished: { _, _, outcome, seconds in result = (outcome, seconds) },
            stop: { Interrupt.isRequested })
        // scancel signals every process of the task at once: the trainer may end of the SIGTERM
        // before the launcher sees this process's flag, and its outcome ("killed by signal 15")
        // must not be written as the attempt's (asked again here, after the launcher returns).
        guard !stopped, !Interrupt.isRequested, let (outcome, seconds) = result, outcome != .interrupted else { return 143 }
        try OutcomeFile.write(outcome, seconds: seconds, directory: directory, attempt: attempt)
        if case .success = outcome { return 0 }
        return 1
    }
}

/// The Slurm backend: trial batches as job arrays, watched by polling.
public final class SlurmBackend: TrialBackend {
    let options: SlurmOptions
    let spec: TrainerSpec
    let range: ClosedRange<Double>?
    let client: SlurmClient
    /// Names the run's arrays ("npsh-<run>-<n>"): the spec's identity, so a restarted driver
    /// finds them.
    let run: String
    /// Sleeps between polls (tests shorten nothing here: `poll=` does).
    var sleep: (Double) -> Void = { s in usleep(useconds_t(max(0, min(s, 60)) * 1_000_000)) }

    public init(options: SlurmOptions, spec: TrainerSpec, range: ClosedRange<Double>?) {
        self.options = options
        self.spec = spec
        self.range = range
        self.client = SlurmClient()
        self.run = String(spec.identity.prefix(8))
    }

    var base: String { absolutePath(options.dir) }
    var arraysFolder: String { base + "/arrays" }

    public func trialsFolder(ledgerBase: String) -> String {
        let name = ledgerBase.split(separator: "/").last.map(String.init) ?? "npsh"
        return base + "/" + name + ".trials"
    }

    /// Checks that `dir=` exists (or can be made) and is writable, before anything runs.
    public func checkFolder() throws {
        do { try makeDirectory(arraysFolder) } catch {
            throw RuntimeError.trainer(.slurmFolder(options.dir, reason: "\(error)"))
        }
        let probe = arraysFolder + "/.npsh-write-test-\(getpid())"
        do { try FileWriter.write("ok\n", to: probe, durable: false) } catch {
            throw RuntimeError.trainer(.slurmFolder(options.dir, reason: "cannot write in it"))
        }
        unlink(probe)
    }

    /// A trial in flight: submitted (or adopted) and not yet settled.
    struct Flight {
        var job: TrialJob
        var attempt: Int
        var failures: Int
        var task: String
        var missing = 0
    }

    public func run(
        _ jobs: [TrialJob],
        willStart: (TrialJob, Int) throws -> Void,
        finished: (TrialJob, Int, AttemptOutcome, Double) throws -> Void,
        status: (LaunchStatus) -> Void,
        stop: () -> Bool
    ) throws -> Bool {
        try checkFolder()
        let prefix = "npsh-\(run)-"
        var flights: [Flight] = []
        var waiting: [(TrialJob, Int, Int)] = []  // job, attempt, failures so far
        var counts = LaunchStatus()
        let start = monotonicSeconds()
        var durations = 0.0, settledAttempts = 0

        func settle(_ job: TrialJob, _ attempt: Int, _ failures: Int, _ outcome: AttemptOutcome, _ seconds: Double) throws {
            let s = seconds.isFinite ? seconds : 0
            durations += s
            settledAttempts += 1
            switch outcome {
            case .success:
                counts.done += 1
                try finished(job, attempt, outcome, s)
            case .failure(let problem, _):
                let f = failures + 1
                let final = problem == .permanent || f > spec.retries
                try finished(job, attempt, .failure(problem, final: final), s)
                if final { counts.failed += 1 } else { waiting.append((job, attempt + 1, f)) }
            case .interrupted:
                try settle(job, attempt, failures, .failure(.lost("its task was interrupted"), final: false), s)
            }
        }

        // Adopt what a previous driver left: an attempt begun and not finished either wrote
        // its outcome, is still queued or running, or is lost (and runs again).
        var live = try client.queue(prefix: prefix)
        var tasksOf: [String: [String: String]] = [:]  // batch name → "trial@attempt" → task id
        for (task, entry) in live where tasksOf[entry.name] == nil {
            tasksOf[entry.name] = batchTasks(name: entry.name, jobID: String(task.split(separator: "_")[0]))
        }
        let adoptable = tasksOf.values.reduce(into: [String: String]()) { $0.merge($1) { a, _ in a } }
        for job in jobs {
            let a = job.previousAttempts
            guard a >= 1, job.openAttempt else { waiting.append((job, a + 1, job.previousFailures)); continue }
            if let (outcome, seconds) = outcome(of: job, attempt: a) {
                try settle(job, a, job.previousFailures, outcome, seconds)
            } else if let task = adoptable["\(job.trial)@\(a)"] {
                flights.append(Flight(job: job, attempt: a, failures: job.previousFailures, task: task))
            } else {
                waiting.append((job, a + 1, job.previousFailures))
            }
        }

        func report() {
            counts.running = flights.filter { live[$0.task]?.state == "RUNNING" }.count
            counts.queued = flights.count - counts.running + waiting.count
            counts.elapsed = monotonicSeconds() - start
            counts.meanDuration = settledAttempts > 0 ? durations / Double(settledAttempts) : .nan
            status(counts)
        }

        let maxArray = client.maxArraySize()
        while !flights.isEmpty || !waiting.isEmpty {
            if stop() {
                client.cancel(Array(Set(flights.map { String($0.task.split(separator: "_")[0]) })).sorted())
                for f in flights { try finished(f.job, f.attempt, .interrupted, 0) }
                report()
                return true
            }
            if !waiting.isEmpty {
                let batch = waiting
                waiting = []
                for chunk in stride(from: 0, to: batch.count, by: maxArray).map({ Array(batch[$0..<min($0 + maxArray, batch.count)]) }) {
                    flights += try submit(chunk, willStart: willStart)
                }
            }
            report()
            // Wait for the next look, watching for Ctrl-C.
            let until = monotonicSeconds() + options.poll
            while monotonicSeconds() < until && !stop() { sleep(min(0.1, options.poll)) }
            if stop() { continue }
            var still: [Flight] = []
            for f in flights {
                if let (outcome, seconds) = outcome(of: f.job, attempt: f.attempt) {
                    try settle(f.job, f.attempt, f.failures, outcome, seconds)
                } else {
                    still.append(f)
                }
            }
            flights = still
            guard !flights.isEmpty else { continue }
            live = try client.queue(prefix: prefix)
            still = []
            for var f in flights {
                if live[f.task] != nil { f.missing = 0; still.append(f); continue }
                // Gone from the queue: its outcome may have landed since the look above.
                if let (outcome, seconds) = outcome(of: f.job, attempt: f.attempt) {
                    try settle(f.job, f.attempt, f.failures, outcome, seconds)
                    continue
                }
                // Twice gone without an outcome (a shared file system may show a file late): lost.
                f.missing += 1
                if f.missing < 2 { still.append(f); continue }
                let why = client.accounting(f.task) ?? "no outcome file; the task was cancelled, preempted or its node lost"
                try settle(f.job, f.attempt, f.failures, .failure(.lost("task \(f.task): \(why)"), final: false), 0)
            }
            flights = still
        }
        report()
        return false
    }

    /// The outcome a task wrote for this attempt of this job, if it has.
    func outcome(of job: TrialJob, attempt: Int) -> (AttemptOutcome, Double)? {
        OutcomeFile.read(directory: job.directory, attempt: attempt, resultPath: job.resultPath, range: range)
    }

    /// Writes one array's folder (tasks.json, the batch script) and submits it.
    func submit(_ batch: [(TrialJob, Int, Int)], willStart: (TrialJob, Int) throws -> Void) throws -> [Flight] {
        // The next free array number: mkdir is the lock, so two drivers never share one.
        var n = (try? FileManager.default.contentsOfDirectory(atPath: arraysFolder))?.compactMap { name -> Int? in
            name.hasPrefix("npsh-\(run)-") ? Int(name.dropFirst(6 + run.count)) : nil
        }.max().map { $0 + 1 } ?? 1
        var folder = ""
        while true {
            folder = arraysFolder + "/npsh-\(run)-\(n)"
            if mkdir(folder, 0o755) == 0 { break }
            guard errno == EEXIST else { throw RuntimeError.trainer(.slurmFolder(options.dir, reason: String(cString: strerror(errno)))) }
            n += 1
        }
        let name = "npsh-\(run)-\(n)"
        var tasks: [String] = []
        for (job, attempt, _) in batch {
            try willStart(job, attempt)
            tasks.append(SlurmTask(trial: job.trial, attempt: attempt, program: job.program, argv: job.argv,
                                   environment: job.environment.map { [$0.0, $0.1] }, directory: job.directory, resultPath: job.resultPath,
                                   timeout: spec.timeout, grace: spec.grace, range: range).json)
        }
        try FileWriter.write("{\"run\": \(JSONWriter.quote(name)), \"tasks\": [\n" + tasks.joined(separator: ",\n") + "\n]}\n",
                             to: folder + "/tasks.json", durable: true)
        let script = "#!/bin/sh\n# Written by npsh: one task of the job array \(name).\n"
            + "exec \(shellQuote(options.executable)) trial exec \(shellQuote(folder)) \"$SLURM_ARRAY_TASK_ID\"\n"
        try FileWriter.write(script, to: folder + "/task.sh", durable: true)
        chmod(folder + "/task.sh", 0o755)
        let limit = options.arrayLimit.map { "%\($0)" } ?? ""
        let cwd = absolutePath(".")
        let id = try client.submit(["--job-name=\(name)", "--array=0-\(batch.count - 1)\(limit)", "--output=\(folder)/task-%a.out",
                                    "--chdir=\(cwd)"] + options.sbatchOptions + [folder + "/task.sh"])
        try FileWriter.write(id + "\n", to: folder + "/job-id", durable: false)
        return batch.enumerated().map { i, b in Flight(job: b.0, attempt: b.1, failures: b.2, task: "\(id)_\(i)") }
    }

    /// "trial@attempt" → task id for the array named `name` (job `jobID`).
    func batchTasks(name: String, jobID: String) -> [String: String] {
        let folder = arraysFolder + "/" + name
        guard let file = try? MappedFile(path: folder + "/tasks.json"),
              let v = try? JSONValue.parse(file.bytes.bindMemory(to: UInt8.self)), let tasks = v["tasks"]?.array else { return [:] }
        var out: [String: String] = [:]
        for (i, t) in tasks.enumerated() {
            if let trial = t["trial"]?.string, let a = t["attempt"]?.number, a >= 1, a < 1e6 { out["\(trial)@\(Int(a))"] = "\(jobID)_\(i)" }
        }
        return out
    }
}

/// A string as one word of a POSIX shell line.
func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
