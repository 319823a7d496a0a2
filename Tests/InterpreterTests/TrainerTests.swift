import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// Real training (issue 13): real subprocesses — a toy shell trainer and npsh's own
/// synthetic trainer — a real SQLite ledger, real kill -9.
final class TrainerTests: XCTestCase {
    /// A toy trainer following the contract: $1 the architecture file, $2 the result file,
    /// $3 a mode. It logs its start and end times and its pid to $TOY_LOG, appends its trial
    /// to $TOY_COUNTER, and returns a metric computed from the architecture's hash.
    static let toyTrainer = """
        #!/bin/sh
        arch="$1"; result="$2"; mode="${3:-ok}"
        echo "start $NPSH_TRIAL $$ $(date +%s.%N)" >> "$TOY_LOG"
        echo "$NPSH_TRIAL $NPSH_ATTEMPT $NPSH_SEED" >> "$TOY_COUNTER"
        h=$(sed -n 's/.*"hash": "\\([0-9a-f]*\\)".*/\\1/p' "$arch")
        case "$mode" in
          exit3) echo "CUDA out of memory" >&2; exit 3 ;;
          flaky) if [ "$NPSH_ATTEMPT" -lt 3 ]; then echo "flaky failure on attempt $NPSH_ATTEMPT" >&2; exit 1; fi ;;
          hang) trap '' TERM; while :; do sleep 0.05; done ;;
          noresult) exit 0 ;;
          notjson) echo "accuracy: 0.9" > "$result"; exit 0 ;;
          nan) echo '{"metric": NaN}' > "$result"; exit 0 ;;
          string) echo '{"metric": "0.9"}' > "$result"; exit 0 ;;
          nometric) echo '{"test": 0.9}' > "$result"; exit 0 ;;
          percent) echo '{"metric": 93.1}' > "$result"; exit 0 ;;
          huge) head -c 2000000 /dev/zero | tr '\\0' ' ' > "$result"; exit 0 ;;
          flood) head -c 3000000 /dev/zero | tr '\\0' 'x'; exit 1 ;;
        esac
        sleep "${TOY_DELAY:-0}"
        v=$(printf '%05d' $(( 0x$(echo "$h" | cut -c1-4) )))
        echo "{\\"metric\\": 0.$v, \\"test\\": 0.$v, \\"extra\\": {\\"mode\\": \\"$mode\\"}}" > "$result"
        echo "end $NPSH_TRIAL $$ $(date +%s.%N)" >> "$TOY_LOG"

        """

    struct Toy {
        let dir: String
        var trainer: String { dir + "/toy.sh" }
        var log: String { dir + "/toy.log" }
        var counter: String { dir + "/toy.counter" }
        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        /// The first trial's arch.json under a ledger's trial folders ("u.ledger.trials").
        func firstTrialArch(_ trials: String) throws -> String {
            let file = try FileManager.default.subpathsOfDirectory(atPath: dir + "/" + trials).first { $0.hasSuffix("arch.json") }!
            return try String(contentsOfFile: dir + "/" + trials + "/" + file, encoding: .utf8)
        }

        /// For a session run in this process: the toy's variables set here (`clear` unsets
        /// them) and a session whose Ctrl-C comes once the toy has started `n` trials.
        func inProcessSession(delay: Double, interruptAfter n: Int) -> Session {
            setenv("TOY_LOG", log, 1)
            setenv("TOY_COUNTER", counter, 1)
            setenv("TOY_DELAY", String(delay), 1)
            let session = Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { _ in })
            let counter = self.counter
            session.interruptRequested = { ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").split(separator: "\n").count >= n }
            return session
        }

        static func clearEnvironment() { unsetenv("TOY_LOG"); unsetenv("TOY_COUNTER"); unsetenv("TOY_DELAY") }

        /// `bench trainer` with the toy in `mode` (its path relative to the script's folder).
        func bench(_ mode: String = "ok", _ options: String = "", path: String = "toy.sh") -> String {
            "bench trainer [\"sh\", \"\(path)\", \"{arch}\", \"{result}\", \"\(mode)\"] \(options)"
        }
    }

