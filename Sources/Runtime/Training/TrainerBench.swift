#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A trainer standing where a benchmark table stands. Training an architecture looks it up
// in the ledger first (a finished trial is reused, never run again), runs what is left
// through the launcher, and returns the results in the order asked — never in the order
// the trainers finished — so the output is the same however the trials were scheduled,
// interrupted or resumed.

/// Where a trainer's trials run.
public enum TrainerPlacement: Sendable, Equatable {
    case local
    case slurm(SlurmOptions)
}

/// Not thread-safe, and never shared: it runs its trials from the session's thread (the
/// `Sendable` that `Bench` asks of tables does not hold for it, hence unchecked).
public final class TrainerBench: Bench, @unchecked Sendable {
    public let space: SpaceInfo
    public let spec: TrainerSpec
    /// The resolved program argv[0] names.
    public let program: String
    public let ledger: Ledger
    /// Where each trial gets its folder: "<ledger>.trials/<trial>/".
    let trialsFolder: String
    public let label: String
    public let isSynthetic: Bool
    /// Live counts while trials run (the session's progress line).
    public var onStatus: (LaunchStatus) -> Void = { _ in }
    /// Whether to stop launching and end the running trials (Ctrl-C).
    public var shouldStop: () -> Bool = { Interrupt.isRequested }
    /// Notes for standard error: what was reused, what failed and where its log is.
    public var note: (String) -> Void = { _ in }
    /// What the session has trained so far, in the order first asked: `all` of a trainer.
    public private(set) var trained: [ArchEntry] = []
    private var trainedIndex: [Digest128: Int] = [:]
    /// Counters of this process: trials launched, results reused from the ledger.
    public private(set) var launched = 0
    public private(set) var reused = 0

    /// Where the trials run: local processes, or a Slurm cluster.
    let backend: TrialBackend
    public let placement: TrainerPlacement

    public init(space: SpaceInfo, spec: TrainerSpec, program: String, ledger: Ledger, label: String, isSynthetic: Bool,
                placement: TrainerPlacement = .local) throws {
        self.space = space
        self.spec = spec
        self.program = program
        self.ledger = ledger
        self.label = label
        self.isSynthetic = isSynthetic
        self.placement = placement
        let range: ClosedRange<Double>? = space.isAccuracy ? 0...(space.percent == true ? 100 : 1) : nil
        switch placement {
        case .local:
            backend = Launcher(spec: spec, range: range)
        case .slurm(let options):
            let slurm = SlurmBackend(options: options, spec: spec, range: range)
            try slurm.checkFolder()
            backend = slurm
        }
        var base = ledger.path
        if base.hasSuffix(".sqlite") { base.removeLast(7) }
        // Absolute: a trainer runs in its trial's folder, and its paths must still hold there.
        trialsFolder = backend.trialsFolder(ledgerBase: base)
        try ledger.noteSpec(spec)
        let others = ledger.trialsUnderOtherSpecs(than: spec.identity)
        if others > 0 {
            pendingNotes.append("\(ledger.path) holds \(formatCount(others)) trials of another trainer command, metric or seed; they are not reused")
        }
    }

    private var pendingNotes: [String] = []
    /// Notes from opening (a ledger with trials of another spec), said once.
    public func takeNotes() -> [String] {
        defer { pendingNotes = [] }
        return pendingNotes
    }

    public var count: Int { trained.count }

    /// What the trainer's accuracies are written in: 100 for a user space in percent, else 1
    /// (npsh holds accuracies as fractions).
    var unitScale: Double { space.isAccuracy && space.percent == true ? 100 : 1 }

    /// Drops what was added after the first `n` (a statement that failed changed nothing).
    public func forget(after n: Int) {
        guard n < trained.count else { return }
        for e in trained[n...] { trainedIndex[e.hash] = nil }
        trained.removeSubrange(n...)
    }

    public func architectures() throws -> ArchSet { ArchSet(entries: trained, label: label, space: space) }
    public func index(of hash: Digest128) -> Int? { trainedIndex[hash] }

    /// The `Trainer` view: indices into `trained` (what `all` lists), answered from the
    /// results already held; nothing runs.
    public func train(_ cells: [Int], epochs: Int?, rng: inout RandomStream) throws -> [Observation] {
        if let e = epochs { throw RuntimeError.unusable(.trainerBudget(epochs: e)) }
        return cells.map { i in
            let e = trained[i]
            return Observation(cell: i, validation: e.validation, test: e.test, trainingTime: .nan)
        }
    }

    /// The trial id of an architecture under this spec: stable across runs and machines.
    func trialID(_ hash: Digest128) -> String { String(hash.hex.prefix(16)) + "-" + String(spec.identity.prefix(6)) }

