import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// Trials on Slurm (issue 14), against a real one-node Slurm (scripts/slurm-local start;
/// .ci/run starts it). Without one these tests skip with a message, except under CI=true,
/// where a missing cluster is a failure.
final class SlurmTests: XCTestCase {
    typealias Toy = TrainerTests.Toy

    func toy() throws -> Toy {
        let t = Toy(dir: temporaryFolder(self))
        try TrainerTests.toyTrainer.write(toFile: t.trainer, atomically: true, encoding: .utf8)
        return t
    }

    func environment(_ toy: Toy, delay: Double) -> [String: String] {
        ["TOY_LOG": toy.log, "TOY_COUNTER": toy.counter, "TOY_DELAY": String(delay)]
    }

    func run(_ toy: Toy, _ args: [String], delay: Double) throws -> CLIResult {
        try npsh(args, cwd: toy.dir, environment: environment(toy, delay: delay))
    }

    /// The cluster's MaxArraySize, after checking that a node answers.
    func requireSlurm() throws -> Int {
        let sinfo = try? runCommand(["sinfo", "--noheader", "--format=%T"])
        guard let s = sinfo, s.code == 0, s.output.contains("idle") || s.output.contains("mix") || s.output.contains("alloc") else {
            let message = "no Slurm node answers (sinfo: \(sinfo.map { ($0.errors + $0.output).prefix(200) } ?? "not found")); start one with scripts/slurm-local start"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message + " (CI=true: a failure, not a skip)") }
            throw XCTSkip(message)
        }
        return SlurmClient().maxArraySize()
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func arrays(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/arrays")) ?? []).filter { $0.hasPrefix("npsh-") }.sorted()
    }

    func trials(_ path: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [[String: Any]]
    }

    /// Drops the bench line, the one line that says where trials ran.
    func withoutBench(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("bench: ") }.joined(separator: "\n")
    }

    func testSampleOnSlurmEqualsLocalAndSplitsAtMaxArraySize() throws {
        let maxArray = try requireSlurm()
        let dir = temporaryFolder(self)
        func script(_ placement: String) -> String {
            "seed 3\nspace nb101\nbench trainer synthetic \(placement)\nlet s = sample 8\nshow s\nbest s\nexport s to \"s.json\"\n"
        }
        for (name, placement) in [("local", "ledger=\"local.sqlite\""), ("slurm", "on slurm poll=0.3 ledger=\"slurm.sqlite\" dir=\"runs\"")] {
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try script(placement).write(toFile: dir + "/\(name)/s.npx", atomically: true, encoding: .utf8)
        }
        let local = try npsh(["run", "s.npx"], cwd: dir + "/local")
        let slurm = try npsh(["run", "s.npx"], cwd: dir + "/slurm")
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        XCTAssertEqual(withoutBench(slurm.stdout), withoutBench(local.stdout), "the same set, results and output on Slurm")
        XCTAssertTrue(slurm.stdout.contains("bench: synthetic trainer (the synthetic landscape through real subprocesses, not real training) on Slurm"), slurm.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/slurm/s.json")), try Data(contentsOf: URL(fileURLWithPath: dir + "/local/s.json")))
        // One array per MaxArraySize trials; every task ran `npsh trial exec` and wrote one outcome.
        XCTAssertEqual(arrays(dir + "/slurm/runs").count, (8 + maxArray - 1) / maxArray, "arrays: \(arrays(dir + "/slurm/runs")), MaxArraySize \(maxArray)")
        let outcomes = (try FileManager.default.subpathsOfDirectory(atPath: dir + "/slurm/runs")).filter { $0.hasSuffix("outcome-1.json") }
        XCTAssertEqual(outcomes.count, 8)
        // A second run trains nothing: every result comes from the ledger.
        let again = try npsh(["run", "s.npx"], cwd: dir + "/slurm")
        XCTAssertEqual(again.stdout, slurm.stdout)
        XCTAssertTrue(again.stderr.contains("trained 0 architectures, reused 8"), again.stderr)
    }

    func testKillNineAdoptsTheRunsArraysAndTrainsEachTrialOnce() throws {
        let maxArray = try requireSlurm()
        let script = "seed 11\nspace nb101\n\(Toy(dir: "").bench("ok", "on slurm poll=0.3 dir=\"runs\""))\nlet a = sample 6\nshow a\nbest a\n"
        let reference = try toy()
        try script.write(toFile: reference.dir + "/s.npx", atomically: true, encoding: .utf8)
        let full = try run(reference, ["run", "s.npx"], delay: 0.5)
        XCTAssertEqual(full.status, 0, full.stderr)

        let toy = try toy()
        try script.write(toFile: toy.dir + "/s.npx", atomically: true, encoding: .utf8)
        let running = try startNpsh(["run", "s.npx"], cwd: toy.dir, environment: environment(toy, delay: 1.5))
        try running.stdin.fileHandleForWriting.close()
        running.stdout.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        running.stderr.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        let p = running.process
        let deadline = Date().addingTimeInterval(60)
        while lines(toy.counter).isEmpty && Date() < deadline { usleep(50_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let submitted = arrays(toy.dir + "/runs")
        XCTAssertEqual(submitted.count, (6 + maxArray - 1) / maxArray, "every array was submitted before the kill")
        XCTAssertLessThan(lines(toy.counter).count, 6, "the kill came while the arrays ran")

        let resumed = try run(toy, ["run", "s.npx"], delay: 1.5)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(resumed.stdout, full.stdout, "the resumed run prints what an uninterrupted one printed")
        XCTAssertEqual(arrays(toy.dir + "/runs"), submitted, "nothing was submitted twice")
        let ran = lines(toy.counter).map { String($0.split(separator: " ")[0]) }
        XCTAssertEqual(ran.count, 6, "every trial ran exactly once: \(ran)")
        XCTAssertEqual(Set(ran).count, 6)
    }

    func testCancelledTaskIsRetriedAndExitThreeIsNot() throws {
        _ = try requireSlurm()
        let toy = try toy()
        let script = """
            seed 2
            space nb101
            \(toy.bench("ok", "on slurm poll=0.3 dir=\"runs\" retries=1 ledger=\"ok.sqlite\""))
            let a = sample 2
            export trials to "ok.json"
            \(toy.bench("exit3", "on slurm poll=0.3 dir=\"runs\" retries=2 ledger=\"exit3.sqlite\""))
            let b = sample 2
            b
            export trials to "exit3.json"

            """
        try script.write(toFile: toy.dir + "/s.npx", atomically: true, encoding: .utf8)
        let p = try startNpsh(["run", "s.npx"], cwd: toy.dir, environment: environment(toy, delay: 4))
        try p.stdin.fileHandleForWriting.close()
        // scancel one running task behind npsh's back.
        var cancelled = ""
        let deadline = Date().addingTimeInterval(60)
        while cancelled.isEmpty && Date() < deadline {
            usleep(100_000)
            guard lines(toy.counter).count >= 1 else { continue }
            let q = try runCommand(["squeue", "--me", "--noheader", "--array", "--states=RUNNING", "--format=%i|%j"])
            if let line = q.output.split(separator: "\n").first(where: { $0.contains("|npsh-") }) {
                cancelled = String(line.split(separator: "|")[0])
                XCTAssertEqual(try runCommand(["scancel", cancelled]).code, 0)
            }
        }
        XCTAssertFalse(cancelled.isEmpty, "no task was seen running")
        let r = p.finish()
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("retrying (attempt 2)") && r.stderr.contains("ended on Slurm without an outcome (task \(cancelled)"), r.stderr)
        let ok = try trials(toy.dir + "/ok.json")
        XCTAssertEqual(ok.map { $0["status"] as? String }, ["done", "done"])
        XCTAssertEqual(ok.compactMap { $0["attempts"] as? Int }.sorted(), [1, 2], "the cancelled trial ran again, once")
        // exit 3: failed for good after one attempt each, never resubmitted.
        let failed = try trials(toy.dir + "/exit3.json")
        XCTAssertEqual(failed.map { $0["status"] as? String }, ["failed", "failed"])
        XCTAssertEqual(failed.map { $0["attempts"] as? Int }, [1, 1])
        XCTAssertTrue(r.stdout.contains("2 architectures (trainer sh toy.sh) (2 failed)"), r.stdout)
    }

    func testSearchRunsOnSlurmEqualTheLocalCurveByteForByte() throws {
        _ = try requireSlurm()
        let dir = temporaryFolder(self)
        // A benchmark table of 200 cells, from the synthetic landscape.
        try "seed 8\nlet s = sample 200\nexport s to \"set.json\"\n".write(toFile: dir + "/make.npx", atomically: true, encoding: .utf8)
        XCTAssertEqual(try npsh(["run", "make.npx"], cwd: dir).status, 0)
        let items = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/set.json"))) as! [[String: Any]]
        let table = try items.map { item -> String in
            let row: [String: Any] = ["matrix": item["matrix"]!, "ops": item["ops"]!, "val_acc_108": (item["val"] as! Double) / 100]
            return String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
        }
        try (table.joined(separator: "\n") + "\n").write(toFile: dir + "/table.jsonl", atomically: true, encoding: .utf8)
        func script(_ placement: String) -> String {
            """
            seed 4
            let p = search predictor runs=6 n=20 k=10 epochs=3 dim=16 \(placement.replacingOccurrences(of: "T", with: "3"))
            p
            export p to "p.json"
            bench "table.jsonl"
            let r = search random runs=5 budget=40 \(placement.replacingOccurrences(of: "T", with: "2"))
            r
            export r to "r.json"

            """
        }
        try script("").write(toFile: dir + "/local.npx", atomically: true, encoding: .utf8)
        try script("on slurm tasks=T poll=0.3").write(toFile: dir + "/slurm.npx", atomically: true, encoding: .utf8)
        let local = try npsh(["run", "local.npx"], cwd: dir)
        XCTAssertEqual(local.status, 0, local.stderr)
        let localCurves = try ["p.json", "r.json"].map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) }
        let slurm = try npsh(["run", "slurm.npx"], cwd: dir)
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        XCTAssertEqual(slurm.stdout, local.stdout)
        XCTAssertEqual(try ["p.json", "r.json"].map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) }, localCurves,
                       "the exported curves are the local ones, byte for byte")
        // Three tasks, then two, each with its share of the runs.
        let searches = try FileManager.default.contentsOfDirectory(atPath: dir + "/slurm.slurm/searches").sorted()
        XCTAssertEqual(searches.count, 2)
        let tasks = try searches.map { try FileManager.default.contentsOfDirectory(atPath: dir + "/slurm.slurm/searches/" + $0).filter { $0.hasPrefix("task-") }.count }
        XCTAssertEqual(tasks.sorted(), [2, 3])
    }

    func testReadmeOnASlurmClusterRunsAsWritten() throws {
        _ = try requireSlurm()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let readme = try String(contentsOfFile: repo + "/README.md", encoding: .utf8)
        guard let section = readme.components(separatedBy: "## On a Slurm cluster").dropFirst().first?.components(separatedBy: "```").dropFirst().first else {
            return XCTFail("README has no Slurm example")
        }
        let lines = section.split(separator: "\n").filter { $0.hasPrefix("npsh> ") }.map { String($0.dropFirst(6)) }
        XCTAssertGreaterThanOrEqual(lines.count, 5)
        let dir = temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: dir + "/examples/trainers", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repo + "/examples/trainers/toy_trainer.py", toPath: dir + "/examples/trainers/toy_trainer.py")
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/readme.npx", atomically: true, encoding: .utf8)
        let r = try npsh(["run", "readme.npx"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("best: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("8 trials in readme.ledger.sqlite: 8 done"), r.stdout)
        XCTAssertTrue(r.stdout.contains("search gcn N=20, 4 runs (synthetic)"), r.stdout)
        XCTAssertFalse(arrays(dir + "/runs").isEmpty, "the trials ran as job arrays in dir=")
    }

    func testCtrlCCancelsTheRunsJobsAndRecordsThemInterrupted() throws {
        _ = try requireSlurm()
        let toy = try toy()
        let session = toy.inProcessSession(delay: 3, interruptAfter: 1)
        defer { Toy.clearEnvironment() }
        session.executable = CLITests.binary
        let e = Evaluator(session: session)
        let bench = toy.bench("ok", "on slurm poll=0.3 dir=\"\(toy.dir)/runs\" ledger=\"\(toy.dir)/c.sqlite\"", path: toy.trainer)
        var errors = ""
        let r = ScriptRunner().run(SourceFile(name: "c.npx", text: "seed 6\nspace nb101\n\(bench)\nlet a = sample 3\n"),
                                   evaluator: e, echo: nil) { errors += $0 }
        XCTAssertEqual(r.status, .runtime, errors)
        XCTAssertTrue(errors.contains("interrupted (Ctrl-C); training (3 trials; finished ones are kept in"), errors)
        // scancel took the run's jobs off the queue.
        let deadline = Date().addingTimeInterval(20)
        var left = "?"
        while Date() < deadline {
            left = try runCommand(["squeue", "--me", "--noheader", "--array", "--format=%j"]).output
                .split(separator: "\n").filter { $0.hasPrefix("npsh-") }.joined(separator: ",")
            if left.isEmpty { break }
            usleep(200_000)
        }
        XCTAssertEqual(left, "", "the run's jobs were cancelled")
        // Resumed in the same session: every trial ends done, the interrupted ones on a second attempt.
        session.interruptRequested = { false }
        setenv("TOY_DELAY", "0", 1)
        let r2 = ScriptRunner().run(SourceFile(name: "c.npx", text: "seed 6\nlet a = sample 3\nexport trials to \"\(toy.dir)/c.json\"\n"),
                                    evaluator: e, echo: nil) { errors += $0 }
        XCTAssertEqual(r2.status, .ok, errors)
        let t = try trials(toy.dir + "/c.json")
        XCTAssertEqual(t.map { $0["status"] as? String }, ["done", "done", "done"])
        XCTAssertTrue(t.contains { ($0["attempts"] as? Int ?? 0) == 2 }, "an interrupted trial ran a second attempt: \(t)")
    }

    func testBadSlurmSettingsAreClearErrors() throws {
        _ = try requireSlurm()
        let dir = temporaryFolder(self)
        func run(_ line: String) throws -> CLIResult {
            try "space nb101\n\(line)\nsample 2\n".write(toFile: dir + "/s.npx", atomically: true, encoding: .utf8)
            return try npsh(["run", "s.npx"], cwd: dir)
        }
        // sbatch refuses a partition the cluster lacks: its own message is quoted.
        var r = try run("bench trainer synthetic on slurm partition=\"nosuch\" poll=0.3")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("Slurm refused the job array (sbatch): sbatch: error: invalid partition specified: nosuch"), r.stderr)
        // dir= that cannot be written.
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        r = try run("bench trainer synthetic on slurm dir=\"file/runs\"")
        XCTAssertTrue(r.stderr.contains("file/runs: dir= must be a folder that npsh and every node can write"), r.stderr)
        // Slurm's options without `on slurm`, and `on slurm` without a trainer.
        r = try run("bench trainer synthetic partition=\"gpu\"")
        XCTAssertTrue(r.stderr.contains("partition= is an option of a trainer on Slurm"), r.stderr)
        r = try run("bench synthetic on slurm")
        XCTAssertTrue(r.stderr.contains("on slurm runs a trainer's trials"), r.stderr)
    }
}
