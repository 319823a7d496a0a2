import Foundation
@testable import Runtime
import XCTest

/// The npsh executable, driven as a user drives it: exit codes, notebooks, standard input.
final class CLITests: XCTestCase {
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if url.lastPathComponent == "MacOS" { for _ in 0..<3 { url.deleteLastPathComponent() } }
        return url.appendingPathComponent("npsh").path
    }()

    func testVersionAndHelp() throws {
        let v = try npsh(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.hasPrefix("npsh "))
        let h = try npsh(["run", "--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("--check"))
    }

    func testExitCodes() throws {
        XCTAssertEqual(try npsh(["run", "/no/such.npx"]).status, 64)
        XCTAssertTrue(try npsh(["run", "/no/such.npx"]).stderr.contains("/no/such.npx: no such file"))
        XCTAssertEqual(try npsh(["run", "--update", "--check", try script("seed 1\n")]).status, 64)
        XCTAssertEqual(try npsh(["run", "--bogus", try script("seed 1\n")]).status, 64)
        let syntax = try npsh(["run", try script("let = 1\nseed 1 )\n", name: "bad.npx")])
        XCTAssertEqual(syntax.status, 65)
        XCTAssertTrue(syntax.stderr.contains("bad.npx:1:5: error: expected a name after 'let'"))
        XCTAssertTrue(syntax.stderr.contains("bad.npx:2:8: error: expected end of line"))
        // Found before anything runs (a literal out of range): exit 65, like a syntax error.
        let early = try npsh(["run", try script("seed 1\nsample 0\nseed 2\n", name: "rt.npx")])
        XCTAssertEqual(early.status, 65)
        XCTAssertTrue(early.stderr.contains("rt.npx:2:8: error: 'sample' n must be at least 1, got 0"))
        XCTAssertTrue(early.stderr.contains("  sample 0\n         ^\n"))
        // Found while running (the value comes from a binding): exit 70, after the output so far.
        let runtime = try npsh(["run", try script("seed 1\nlet n = 0\nn\nsample n\nseed 2\n", name: "rt2.npx")])
        XCTAssertEqual(runtime.status, 70)
        XCTAssertEqual(runtime.stdout, "0\n")
        XCTAssertTrue(runtime.stderr.contains("rt2.npx:4:8: error: 'sample' n must be at least 1, got 0"), runtime.stderr)
    }

    func testRunPrintsOutputAndIsByteIdentical() throws {
        let path = try script("seed 5\nlet s = sample 8\nshow s\nbest s\n")
        let a = try npsh(["run", path]), b = try npsh(["run", path])
        XCTAssertEqual(a.status, 0)
        XCTAssertTrue(a.stdout.contains("8 architectures (synthetic)"))
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertFalse(a.stdout.contains("note:"), "notes go to standard error")
        let seeded = try npsh(["run", "--seed", "6", path])
        XCTAssertNotEqual(seeded.stdout, a.stdout, "--seed overrides the script's seed")
        XCTAssertEqual(seeded.stdout, try npsh(["run", "--seed", "6", path]).stdout)
    }

    func testStandardInput() throws {
        let viaDash = try npsh(["run", "-"], stdin: "seed 5\nsample 3\n")
        XCTAssertEqual(viaDash.status, 0)
        let viaPipe = try npsh([], stdin: "seed 5\nsample 3\n")
        XCTAssertEqual(viaPipe.status, 0)
        XCTAssertEqual(viaDash.stdout, viaPipe.stdout)
        XCTAssertFalse(viaPipe.stdout.contains("npsh>"), "no prompts when input is not a terminal")
        XCTAssertEqual(try npsh([], stdin: "smaple 3\n").status, 65)
    }

    func testNotebookUpdateAndCheck() throws {
        let path = try script("# a notebook\nseed 9\nlet s = sample 4\ns\nbest s\n")
        XCTAssertEqual(try npsh(["run", path, "--check"]).status, 1, "no outputs recorded yet")
        let u = try npsh(["run", path, "--update"])
        XCTAssertEqual(u.status, 0, u.stderr)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("s\n#> 4 architectures (synthetic)"))
        XCTAssertTrue(text.contains("best s\n#> best: "))
        XCTAssertEqual(try npsh(["run", path, "--check"]).status, 0)
        // Updating again changes nothing.
        _ = try npsh(["run", path, "--update"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), text)
        // A changed output fails the check with a unified diff.
        try text.replacingOccurrences(of: "seed 9", with: "seed 10").write(toFile: path, atomically: true, encoding: .utf8)
        let c = try npsh(["run", path, "--check"])
        XCTAssertEqual(c.status, 1)
        XCTAssertTrue(c.stdout.contains("--- \(path)"))
        XCTAssertTrue(c.stdout.contains("@@ "))
        XCTAssertTrue(c.stdout.contains("\n-#> 4 architectures"))
        XCTAssertTrue(c.stderr.contains("output differs"))
    }
}