    func toy() throws -> Toy {
        let t = Toy(dir: temporaryFolder(self))
        try Self.toyTrainer.write(toFile: t.trainer, atomically: true, encoding: .utf8)
        return t
    }

    /// Runs npsh with the toy's environment; `cwd` defaults to the toy's folder.
    func run(_ toy: Toy, _ args: [String], delay: Double = 0, cwd: String? = nil) throws -> CLIResult {
        try npsh(args, cwd: cwd ?? toy.dir, environment: environment(toy, delay: delay))
    }

    func start(_ toy: Toy, _ args: [String], delay: Double = 0) throws -> Process {
        let r = try startNpsh(args, cwd: toy.dir, environment: environment(toy, delay: delay))
        try r.stdin.fileHandleForWriting.close()
        // Its output is not read: keep it from filling the pipes.
        r.stdout.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        r.stderr.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        return r.process
    }

    func environment(_ toy: Toy, delay: Double) -> [String: String] {
        ["TOY_LOG": toy.log, "TOY_COUNTER": toy.counter, "TOY_DELAY": String(delay)]
    }

    /// Whether a process runs: a zombie (ended, not yet reaped by its new parent) does not.
    func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    func write(_ text: String, _ path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    /// Start and end times of each trial from the toy's log.
    func intervals(_ toy: Toy) -> [(Double, Double)] {
        var starts: [String: Double] = [:], out: [(Double, Double)] = []
        for line in toy.lines(toy.log) {
            let f = line.split(separator: " ")
            guard f.count == 4, let t = Double(f[3]) else { continue }
            if f[0] == "start" { starts[String(f[1])] = t } else if let s = starts[String(f[1])] { out.append((s, t)) }
        }
        return out
    }

    func testParallelTwoOverlapsAndNeverMore() throws {
        let toy = try toy()
        try write("seed 3\nspace nb101\n\(toy.bench("ok", "parallel=2"))\nlet a = sample 8\na\n", toy.dir + "/p.npx")
        let r = try run(toy, ["run", "p.npx"], delay: 0.3)
        XCTAssertEqual(r.status, 0, r.stderr)
        let spans = intervals(toy)
        XCTAssertEqual(spans.count, 8)
        // Most trials at once, from the intervals: never more than two, and two do overlap.
        var events = spans.flatMap { [($0.0, 1), ($0.1, -1)] }
        events.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var now = 0, most = 0
        for (_, d) in events { now += d; most = max(most, now) }
        XCTAssertEqual(most, 2, "\(spans)")
        XCTAssertTrue(r.stdout.contains("8 architectures (trainer sh "), r.stdout)
    }

    /// kill -9 of npsh in the middle of `sample 20`; the rerun trains only what had not
    /// finished and prints exactly what an uninterrupted run prints; a replay trains nothing.
    func testKillNineThenResumeIsByteIdentical() throws {
        let script = "seed 5\nspace nb101\n\(Toy(dir: "").bench("ok", "parallel=2"))\nlet a = sample 20\na\nshow a rows=20\nbest a\n"
            + "let p = fit gcn a epochs=5\nlet b = topk (predict p on (draw 300)) 3\nb\nall\n"
        let reference = try toy()
        try write(script, reference.dir + "/s.npx")
        let full = try run(reference, ["run", "s.npx"], delay: 0.05)
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertTrue(full.stdout.contains("23 architectures (trainer sh toy.sh)"), full.stdout)

        let toy = try toy()
        try write(script, toy.dir + "/s.npx")
        let p = try start(toy, ["run", "s.npx"], delay: 0.2)
        let deadline = Date().addingTimeInterval(30)
        while toy.lines(toy.counter).count < 7 && Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let startedBeforeKill = toy.lines(toy.counter).count
        XCTAssertGreaterThanOrEqual(startedBeforeKill, 7)
        XCTAssertLessThan(startedBeforeKill, 20, "the kill came before the batch ended")
        // No trainer outlives npsh: every toy pid is gone (its parent-death signal).
        usleep(300_000)
        let pids = toy.lines(toy.log).compactMap { l -> Int32? in
            let f = l.split(separator: " "); return f.count == 4 && f[0] == "start" ? Int32(f[2]) : nil
        }
        for pid in pids { XCTAssertFalse(alive(pid), "trainer \(pid) still runs after npsh was killed") }
        let finishedBeforeKill = Set(toy.lines(toy.log).filter { $0.hasPrefix("end ") }.map { String($0.split(separator: " ")[1]) })

        let resumed = try run(toy, ["run", "s.npx"], delay: 0.05)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.stdout, full.stdout, "the resumed run prints what the uninterrupted one printed")
        // Nothing finished before the kill ran again; at most the two in flight ran twice.
        let all = toy.lines(toy.counter).map { String($0.split(separator: " ")[0]) }
        for trial in finishedBeforeKill { XCTAssertEqual(all.filter { $0 == trial }.count, 1, "finished trial \(trial) was trained again") }
        XCTAssertEqual(Set(all).count, 23)
        XCTAssertLessThanOrEqual(all.count, 23 + 2)

        // A replay trains nothing and prints the same bytes.
        let before = toy.lines(toy.counter).count
        let replay = try run(toy, ["run", "s.npx"])
        XCTAssertEqual(replay.stdout, full.stdout)
        XCTAssertEqual(toy.lines(toy.counter).count, before, "a replay trains nothing")
        XCTAssertTrue(replay.stderr.contains("trained 0 architectures, reused 20"), replay.stderr)
    }