    /// Trains `archs` (reusing the ledger's finished trials) and returns one entry each, in
    /// the order given, with the time each trainer reported (NaN when it did not).
    public func train(_ archs: [(Architecture, Digest128)]) throws -> [(ArchEntry, Double)] {
        var jobs: [TrialJob] = []
        var jobOf: [Digest128: Int] = [:]
        var hashOfJob: [Digest128] = [], jsonOfJob: [String] = []
        var results: [Digest128: TrialRecord] = [:]
        let specID = spec.identity
        for (arch, hash) in archs where results[hash] == nil && jobOf[hash] == nil {
            let id = trialID(hash)
            if let r = ledger.records[id], r.status == .done || r.status == .failed {
                results[hash] = r
                reused += 1
                continue
            }
            let dir = trialsFolder + "/" + id
            try makeDirectory(dir)
            let archPath = dir + "/arch.json", resultPath = dir + "/result.json"
            let json = "{" + ArchSet.jsonFields(hash, arch, space: space) + "}"
            // Not synced: after a crash the trial runs again and writes it again.
            try FileWriter.write(json + "\n", to: archPath, durable: false)
            let seed = spec.trialSeed(hash)
            let values = ["arch": archPath, "result": resultPath, "trial": id, "seed": String(seed), "dir": dir]
            let env = [("NPSH_ARCH", archPath), ("NPSH_RESULT", resultPath), ("NPSH_TRIAL", id), ("NPSH_SEED", String(seed)), ("NPSH_DIR", dir)]
                + spec.environment
            let previous = ledger.records[id]
            jobOf[hash] = jobs.count
            hashOfJob.append(hash)
            jsonOfJob.append(json)
            jobs.append(TrialJob(index: jobs.count, trial: id, program: program, argv: try spec.argv(for: values), environment: env,
                                 directory: dir, resultPath: resultPath,
                                 previousAttempts: previous?.attempts ?? 0, previousFailures: previous?.failures ?? 0,
                                 openAttempt: previous.map { ledger.isOpen(trial: id, attempt: $0.attempts) } ?? false))
        }
        if !jobs.isEmpty {
            let stopped = try backend.run(
                jobs,
                willStart: { job, attempt in
                    launched += attempt == job.previousAttempts + 1 ? 1 : 0
                    try ledger.begin(trial: job.trial, arch: hashOfJob[job.index], spec: specID, seed: spec.trialSeed(hashOfJob[job.index]),
                                     archJSON: jsonOfJob[job.index], attempt: attempt)
                },
                finished: { job, attempt, outcome, seconds in
                    try ledger.finish(trial: job.trial, attempt: attempt, outcome: outcome, seconds: seconds)
                    if case .failure(let problem, let final) = outcome {
                        // Its standard error's last lines, or its output's when it wrote no errors.
                        var log = job.stderrPath, tail = tailLines(log)
                        if tail.isEmpty { log = job.stdoutPath; tail = tailLines(log) }
                        let text = TrainerProblem.failed(trial: job.trial, arch: hashOfJob[job.index].hex, problem: problem.description,
                                                         log: log, logTail: tail)
                        note((final ? "" : "retrying (attempt \(attempt + 1)): ") + text.description)
                    }
                },
                status: onStatus, stop: shouldStop)
            if stopped { throw RuntimeError.interrupted("training (\(formatCount(jobs.count)) trials; finished ones are kept in \(ledger.path))") }
            for (h, j) in jobOf { results[h] = ledger.records[jobs[j].trial] }
        }
        return archs.map { arch, hash in
            let r = results[hash]!
            let entry: ArchEntry
            if let res = r.result, r.status == .done {
                entry = ArchEntry(arch: arch, hash: hash, validation: res.metric / unitScale, test: res.test / unitScale)
            } else {
                entry = ArchEntry(arch: arch, hash: hash, validation: .nan, test: .nan, failed: true)
            }
            if trainedIndex[hash] == nil {
                trainedIndex[hash] = trained.count
                trained.append(entry)
            }
            return (entry, r.result?.time ?? .nan)
        }
    }
}

/// The `Trainer` a search uses with a trainer bench: indices into the candidates.
public struct CandidateTrainer: Trainer, Sendable {
    public let bench: TrainerBench
    public let candidates: ArchSet

    public init(bench: TrainerBench, candidates: ArchSet) {
        self.bench = bench
        self.candidates = candidates
    }

    public func train(_ cells: [Int], epochs: Int?, rng: inout RandomStream) throws -> [Observation] {
        if let e = epochs { throw RuntimeError.unusable(.trainerBudget(epochs: e)) }
        let out = try bench.train(cells.map { (candidates.entries[$0].arch, candidates.entries[$0].hash) })
        return zip(cells, out).map { i, r in Observation(cell: i, validation: r.0.validation, test: r.0.test, trainingTime: r.1) }
    }
}

/// The trainer `bench trainer synthetic` runs (as `npsh train-synthetic`): it reads the
/// architecture file, and writes the synthetic landscape's value for it — one recorded run
/// chosen by the trial's seed, and the mean test accuracy over runs, as the table reports.
public enum SyntheticTrainer {
    /// Exit status and message; writes the result file on success.
    public static func run(archPath: String, resultPath: String, seed: UInt64, fail: Double, delay: Double) -> (Int32, String) {
        do {
            let file = try MappedFile(path: archPath)
            let v = try JSONValue.parse(file.bytes.bindMemory(to: UInt8.self))
            let (cell, hash) = try ArchitectureJSON.cell(from: v, at: DataPlace(file: archPath))
            if delay > 0 { usleep(UInt32(min(delay, 3600) * 1_000_000)) }
            var r = RandomStream(seed: SyntheticLandscape.landscapeSeed, path: [.name("trainer-failure"), .index(hash.hi), .index(hash.lo)])
            if r.uniform() < fail { return (TrainerSpec.permanentFailureStatus, "synthetic failure for \(hash.hex) (fail=\(fail))") }
            let runs = SyntheticLandscape.runs(cell, hash: hash)
            let run = runs[Int(seed % UInt64(runs.count))]
            let test = runs.map { Double($0.testAccuracy) }.reduce(0, +) / Double(runs.count)
            // Shortest round-trip decimals: the ledger stores exactly the landscape's value.
            let text = "{\"metric\": \(Double(run.validationAccuracy)), \"test\": \(test), \"time\": \(Double(run.trainingTime))}\n"
            try FileWriter.write(text, to: resultPath, durable: false)
            return (0, "")
        } catch {
            return (1, "\(error)")
        }
    }
}