extension CLITests {
    func testBenchFromTFRecordThenFromItsCacheAndExport() throws {
        let dir = temporaryFolder(self)
        // A small official-format file: the first 50 cells of the synthetic landscape.
        let syn = try BenchmarkStore(cacheDirectory: GoldenTests.cache).synthetic()
        var builder = BenchmarkBuilder()
        for i in 0..<50 {
            let row = builder.add(hash: syn.hashes[i], cell: syn.cells[i], parameters: 123)
            for r in syn.budgets[0].runs(i) { builder.addRun(row, epochs: 108, r) }
        }
        let file = dir + "/small.tfrecord"
        try NB101TFRecordWriter.write(builder.build(source: .synthetic), to: file)
        let cacheDir = dir + "/cache"
        func run(_ text: String) throws -> CLIResult {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = ["run", "-"]
            p.environment = ProcessInfo.processInfo.environment.merging(["NPSH_CACHE": cacheDir]) { $1 }
            let out = Pipe(), err = Pipe(), inp = Pipe()
            p.standardOutput = out; p.standardError = err; p.standardInput = inp
            try p.run()
            inp.fileHandleForWriting.write(Data(text.utf8))
            try inp.fileHandleForWriting.close()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
        let first = try run("bench \"\(file)\"\nall\n")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("50 cells, 150 runs at 108 epochs"))
        XCTAssertTrue(first.stderr.contains("imported"))
        let caches = try FileManager.default.contentsOfDirectory(atPath: cacheDir).filter { $0.hasSuffix(".sqlite") }
        XCTAssertEqual(caches.count, 1)
        let cache = cacheDir + "/" + caches[0]
        let out = dir + "/all.json"
        let second = try run("bench \"\(cache)\"\nexport all to \"\(out)\"\n")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("50 cells, 150 runs at 108 epochs"))
        let json = try JSONValue.parse(try String(contentsOfFile: out, encoding: .utf8))
        XCTAssertEqual(json.array?.count, 50)
        let item = json.array![0]
        XCTAssertEqual(item["hash"]?.string, syn.hashes[0].hex)
        XCTAssertNotNil(item["matrix"]?.array)
        XCTAssertNotNil(item["ops"]?.array)
        let meanVal = syn.budgets[0].runs(0).map { Double($0.validationAccuracy) }.reduce(0, +) / 3 * 100
        XCTAssertEqual(item["val"]!.number!, meanVal, accuracy: 1e-6, "val is the mean over runs, in percent")
        XCTAssertNotNil(item["test"]?.number)
        // Changing the source makes the cache stale: opening the cache directly is refused.
        try NB101TFRecordWriter.write(builder.build(source: .synthetic), to: file)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 100)], ofItemAtPath: file)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        try data.dropLast(4).write(to: URL(fileURLWithPath: file))
        let third = try run("bench \"\(cache)\"\n")
        XCTAssertEqual(third.status, 70)
        XCTAssertTrue(third.stderr.contains("stale cache"), third.stderr)
    }
}

/// Running the npsh executable from any test.
extension XCTestCase {
    struct CLIResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// An npsh started by a test: its process and pipes.
    struct RunningNpsh {
        let process: Process
        let stdin: Pipe, stdout: Pipe, stderr: Pipe

        /// Waits for it to end, reading both outputs at once (a full pipe never stalls it).
        func finish() -> CLIResult {
            final class Box: @unchecked Sendable { var data = Data() }
            let box = Box(), group = DispatchGroup(), err = stderr
            group.enter()
            DispatchQueue.global().async { box.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            let o = stdout.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            return CLIResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: box.data, as: UTF8.self))
        }
    }

    /// Starts the npsh binary (a skip, or under CI=true a failure, when it is not built) with
    /// the shared test cache and `environment` added.
    func startNpsh(_ args: [String], cwd: String? = nil, environment: [String: String] = [:]) throws -> RunningNpsh {
        guard FileManager.default.isExecutableFile(atPath: CLITests.binary) else {
            let message = "npsh binary not found at \(CLITests.binary); build it with swift build first"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message + " (CI=true: a failure, not a skip)") }
            throw XCTSkip(message)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["NPSH_CACHE"] = GoldenTests.cache
        env.merge(environment) { $1 }
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let running = RunningNpsh(process: p, stdin: Pipe(), stdout: Pipe(), stderr: Pipe())
        p.standardOutput = running.stdout
        p.standardError = running.stderr
        p.standardInput = running.stdin
        try p.run()
        return running
    }

    func npsh(_ args: [String], stdin: String? = nil, cwd: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let r = try startNpsh(args, cwd: cwd, environment: environment)
        if let stdin { r.stdin.fileHandleForWriting.write(Data(stdin.utf8)) }
        try r.stdin.fileHandleForWriting.close()
        return r.finish()
    }

    func script(_ text: String, name: String = "s.npx") throws -> String {
        let dir = temporaryFolder(self)
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

}
