import Runtime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The trials of a trainer's ledger (`trials`).
public struct TrialsValue: Sendable {
    public let records: [TrialRecord]
    public let ledger: String
    public let space: SpaceInfo
}

/// `bench trainer …` and `trials`: real training through the user's command (docs/training.md).
extension Builtins {
    /// The options `bench` takes for a trainer.
    static let trainerOptions: [Param] = [
        Param("parallel", .integer(min: 1), "trainer: trials running at once", value: .integer(1)),
        Param("timeout", .number(.positive), "trainer: seconds one attempt may run", default: "none"),
        Param("retries", .integer(min: 0), "trainer: attempts after a failed one (exit 3 is never retried)", value: .integer(0)),
        Param("grace", .number(.nonNegative), "trainer: seconds between SIGTERM and SIGKILL", value: .decimal(10)),
        Param("seed", .integer(min: 0), "trainer: the seed every trial's {seed} derives from", value: .integer(0)),
        Param("ledger", .string, "trainer: the SQLite ledger of trials", default: "beside the script: NAME.ledger.sqlite"),
        Param("delay", .number(.nonNegative), "synthetic trainer: seconds each trial sleeps", value: .decimal(0)),
        Param("fail", .number(Bounds(low: 0, high: 1)), "synthetic trainer: share of architectures that fail for good", value: .decimal(0)),
    ] + slurmOptions

    /// The options of `bench trainer […] on slurm` (docs/training.md, "On a Slurm cluster").
    static let slurmOptions: [Param] = [
        Param("dir", .string, "slurm: a folder the driver and every node see (trials, job arrays)", default: "beside the ledger: NAME.slurm"),
        Param("partition", .string, "slurm: sbatch --partition", default: "the cluster's default"),
        Param("time", .string, "slurm: sbatch --time, e.g. \"02:00:00\"", default: "the partition's"),
        Param("gres", .string, "slurm: sbatch --gres, e.g. \"gpu:1\"", default: "none"),
        Param("cpus", .integer(min: 1), "slurm: sbatch --cpus-per-task", default: "the cluster's"),
        Param("mem", .string, "slurm: sbatch --mem, e.g. \"16G\"", default: "the cluster's"),
        Param("account", .string, "slurm: sbatch --account", default: "none"),
        Param("qos", .string, "slurm: sbatch --qos", default: "none"),
        Param("array_limit", .integer(min: 1), "slurm: tasks of one array running at once (--array=…%N)", default: "no limit"),
        Param("args", .value, "slurm: more sbatch arguments, a list of strings", default: "[]"),
        Param("poll", .number(.positive), "slurm: seconds between looks at the queue", value: .decimal(5)),
    ]

    /// Where the trials run: `on slurm` and its options, or here.
    static func placement(_ session: Session, _ args: Arguments, ledgerPath: String) throws -> TrainerPlacement {
        guard case .word("slurm") = args.values["on"] else {
            if let given = (args.call.name == "search" ? searchSlurmOptions : slurmOptions).first(where: { args.has($0.name) }) {
                throw args.problem(given.name, .slurmOptionHere(given.name, command: args.call.name))
            }
            return .local
        }
        var base = ledgerPath
        if base.hasSuffix(".sqlite") { base.removeLast(7) }
        if base.hasSuffix(".ledger") { base.removeLast(7) }
        var o = SlurmOptions(dir: args.string("dir") ?? base + ".slurm", executable: session.executable)
        o.partition = args.string("partition")
        o.time = args.string("time")
        o.gres = args.string("gres")
        o.cpus = args.integer("cpus")
        o.mem = args.string("mem")
        o.account = args.string("account")
        o.qos = args.string("qos")
        o.arrayLimit = args.integer("array_limit")
        o.poll = args.number("poll")!
        if let v = args.values["args"], args.has("args") {
            guard case .list(let items) = v else { throw args.problem("args", .sbatchArgs(got: v.typeName)) }
            o.args = try items.map { item in
                guard case .string(let s) = item else { throw args.problem("args", .sbatchArgs(got: item.typeName)) }
                return s
            }
        }
        return .slurm(o)
    }

