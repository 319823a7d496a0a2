#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The trainer benchmark behind `scripts/bench-trainer`: what the ledger and the launcher
/// cost per trial, against the same trivial command run by `xargs -P 2` (measured by the
/// script in the same run). Goals (issue 13): ledger ≤ 5 ms a trial, 2,000 trivial trials at
/// parallel=2 in ≤ 20 s, reopening a ledger of 2,000 trials in ≤ 0.2 s.
public enum TrainerBenchmark {
    public static func run(directory: String, trials: Int, reference: Double?, report: (String) -> Void) throws {
        try makeDirectory(directory)
        let catalog = NB101Enumeration.enumerate()
        var rng = RandomStream(seed: 1, path: ["trainer-benchmark"])
        let picked = rng.distinct(trials, from: catalog.cells.count).map { (Architecture.nb101(catalog.cells[$0]), catalog.hashes[$0]) }
        report("npsh trainer benchmark: \(formatCount(trials)) trials of a trivial trainer (sh writing a constant result)\n")

        // 1. The ledger alone: an intent row and a result, each committed, per trial.
        let ledgerPath = directory + "/ledger-only.sqlite"
        for suffix in ["", "-wal", "-shm", ".lock"] { unlink(ledgerPath + suffix) }
        var t = monotonicSeconds()
        do {
            let ledger = try Ledger(path: ledgerPath, space: "nb101")
            for (k, (_, hash)) in picked.enumerated() {
                let id = "t\(k)"
                try ledger.begin(trial: id, arch: hash, spec: "spec", seed: 0, archJSON: "{}", attempt: 1)
                try ledger.finish(trial: id, attempt: 1, outcome: .success(TrialResult(metric: 0.9)), seconds: 0.01)
            }
        }
        let perTrial = (monotonicSeconds() - t) / Double(trials) * 1000
        report("ledger: \(fmt(perTrial, 3)) ms a trial (intent + result, each committed)   goal ≤ 5 ms: \(perTrial <= 5 ? "met" : "MISSED")\n")

        // 2. Trials through the launcher, parallel=2.
        let path = directory + "/bench.sqlite"
        for suffix in ["", "-wal", "-shm", ".lock"] { unlink(path + suffix) }
        try? removeTree(directory + "/bench.trials")
        var spec = TrainerSpec(argv: ["sh", "-c", "echo '{{\"metric\": 0.5}}' > \"$NPSH_RESULT\""], parallel: 2, metric: "val_acc")
        spec.retries = 0
        let program = try spec.validate(searchPath: "/usr/bin:/bin")
        t = monotonicSeconds()
        do {
            let bench = try TrainerBench(space: .nb101, spec: spec, program: program, ledger: try Ledger(path: path, space: "nb101"),
                                         label: "bench", isSynthetic: false)
            bench.shouldStop = { false }
            let out = try bench.train(picked)
            guard out.allSatisfy({ !$0.0.failed }) else { throw RuntimeError.unusable(.benchmarkCheck("some trivial trials failed")) }
        }
        let wall = monotonicSeconds() - t
        var line = "\(formatCount(trials)) trials, parallel=2: \(fmt(wall, 2)) s wall (\(fmt(wall / Double(trials) * 1000, 2)) ms a trial)"
        if let r = reference { line += "; xargs -P 2, same command: \(fmt(r, 2)) s; ratio \(fmt(wall / r, 2))×" }
        report(line + "   goal ≤ 20 s: \(wall <= 20 ? "met" : "MISSED")\n")

        // 3. Reopening it: every trial read back.
        t = monotonicSeconds()
        let reopened = try Ledger(path: path, space: "nb101")
        let reopen = monotonicSeconds() - t
        guard reopened.records.count == trials else { throw RuntimeError.unusable(.benchmarkCheck("reopened \(reopened.records.count) of \(trials) trials")) }
        report("reopen with \(formatCount(trials)) trials: \(fmt(reopen * 1000, 1)) ms   goal ≤ 200 ms: \(reopen <= 0.2 ? "met" : "MISSED")\n")
    }

    static func fmt(_ x: Double, _ d: Int) -> String { formatFixed(x, d) }
}
