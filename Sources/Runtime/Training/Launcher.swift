import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Runs trials as subprocesses, `parallel` at a time, from the calling thread (on Linux a
// trainer is killed when the thread that started it ends, so that must be a thread that
// lives as long as npsh: the one running the session). One loop polls the trainers' output
// pipes, reaps the ones that ended and ends the ones past their timeout; nothing here
// blocks on a single trainer.
//
// Each trainer is the leader of its own process group: a timeout, Ctrl-C or the end of the
// leader ends the whole group (SIGTERM, then SIGKILL after the grace period), so nothing a
// trial started outlives it. Its standard output and error are read through pipes and
// written to the trial's log files up to `logCap` bytes each; the rest is counted and
// dropped, so a trainer that floods its output neither blocks nor fills the disk.

/// One trial to run: the substituted command and where it works.
public struct TrialJob: Sendable {
    /// Position in the batch: results are consumed in this order, never completion order.
    public var index: Int
    public var trial: String
    /// The resolved program, and the argv it is given (argv[0] as the template wrote it).
    public var program: String
    public var argv: [String]
    /// Variables added to npsh's environment ("NPSH_ARCH", …); "NPSH_ATTEMPT" is set per attempt.
    public var environment: [(String, String)]
    public var directory: String
    public var resultPath: String
    /// Attempts made by earlier runs, and how many of them failed (the retry budget).
    var previousAttempts: Int
    var previousFailures: Int
    /// Whether the last attempt began and never finished (the driver stopped meanwhile): a
    /// Slurm task may still be running it, or have written its outcome.
    var openAttempt: Bool

    public init(index: Int, trial: String, program: String, argv: [String], environment: [(String, String)], directory: String, resultPath: String,
                previousAttempts: Int = 0, previousFailures: Int = 0, openAttempt: Bool = false) {
        self.index = index
        self.trial = trial
        self.program = program
        self.argv = argv
        self.environment = environment
        self.directory = directory
        self.resultPath = resultPath
        self.previousAttempts = previousAttempts
        self.previousFailures = previousFailures
        self.openAttempt = openAttempt
    }

    public var stdoutPath: String { directory + "/stdout.log" }
    public var stderrPath: String { directory + "/stderr.log" }
}

/// How one attempt ended.
public enum AttemptOutcome: Sendable, Equatable {
    case success(TrialResult)
    /// `final`: no attempt follows (exit 3, or the retries are spent).
    case failure(TrialProblem, final: Bool)
    case interrupted
}

/// Counts for the progress line.
public struct LaunchStatus: Sendable, Equatable {
    public var done = 0
    public var failed = 0
    public var running = 0
    public var queued = 0
    public var elapsed = 0.0
    /// Mean seconds of the attempts finished so far.
    var meanDuration = Double.nan

    /// Seconds until the queue drains at the observed pace; nil before any trial finished.
    public func eta(parallel: Int) -> Double? {
        guard meanDuration.isFinite, done + failed > 0 else { return nil }
        let left = Double(queued + running)
        return left == 0 ? 0 : ceil(left / Double(max(1, parallel))) * meanDuration
    }
}

final class Launcher {
    let spec: TrainerSpec
    /// The metric's valid range in the space's unit; nil for a loss.
    let range: ClosedRange<Double>?
    /// How often the loop wakes when nothing happens, in milliseconds.
    static let pollMilliseconds: Int32 = 5
    /// Where trainers' output is read into, reused by every poll.
    private var readBuffer = [UInt8](repeating: 0, count: 65536)

    public init(spec: TrainerSpec, range: ClosedRange<Double>?) {
        self.spec = spec
        self.range = range
    }

    final class Running {
        let job: TrialJob
        let attempt: Int
        let pid: Int32
        var pipes: [Int32]
        let logs: [Int32]
        var kept = [0, 0]
        var dropped = [0, 0]
        let started: Double
        var termSent: Double?
        var timedOut = false
        var exitStatus: Int32?

        init(job: TrialJob, attempt: Int, pid: Int32, pipes: [Int32], logs: [Int32], started: Double) {
            self.job = job
            self.attempt = attempt
            self.pid = pid
            self.pipes = pipes
            self.logs = logs
            self.started = started
        }
    }

    /// Runs every job to a final outcome (or until `stop` says so). `willStart(job, attempt)`
    /// runs before each attempt starts (the ledger's intent row); `finished(job, attempt,
    /// outcome, seconds)` after each ends. Returns whether `stop` ended the run early.
    public func run(
        _ jobs: [TrialJob],
        willStart: (TrialJob, Int) throws -> Void,
        finished: (TrialJob, Int, AttemptOutcome, Double) throws -> Void,
        status: (LaunchStatus) -> Void = { _ in },
        stop: () -> Bool = { false }
    ) throws -> Bool {
        var queue = jobs.map { ($0, $0.previousAttempts + 1, $0.previousFailures) }
        queue.reverse()  // popLast takes the first
        var failures: [Int: Int] = [:]
        var running: [Running] = []
        var counts = LaunchStatus()
        var durations = 0.0, finishedAttempts = 0
        let start = monotonicSeconds()
        var stopping = false
        var lastStatus = -1.0
        defer {
            // Whatever happens (an error from a callback), nothing keeps running.
            for r in running { Self.endGroup(r, signal: SIGKILL); Self.reap(r) }
        }
        func report(force: Bool) {
            let t = monotonicSeconds()
            guard force || t - lastStatus >= 0.1 else { return }
            lastStatus = t
            counts.running = running.count
            counts.queued = queue.count
            counts.elapsed = t - start
            counts.meanDuration = finishedAttempts > 0 ? durations / Double(finishedAttempts) : .nan
            status(counts)
        }
        while true {
            if !stopping && stop() {
                stopping = true
                let t = monotonicSeconds()
                for r in running where r.termSent == nil { Self.endGroup(r, signal: SIGTERM); r.termSent = t }
            }
            while !stopping && running.count < max(1, spec.parallel), let (job, attempt, failed) = queue.popLast() {
                failures[job.index] = failed
                try willStart(job, attempt)
                switch launch(job, attempt: attempt) {
                case .success(let r): running.append(r)
                case .failure(let problem):
                    let final = failed + 1 > spec.retries
                    try finished(job, attempt, .failure(problem, final: final), 0)
                    if final { counts.failed += 1 } else { queue.append((job, attempt + 1, failed + 1)) }
                }
            }
            if running.isEmpty { break }
            report(force: false)
            pump(running)
            let t = monotonicSeconds()
            var still: [Running] = []
            for r in running {
                if r.exitStatus == nil {
                    var st: Int32 = 0
                    if npsh_wait(r.pid, &st) == 1 { r.exitStatus = st }
                }
                guard let st = r.exitStatus else {
                    if let limit = spec.timeout, r.termSent == nil, t - r.started > limit {
                        r.timedOut = true
                        Self.endGroup(r, signal: SIGTERM)
                        r.termSent = t
                    } else if let sent = r.termSent, t - sent > (stopping && !r.timedOut ? min(spec.grace, 3) : spec.grace) {
                        Self.endGroup(r, signal: SIGKILL)
                    }
                    still.append(r)
                    continue
                }
                // The leader ended: end what it left behind, keep the last output, close.
                Self.endGroup(r, signal: SIGKILL)
                drain(r)
                let seconds = t - r.started
                let outcome: AttemptOutcome
                if stopping && !r.timedOut && r.termSent != nil {
                    outcome = .interrupted
                } else {
                    let problem: TrialProblem?
                    var result: TrialResult?
                    if r.timedOut {
                        problem = .timedOut(spec.timeout ?? 0)
                    } else if npsh_status_signaled(st) != 0 {
                        problem = .signaled(npsh_status_signal(st))
                    } else if npsh_status_code(st) == TrainerSpec.permanentFailureStatus {
                        problem = .permanent
                    } else if npsh_status_code(st) != 0 {
                        problem = .exited(npsh_status_code(st))
                    } else {
                        switch TrialResult.read(r.job.resultPath, range: range) {
                        case .success(let res): result = res; problem = nil
                        case .failure(let p): problem = p
                        }
                    }
                    if let result {
                        outcome = .success(result)
                    } else {
                        let failed = (failures[r.job.index] ?? 0) + 1
                        failures[r.job.index] = failed
                        let final = problem == .permanent || failed > spec.retries
                        outcome = .failure(problem!, final: final)
                        if !final { queue.append((r.job, r.attempt + 1, failed)) }
                    }
                }
                durations += seconds
                finishedAttempts += 1
                switch outcome {
                case .success: counts.done += 1
                case .failure(_, let final): if final { counts.failed += 1 }
                case .interrupted: break
                }
                try finished(r.job, r.attempt, outcome, seconds)
            }
            running = still
        }
        report(force: true)
        return stopping
    }

    /// Starts one attempt: fresh log files, no stale result, then the program.
    func launch(_ job: TrialJob, attempt: Int) -> Result<Running, TrialProblem> {
        unlink(job.resultPath)
        var logs: [Int32] = []
        for path in [job.stdoutPath, job.stderrPath] {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                for l in logs { close(l) }
                return .failure(.couldNotStart("\(path): \(String(cString: strerror(errno)))"))
            }
            logs.append(fd)
        }
        var readEnds: [Int32] = [], writeEnds: [Int32] = []
        for _ in 0..<2 {
            var fds: [Int32] = [0, 0]
            guard npsh_pipe(&fds) == 0 else {
                for f in logs + readEnds + writeEnds { close(f) }
                return .failure(.couldNotStart("no pipe: \(String(cString: strerror(errno)))"))
            }
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            readEnds.append(fds[0])
            writeEnds.append(fds[1])
        }
        let names = Set(job.environment.map(\.0) + ["NPSH_ATTEMPT"])
        var env: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "="), !names.contains(String(s[..<eq])) { env.append(s) }
            p += 1
        }
        env += job.environment.map { "\($0)=\($1)" } + ["NPSH_ATTEMPT=\(attempt)"]
        let cArgv: [UnsafeMutablePointer<CChar>?] = job.argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { for q in cArgv + cEnv { free(q) } }
        var error: Int32 = 0
        let started = monotonicSeconds()
        // The trainer runs in npsh's folder (the script's), so the paths of its command mean
        // what they mean in the script; {dir} names the trial's own folder.
        let pid = npsh_spawn(job.program, cArgv, cEnv, nil, writeEnds[0], writeEnds[1], &error)
        for f in writeEnds { close(f) }
        guard pid > 0 else {
            for f in logs + readEnds { close(f) }
            return .failure(.couldNotStart("\(job.program): \(String(cString: strerror(error)))"))
        }
        return .success(Running(job: job, attempt: attempt, pid: pid, pipes: readEnds, logs: logs, started: started))
    }

    /// Waits up to a poll interval for output, and copies what arrived to the logs.
    func pump(_ running: [Running]) {
        var fds: [pollfd] = []
        for r in running { for f in r.pipes where f >= 0 { fds.append(pollfd(fd: f, events: Int16(POLLIN), revents: 0)) } }
        if !fds.isEmpty { _ = poll(&fds, nfds_t(fds.count), Self.pollMilliseconds) } else { usleep(UInt32(Self.pollMilliseconds) * 1000) }
        for r in running { copyOutput(r) }
    }

    /// Copies what can be read without blocking; closes a pipe at end of file.
    func copyOutput(_ r: Running) {
        for k in 0..<2 where r.pipes[k] >= 0 {
            while true {
                let n = readBuffer.withUnsafeMutableBytes { read(r.pipes[k], $0.baseAddress!, $0.count) }
                if n > 0 {
                    let keep = max(0, min(n, spec.logCap - r.kept[k]))
                    if keep > 0 { readBuffer.withUnsafeBytes { writeFully(r.logs[k], $0.baseAddress!, keep) } }
                    r.kept[k] += keep
                    r.dropped[k] += n - keep
                    continue
                }
                if n == 0 || (errno != EAGAIN && errno != EINTR) { close(r.pipes[k]); r.pipes[k] = -1 }
                break
            }
        }
    }

    /// The last output after the group ended, then the logs are closed.
    func drain(_ r: Running) {
        // The group was just sent SIGKILL; its members close the pipes as they die. A few
        // rounds bound the wait for a stray that held them.
        for _ in 0..<20 where r.pipes.contains(where: { $0 >= 0 }) {
            copyOutput(r)
            if r.pipes.contains(where: { $0 >= 0 }) {
                var fds = r.pipes.filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                _ = poll(&fds, nfds_t(fds.count), 5)
            }
        }
        for k in 0..<2 {
            if r.pipes[k] >= 0 { close(r.pipes[k]); r.pipes[k] = -1 }
            if r.dropped[k] > 0 {
                let note = Array("\n[npsh: \(formatCount(r.dropped[k])) more bytes not kept (the log keeps the first \(formatCount(spec.logCap)))]\n".utf8)
                note.withUnsafeBytes { writeFully(r.logs[k], $0.baseAddress!, $0.count) }
            }
            close(r.logs[k])
        }
    }

    static func endGroup(_ r: Running, signal: Int32) { _ = npsh_kill_group(r.pid, signal) }

    /// Collects an ended or killed process (used when a callback's error ends the run).
    static func reap(_ r: Running) {
        var st: Int32 = 0
        while waitpid(r.pid, &st, 0) < 0 && errno == EINTR {}
        for k in 0..<2 { if r.pipes[k] >= 0 { close(r.pipes[k]) }; close(r.logs[k]) }
    }
}

func writeFully(_ fd: Int32, _ p: UnsafeRawPointer, _ count: Int) {
    var done = 0
    while done < count {
        let n = write(fd, p + done, count - done)
        if n < 0 { if errno == EINTR { continue }; return }
        done += n
    }
}

/// The last `lines` lines of a text file (at most 64 KiB read from its end), each clipped.
public func tailLines(_ path: String, lines: Int = 5) -> [String] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    let size = Int(lseek(fd, 0, SEEK_END))
    let from = max(0, size - 65536)
    lseek(fd, off_t(from), SEEK_SET)
    var buf = [UInt8](repeating: 0, count: size - from)
    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
    guard n > 0 else { return [] }
    let text = String(decoding: buf[0..<n], as: UTF8.self)
    let all = text.split(separator: "\n", omittingEmptySubsequences: true).map { String($0.prefix(200)) }
    return Array(all.suffix(lines))
}