    /// `bench trainer COMMAND …`: opens the ledger and makes the trainer the benchmark.
    static func openTrainer(_ session: Session, _ args: Arguments) throws -> TrainerBench {
        let space = session.space
        guard let command = args.values["command"] else {
            throw CommandProblem.trainerCommandMissing
        }
        let metric = space.kind == .nb101 || space.kind == .proxyless ? "val_acc" : space.metricName
        var spec: TrainerSpec
        let program: String
        let synthetic: Bool
        switch command {
        case .word("synthetic"):
            guard space.kind == .nb101 else {
                throw CommandProblem.syntheticNeedsNB101
            }
            let fail = args.number("fail")!
            spec = TrainerSpec(argv: ["npsh", "train-synthetic", "--arch", "{arch}", "--result", "{result}", "--seed", "{seed}", "--fail", formatSignificant(fail, digits: 12)],
                               metric: metric)
            spec.environment = [("NPSH_SYNTHETIC_DELAY", formatSignificant(args.number("delay")!, digits: 12))]
            program = session.executable
            synthetic = true
        case .list(let items):
            let argv = try items.map { v -> String in
                guard case .string(let s) = v else {
                    throw CommandProblem.argvNotStrings(got: v.typeName)
                }
                return s
            }
            guard !args.has("delay") && !args.has("fail") else {
                throw CommandProblem.syntheticOptions
            }
            spec = TrainerSpec(argv: argv, metric: metric)
            program = ""
            synthetic = false
        case let v:
            throw CommandProblem.trainerArgument(got: v.typeName)
        }
        spec.parallel = args.integer("parallel")!
        spec.timeout = args.number("timeout")
        spec.retries = args.integer("retries")!
        spec.grace = args.number("grace")!
        spec.seed = UInt64(args.integer("seed")!)
        let resolved = try spec.validate(searchPath: getenv("PATH").map { String(cString: $0) }, program: synthetic ? program : nil)
        let ledgerPath = args.string("ledger") ?? session.defaultLedger
        guard !ledgerPath.isEmpty else { throw CommandProblem.ledgerName }
        let ledger = try session.ledger(ledgerPath)
        if args.string("ledger") == nil { session.defaultLedgerOpened = absolutePath(ledgerPath) }
        session.noteRead(ledgerPath, as: "the training ledger")
        let label = synthetic ? "synthetic trainer" : "trainer " + spec.argv.prefix(2).joined(separator: " ")
        let placement = try placement(session, args, ledgerPath: ledgerPath)
        let bench = try TrainerBench(space: space, spec: spec, program: resolved, ledger: ledger, label: label, isSynthetic: synthetic,
                                     placement: placement)
        for n in bench.takeNotes() { session.diagnostics("note: \(n)") }
        return bench
    }

    /// Trains entries with a trainer bench, with the progress line and failure notes.
    static func trainWithTrainer(_ entries: [ArchEntry], _ bench: TrainerBench, _ session: Session) throws -> ArchSet {
        let out = try withTrainer(bench, session, total: entries.count) { try bench.train(entries.map { ($0.arch, $0.hash) }) }
        return ArchSet(entries: out.map(\.0), label: bench.label, space: bench.space)
    }

    /// Runs `work` with the trainer wired to the session — its progress line (of `total`
    /// trials, or each batch's own size when nil), Ctrl-C and failure notes — then says how
    /// many architectures it trained and how many results it reused.
    static func withTrainer<T>(_ bench: TrainerBench, _ session: Session, total: Int?, _ work: () throws -> T) throws -> T {
        let progress = session.progress
        bench.onStatus = { progress.trials($0, total: total ?? $0.done + $0.failed + $0.running + $0.queued) }
        bench.shouldStop = session.interruptRequested
        bench.note = { session.diagnostics("note: " + $0) }
        let launchedBefore = bench.launched, reusedBefore = bench.reused
        defer { progress.finish() }
        let result = try work()
        let ran = bench.launched - launchedBefore, reused = bench.reused - reusedBefore
        if reused > 0 || ran > 0 {
            session.diagnostics("note: trained \(Format.plural(ran, "architecture")), reused \(Format.count(reused)) from \(bench.ledger.path)")
        }
        return result
    }