    func testExitCodesRetriesTimeoutAndMissingResults() throws {
        let toy = try toy()
        try write("""
            seed 1
            space nb101
            \(toy.bench("exit3", "retries=2 ledger=\"a.sqlite\""))
            sample 2
            export trials to "exit3.json"
            \(toy.bench("flaky", "retries=2 ledger=\"b.sqlite\""))
            sample 2
            export trials to "flaky.json"
            \(toy.bench("hang", "timeout=0.5 grace=0.3 ledger=\"c.sqlite\""))
            sample 1
            export trials to "hang.json"
            \(toy.bench("noresult", "retries=1 ledger=\"d.sqlite\""))
            sample 1
            export trials to "noresult.json"

            """, toy.dir + "/codes.npx")
        let started = Date()
        let r = try run(toy, ["run", "codes.npx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        let out = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(out.filter { $0.hasPrefix("2 architectures") }.count, 2, r.stdout)
        XCTAssertEqual(out.filter { $0.hasPrefix("2 architectures") }.first, "2 architectures (trainer sh toy.sh) (2 failed)")
        XCTAssertTrue(out.contains { $0.hasPrefix("2 architectures (trainer sh toy.sh): val mean") }, r.stdout)
        XCTAssertTrue(out.contains("1 architecture (trainer sh toy.sh) (1 failed)"), r.stdout)
        func trials(_ name: String) throws -> [[String: Any]] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: toy.dir + "/" + name))) as! [[String: Any]]
        }
        // exit 3: failed for good, one attempt, never retried.
        for t in try trials("exit3.json") {
            XCTAssertEqual(t["status"] as? String, "failed")
            XCTAssertEqual(t["attempts"] as? Int, 1)
            XCTAssertTrue((t["message"] as? String ?? "").contains("status 3"))
        }
        // exit 1 twice, then success on the third attempt.
        for t in try trials("flaky.json") {
            XCTAssertEqual(t["status"] as? String, "done")
            XCTAssertEqual(t["attempts"] as? Int, 3)
            XCTAssertEqual(t["failures"] as? Int, 2)
            XCTAssertEqual((t["extra"] as? [String: Any])?["mode"] as? String, "flaky")
        }
        // A trainer that ignores SIGTERM is killed after the grace period: failed, not retried (retries=0).
        let hang = try trials("hang.json")
        XCTAssertEqual(hang.count, 1)
        XCTAssertEqual(hang[0]["status"] as? String, "failed")
        XCTAssertTrue((hang[0]["message"] as? String ?? "").contains("timeout"), "\(hang)")
        // Exit 0 without a result: retried once, then failed.
        let missing = try trials("noresult.json")
        XCTAssertEqual(missing[0]["status"] as? String, "failed")
        XCTAssertEqual(missing[0]["attempts"] as? Int, 2)
        XCTAssertTrue((missing[0]["message"] as? String ?? "").contains("wrote no result file"))
        // The failure notes name the trial and show its log's last lines.
        XCTAssertTrue(r.stderr.contains("exited with status 3: failed for good, not retried; log: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("  | CUDA out of memory"), r.stderr)
        XCTAssertTrue(r.stderr.contains("retrying (attempt 2): trial "), r.stderr)
        // Counts: exit3 ran twice (2 archs × 1), flaky 6 (2 × 3), hang 1, noresult 2.
        XCTAssertEqual(toy.lines(toy.counter).count, 2 + 6 + 1 + 2)
        // No toy process is left (the hung one ignored SIGTERM and got SIGKILL).
        usleep(200_000)
        for l in toy.lines(toy.log) where l.hasPrefix("start ") {
            XCTAssertFalse(alive(Int32(l.split(separator: " ")[2])!))
        }
    }

    /// Bad input: each a clear error naming the trial or file; nothing wrong recorded.
    func testBadTrainersAndResultsAreClearErrors() throws {
        let toy = try toy()
        func check(_ line: String, _ expected: String, file: StaticString = #filePath, lineNumber: UInt = #line) throws {
            try write("space nb101\n\(line)\nsample 1\n", toy.dir + "/bad.npx")
            let r = try run(toy, ["run", "bad.npx"])
            XCTAssertTrue(r.stderr.contains(expected), "\(line)\n\(r.stderr)", file: file, line: lineNumber)
            XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: lineNumber)
        }
        try check("bench trainer [\"no-such-trainer-xyz\", \"{arch}\"]", "trainer program 'no-such-trainer-xyz' not found on PATH")
        try check("bench trainer [\"./toy.sh\", \"{arch}\"]", "is not executable (chmod +x, or name its interpreter first")
        try check("bench trainer []", "the trainer command is empty")
        try check("bench trainer [\"sh\", \"{archh}\"]", "unknown placeholder {archh} in trainer argument 2")
        try check("bench trainer [\"sh\", \"--x={arch\"]", "unbalanced brace in trainer argument 2")
        try check("bench trainer \"sh train.py\"", "bench trainer takes a list of strings (the command's argv) or the word synthetic, got a string")
        try check("bench trainer [\"sh\", 3]", "the trainer command is a list of strings (an argv, never a shell line); got an integer in it")
        try check(toy.bench("notjson"), "wrote a result that is not a JSON object")
        try check(toy.bench("nan"), "wrote a result whose \"metric\" is nan")
        try check(toy.bench("string"), "wrote a result whose \"metric\" is not a number")
        try check(toy.bench("nometric"), "wrote a result without \"metric\"")
        try check(toy.bench("percent"), "wrote a result whose \"metric\" is 93.1, outside [0, 1] (the space's unit)")
        try check(toy.bench("huge"), "wrote a result of 2,000,000 bytes (at most 1,048,576)")
        // A flood of output is kept up to the cap; the rest is counted, not stored.
        try check(toy.bench("flood"), "1,951,424 more bytes not kept (the log keeps the first 1,048,576)]")
        let logs = try FileManager.default.subpathsOfDirectory(atPath: toy.dir + "/bad.ledger.trials").filter { $0.hasSuffix("stdout.log") }
        let sizes = try logs.map { try FileManager.default.attributesOfItem(atPath: toy.dir + "/bad.ledger.trials/" + $0)[.size] as! Int }
        XCTAssertTrue(sizes.contains { $0 > 1_000_000 && $0 < 1_100_000 }, "\(sizes)")
        // Nothing wrong was recorded as a result.
        try write("space nb101\n\(toy.bench("nan"))\nsample 1\nexport trials to \"t.json\"\n", toy.dir + "/t.npx")
        XCTAssertEqual(try run(toy, ["run", "t.npx"]).status, 0)
        let t = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: toy.dir + "/t.json"))) as! [[String: Any]]
        XCTAssertEqual(t.count, 1)
        XCTAssertEqual(t[0]["status"] as? String, "failed")
        XCTAssertNil(t[0]["metric"])
    }

    func testLedgerCorruptForeignAndLocked() throws {
        let toy = try toy()
        // Corrupt: not an SQLite file.
        try write(String(repeating: "garbage ", count: 1000), toy.dir + "/bad.sqlite")
        try write("space nb101\n\(toy.bench("ok", "ledger=\"bad.sqlite\""))\n", toy.dir + "/c.npx")
        let c = try run(toy, ["run", "c.npx"])
        XCTAssertEqual(c.status, 70)
        XCTAssertTrue(c.stderr.contains("bad.sqlite: not an npsh ledger: "), c.stderr)
        // Truncated: a real ledger cut in half.
        try write("space nb101\n\(toy.bench("ok", "ledger=\"t.sqlite\""))\nsample 30\n", toy.dir + "/t.npx")
        XCTAssertEqual(try run(toy, ["run", "t.npx"]).status, 0)
        let cut = toy.dir + "/t.sqlite"
        // Fold the WAL in first, as a copied file would be.
        let data = try Data(contentsOf: URL(fileURLWithPath: cut))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        try? FileManager.default.removeItem(atPath: cut + "-wal")
        try? FileManager.default.removeItem(atPath: cut + "-shm")
        let t = try run(toy, ["run", "t.npx"])
        XCTAssertNotEqual(t.status, 0, "a truncated ledger is refused, not half-read")
        XCTAssertTrue(t.stderr.contains("t.sqlite: not an npsh ledger"), t.stderr)
        // Another space's ledger.
        try write("space nb101\n\(toy.bench("ok", "ledger=\"s.sqlite\""))\n", toy.dir + "/s1.npx")
        XCTAssertEqual(try run(toy, ["run", "s1.npx"]).status, 0)
        try write("space proxyless\n\(toy.bench("ok", "ledger=\"s.sqlite\""))\n", toy.dir + "/s2.npx")
        let s = try run(toy, ["run", "s2.npx"])
        XCTAssertTrue(s.stderr.contains("s.sqlite: the ledger holds trials of space nb101, not proxyless"), s.stderr)
        // Locked by a live npsh; free again once it is gone, however it ended.
        try write("space nb101\n\(toy.bench("ok", "ledger=\"l.sqlite\""))\nsample 50\n", toy.dir + "/l.npx")
        let before = toy.lines(toy.counter).count
        let holder = try start(toy, ["run", "l.npx"], delay: 0.5)
        let deadline = Date().addingTimeInterval(20)
        while toy.lines(toy.counter).count == before && Date() < deadline { usleep(20_000) }
        let second = try run(toy, ["run", "l.npx"])
        XCTAssertEqual(second.status, 70)
        XCTAssertTrue(second.stderr.contains("l.sqlite: the ledger is in use by npsh process \(holder.processIdentifier)"), second.stderr)
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        try write("space nb101\n\(toy.bench("ok", "ledger=\"l.sqlite\""))\n", toy.dir + "/l2.npx")
        XCTAssertEqual(try run(toy, ["run", "l2.npx"]).status, 0, "a dead holder keeps no lease")
    }

    func testChangedSpecRetrainsWithANote() throws {
        let toy = try toy()
        try write("seed 2\nspace nb101\n\(toy.bench("ok", "seed=0"))\nsample 4\n", toy.dir + "/a.npx")
        XCTAssertEqual(try run(toy, ["run", "a.npx"]).status, 0)
        try write("seed 2\nspace nb101\n\(toy.bench("ok", "seed=1"))\nsample 4\n", toy.dir + "/b.npx")
        let b = try run(toy, ["run", "b.npx"], cwd: toy.dir)
        XCTAssertEqual(b.status, 0)
        // b.npx has its own ledger; run a.npx's ledger with the other seed.
        try write("seed 2\nspace nb101\n\(toy.bench("ok", "seed=1 ledger=\"a.ledger.sqlite\""))\nsample 4\n", toy.dir + "/c.npx")
        let c = try run(toy, ["run", "c.npx"])
        XCTAssertTrue(c.stderr.contains("a.ledger.sqlite holds 4 trials of another trainer command, metric or seed; they are not reused"), c.stderr)
        XCTAssertTrue(c.stderr.contains("trained 4 architectures, reused 0"), c.stderr)
        // {seed} differs between the specs.
        let seeds = toy.lines(toy.counter).map { $0.split(separator: " ")[2] }
        XCTAssertEqual(Set(seeds.prefix(4)).intersection(Set(seeds.suffix(4))).count, 0)
    }

    /// Ctrl-C (the session's interrupt) stops launching, ends the running trainers, records
    /// them as interrupted and keeps the session; the next run resumes them.
    func testInterruptEndsTrainersAndResumes() throws {
        let toy = try toy()
        let session = toy.inProcessSession(delay: 0.3, interruptAfter: 4)
        defer { Toy.clearEnvironment() }
        let e = Evaluator(session: session)
        let ledger = toy.dir + "/i.sqlite"
        var errors = ""
        let bench = toy.bench("ok", "parallel=2 ledger=\"\(ledger)\"", path: toy.trainer)
        let r = ScriptRunner().run(SourceFile(name: "i.npx", text: "seed 4\nspace nb101\n\(bench)\nlet a = sample 10\n"),
                                   evaluator: e, echo: nil) { errors += $0 }
        XCTAssertEqual(r.status, .runtime, errors)
        XCTAssertTrue(errors.contains("interrupted (Ctrl-C); training (10 trials; finished ones are kept in"), errors)
        XCTAssertNil(session.bindings["a"], "the statement changed nothing")
        // The trainers that were running were ended and recorded as interrupted.
        usleep(200_000)
        for l in toy.lines(toy.log) where l.hasPrefix("start ") { XCTAssertFalse(alive(Int32(l.split(separator: " ")[2])!)) }
        let ran = toy.lines(toy.counter).count
        XCTAssertLessThanOrEqual(ran, 5)
        // Resume in the same session: the interrupted trials run again, the finished do not.
        session.interruptRequested = { false }
        let r2 = ScriptRunner().run(SourceFile(name: "i.npx", text: "seed 4\nlet a = sample 10\nexport trials to \"\(toy.dir)/i.json\"\n"),
                                    evaluator: e, echo: nil) { errors += $0 }
        XCTAssertEqual(r2.status, .ok, errors)
        let finished = toy.lines(toy.log).filter { $0.hasPrefix("end ") }.count
        XCTAssertEqual(finished, 10)
        let t = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: toy.dir + "/i.json"))) as! [[String: Any]]
        XCTAssertEqual(t.count, 10)
        XCTAssertTrue(t.allSatisfy { $0["status"] as? String == "done" })
        XCTAssertTrue(t.contains { ($0["attempts"] as? Int ?? 0) == 2 }, "an interrupted trial ran a second attempt")
    }

    /// The synthetic trainer: npsh itself through the same machinery; same values as the
    /// synthetic table's official query semantics would give for its run.
    func testSyntheticTrainerSearchReplaysWithoutTraining() throws {
        let toy = try toy()
        try write("""
            seed 7
            space nb101
            bench trainer synthetic parallel=2 fail=0.05
            let s = search predictor n=20 k=10 runs=2 epochs=10
            s
            all
            let r = search random budget=15 runs=1
            r

            """, toy.dir + "/syn.npx")
        let first = try run(toy, ["run", "syn.npx", "--update"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try run(toy, ["run", "syn.npx", "--check"])
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr)
        for line in second.stderr.split(separator: "\n") where line.contains("note: trained ") {
            XCTAssertTrue(line.contains("note: trained 0 architectures"), String(line))
        }
        let text = try String(contentsOfFile: toy.dir + "/syn.npx", encoding: .utf8)
        XCTAssertTrue(text.contains("#> search gcn N=20, 2 runs (synthetic trainer)"), text)
        XCTAssertFalse(text.contains("—"), "every budget has a time: failed trials count none")
    }

    /// The README's "Train for real" session, typed as written, from a folder holding the
    /// example trainer where the README says it is.
    func testReadmeTrainForRealRunsAsWritten() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let readme = try String(contentsOfFile: repo + "/README.md", encoding: .utf8)
        guard let section = readme.components(separatedBy: "## Train for real").dropFirst().first?.components(separatedBy: "```").dropFirst().first else {
            return XCTFail("README has no Train for real example")
        }
        let lines = section.split(separator: "\n").filter { $0.hasPrefix("npsh> ") }.map { String($0.dropFirst(6)) }
        XCTAssertGreaterThanOrEqual(lines.count, 5)
        let toy = try toy()
        try FileManager.default.createDirectory(atPath: toy.dir + "/examples/trainers", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repo + "/examples/trainers/toy_trainer.py", toPath: toy.dir + "/examples/trainers/toy_trainer.py")
        try write(lines.joined(separator: "\n") + "\n", toy.dir + "/readme.npx")
        let r = try run(toy, ["run", "readme.npx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("best: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("53 trials in readme.ledger.sqlite: 53 done"), r.stdout)
        // Closed at the end: the ledger is one file.
        XCTAssertFalse(FileManager.default.fileExists(atPath: toy.dir + "/readme.ledger.sqlite-wal"))
    }

    /// The PyTorch NB101 trainer, where torch is installed (not required in CI; the Python is
    /// $NPSH_TORCH_PYTHON, else python3): one epoch of a narrow network on random images for
    /// a few cells, through the contract.
    func testTorchTrainerWhereTorchIsInstalled() throws {
        let python = ProcessInfo.processInfo.environment["NPSH_TORCH_PYTHON"] ?? "python3"
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = [python, "-c", "import torch"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("torch is not installed for \(python) (set NPSH_TORCH_PYTHON); the PyTorch trainer's test needs it") }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let toy = try toy()
        try write("""
            seed 1
            space nb101
            bench trainer ["\(python)", "\(repo)/examples/trainers/nb101_torch.py", "--arch", "{arch}", "--out", "{result}", "--seed", "{seed}", "--data", "fake", "--epochs", "1", "--channels", "8", "--limit", "64", "--batch", "32"] timeout=600 parallel=2
            let a = sample 6
            show a

            """, toy.dir + "/torch.npx")
        let r = try run(toy, ["run", "torch.npx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("6 architectures (trainer "), r.stdout)
        XCTAssertFalse(r.stdout.contains("failed"), r.stdout + r.stderr)
    }

    /// A REPL session that trained on the default ledger saves a script that names it, so
    /// the replay trains nothing.
    func testREPLSaveNamesTheDefaultLedger() throws {
        let toy = try toy()
        setenv("TOY_LOG", toy.log, 1)
        setenv("TOY_COUNTER", toy.counter, 1)
        defer { unsetenv("TOY_LOG"); unsetenv("TOY_COUNTER") }
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(toy.dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        final class Box: @unchecked Sendable { var out = "", err = "" }
        let box = Box()
        let session = Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { box.out += $0 + "\n" }, diagnostics: { box.err += $0 + "\n" })
        let repl = REPL(evaluator: Evaluator(session: session), reader: LineReader(interactive: false, historyPath: nil), renderer: DiagnosticRenderer(colour: false),
                        write: { box.out += $0 }, writeError: { box.err += $0 }, resetInterrupt: {})
        for line in ["space nb101", toy.bench("ok", "parallel=2"), "let a = sample 6", "a", "save \"saved.npx\""] { repl.execute(line) }
        session.close()
        XCTAssertTrue(box.out.contains("saved 4 statements to saved.npx"), box.out + box.err)
        let saved = try String(contentsOfFile: toy.dir + "/saved.npx", encoding: .utf8)
        XCTAssertTrue(saved.contains(toy.bench("ok", "parallel=2") + " ledger=\"npsh.ledger.sqlite\""), saved)
        XCTAssertEqual(toy.lines(toy.counter).count, 6)
        let replay = try run(toy, ["run", "saved.npx"])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertEqual(toy.lines(toy.counter).count, 6, "the replay reuses the REPL's ledger")
        XCTAssertTrue(replay.stdout.contains("6 architectures (trainer sh toy.sh)"), replay.stdout)
    }

    /// A user space whose header gives the rules: sample draws new graphs and trains them,
    /// predict and topk work on a draw pool, and the replay trains nothing.
    func testUserSpaceTrainsGeneratedArchitectures() throws {
        let toy = try toy()
        try write(#"{"npsh_space": "g", "ops": ["in", "conv", "pool", "out"], "metric": "val_acc", "unit": "fraction", "input": "in", "output": "out", "max_vertices": 6, "max_edges": 7}"# + "\n",
                  toy.dir + "/g.jsonl")
        try write("seed 3\nspace \"g.jsonl\"\n\(toy.bench("ok", "parallel=2"))\nlet a = sample 12\na\nlet p = fit gcn a epochs=5\n"
                  + "let b = topk (predict p on (draw 200)) 4\nb\nbest a + b\n", toy.dir + "/u.npx")
        let r = try run(toy, ["run", "u.npx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("12 architectures (trainer sh toy.sh): val mean"), r.stdout)
        XCTAssertTrue(r.stdout.contains("4 architectures (trainer sh toy.sh): val mean"), r.stdout)
        XCTAssertEqual(toy.lines(toy.counter).count, 16)
        let arch = try toy.firstTrialArch("u.ledger.trials")
        XCTAssertTrue(arch.contains("\"ops\": [\"in\"") && arch.contains("\"edges\": [["), arch)
        let replay = try run(toy, ["run", "u.npx"])
        XCTAssertEqual(replay.stdout, r.stdout)
        XCTAssertEqual(toy.lines(toy.counter).count, 16, "the replay trains nothing")
        // A space without rules says how to give them.
        try write(#"{"npsh_space": "h", "ops": ["in", "conv", "out"], "metric": "val_acc", "unit": "fraction"}"# + "\n" + #"{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "val_acc": 0.5}"# + "\n",
                  toy.dir + "/h.jsonl")
        try write("space \"h.jsonl\"\n\(toy.bench())\nsample 2\n", toy.dir + "/h.npx")
        let h = try run(toy, ["run", "h.npx"])
        XCTAssertTrue(h.stderr.contains("space h cannot make new architectures; give its header \"input\", \"output\", \"max_vertices\" and \"max_edges\""), h.stderr)
    }

    /// ProxylessNAS with a trainer: sample draws new architectures (the space is too large to
    /// list), predict and topk work on a draw pool, and the architecture file holds the codes.
    func testProxylessTrainsDrawnArchitectures() throws {
        let toy = try toy()
        try write("seed 4\nspace proxyless\n\(toy.bench("ok", "parallel=2"))\nlet a = sample 12\na\nlet p = fit gcn a epochs=3\n"
                  + "let b = topk (predict p on (draw 100)) 3\nb\nall\n", toy.dir + "/px.npx")
        let r = try run(toy, ["run", "px.npx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("12 architectures (trainer sh toy.sh): val mean"), r.stdout)
        XCTAssertTrue(r.stdout.contains("15 architectures (trainer sh toy.sh)"), r.stdout)
        let arch = try toy.firstTrialArch("px.ledger.trials")
        XCTAssertTrue(arch.contains("\"arch\": ["), arch)
        // predict without a pool says how to give one.
        try write("space proxyless\n\(toy.bench())\nlet a = sample 12\nlet p = fit gcn a epochs=1\npredict p\n", toy.dir + "/px2.npx")
        let bad = try run(toy, ["run", "px2.npx"])
        XCTAssertTrue(bad.stderr.contains("space proxyless is too large to list; give the candidates"), bad.stderr)
    }
}