    static let trials = CommandSpec(
        name: "trials", summary: "The trials of the current trainer's ledger: status, attempts, metric, seconds.",
        details: """
            show trials prints them as a table; export trials to "F.json" (or .csv) writes
            {trial, hash, status, attempts, failures, metric, test, time, seconds, message}.
            Seconds are wall time, so this table differs between runs; sets do not.
            """
    ) { session, _ in
        guard let bench = session.benchTable as? TrainerBench else {
            throw CommandProblem.noTrainer
        }
        let spec = bench.spec.identity
        let records = bench.ledger.order.compactMap { bench.ledger.records[$0] }.filter { $0.spec == spec }
        return .trials(TrialsValue(records: records, ledger: bench.ledger.path, space: bench.space))
    }

    static func trialsSummary(_ t: TrialsValue) -> String {
        var by: [TrialRecord.Status: Int] = [:]
        for r in t.records { by[r.status, default: 0] += 1 }
        let parts = [TrialRecord.Status.done, .failed, .running, .interrupted].compactMap { s in by[s].map { "\(Format.count($0)) \(s.rawValue)" } }
        return "\(Format.plural(t.records.count, "trial")) in \(t.ledger)" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }

    static func trialsTable(_ t: TrialsValue, rows: Int) -> String {
        var lines = [trialsSummary(t)]
        let unit = t.space.isAccuracy ? " %" : ""
        let cells = t.records.prefix(rows).enumerated().map { i, r -> [String] in
            [String(i + 1), r.trial, r.status.rawValue, String(r.attempts), Format.metric(r.result?.metric ?? .nan, t.space),
             formatFixed(r.seconds, 1), r.message.count > 60 ? String(r.message.prefix(59)) + "…" : r.message]
        }
        lines += Printer.grid(["#", "trial", "status", "attempts", "metric" + unit, "seconds", "problem"], Array(cells), rightAligned: [0, 3, 4, 5])
        if t.records.count > rows { lines.append("… \(Format.count(t.records.count - rows)) more") }
        return lines.joined(separator: "\n")
    }

    static func trialsExport(_ t: TrialsValue, csv: Bool) -> String {
        func num(_ x: Double?) -> Double { x ?? .nan }
        if csv {
            var rows = [["trial", "hash", "status", "attempts", "failures", "metric", "test", "time", "seconds", "message"]]
            for r in t.records {
                rows.append([r.trial, r.arch.hex, r.status.rawValue, String(r.attempts), String(r.failures), CSV.number(num(r.result?.metric)),
                             CSV.number(num(r.result?.test)), CSV.number(num(r.result?.time)), CSV.number(r.seconds), r.message])
            }
            return CSV.write(rows)
        }
        var out = "["
        for (k, r) in t.records.enumerated() {
            out += (k == 0 ? "\n  {" : ",\n  {") + "\"trial\": \(JSONWriter.quote(r.trial)), \"hash\": \"\(r.arch.hex)\", \"status\": \"\(r.status.rawValue)\", "
            out += "\"attempts\": \(r.attempts), \"failures\": \(r.failures)"
            if let res = r.result {
                out += ", \"metric\": \(JSONWriter.number(res.metric))"
                if !res.test.isNaN { out += ", \"test\": \(JSONWriter.number(res.test))" }
                if !res.time.isNaN { out += ", \"time\": \(JSONWriter.number(res.time))" }
                if !res.extra.isEmpty { out += ", \"extra\": \(res.extra)" }
            }
            out += ", \"seconds\": \(JSONWriter.number(r.seconds))"
            if !r.message.isEmpty { out += ", \"message\": \(JSONWriter.quote(r.message))" }
            out += "}"
        }
        return out + (t.records.isEmpty ? "]\n" : "\n]\n")
    }
}

/// The running program's own path (the synthetic trainer runs npsh itself).
public func currentExecutable() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    if n > 0 { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return CommandLine.arguments.first.map(absolutePath) ?? "npsh"
}
