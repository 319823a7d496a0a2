import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// What a new user hit first (issue 11): each bug has a test here that failed before its fix.
final class NewUserTests: XCTestCase {
    /// A fresh session over the shared test cache.
    func evaluator() -> (Evaluator, () -> [String]) {
        final class Box: @unchecked Sendable { var notes: [String] = [] }
        let box = Box()
        let session = Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { box.notes.append($0) })
        return (Evaluator(session: session), { box.notes })
    }

    /// Runs a script in a fresh session: status, each statement's output, diagnostics.
    func run(_ text: String, name: String = "s.npx", in given: Evaluator? = nil) -> (ExitStatus, String, String) {
        let e = given ?? evaluator().0
        var errors = ""
        let r = ScriptRunner().run(SourceFile(name: name, text: text), evaluator: e, echo: nil) { errors += $0 }
        return (r.status, r.outputs.map(\.text).filter { !$0.isEmpty }.joined(separator: "\n"), errors)
    }

    // 1. A binary or one-huge-line script: one error, bounded output, no raw control bytes.
    func testBinaryAndHugeLinesAreRefusedCheaply() throws {
        let dir = temporaryFolder(self)
        let binary = dir + "/bin.npx"
        try Data([0x73, 0x65, 0x65, 0x64, 0x00, 0x01, 0xFF] + [UInt8](repeating: 7, count: 100_000)).write(to: URL(fileURLWithPath: binary))
        let b = try npsh(["run", binary])
        XCTAssertEqual(b.status, 65)
        XCTAssertEqual(b.stderr, "\(binary): error: a NUL byte at line 1, byte 5: this is not a text file\n")
        let latin1 = dir + "/latin1.npx"
        try Data("seed 1\n# caf".utf8 + [0xE9] + Data("\n".utf8)).write(to: URL(fileURLWithPath: latin1))
        XCTAssertEqual(try npsh(["run", latin1]).stderr, "\(latin1): error: invalid UTF-8 at line 2, byte 13: scripts are UTF-8 text\n")
        // 40 KB of one control character without a newline: one error, a window of the line.
        let control = dir + "/ctl.npx"
        try String(repeating: "\u{01}", count: 40_000).write(toFile: control, atomically: true, encoding: .utf8)
        let c = try npsh(["run", control])
        XCTAssertEqual(c.status, 65)
        XCTAssertLessThan(c.stderr.utf8.count, 1_000, c.stderr)
        XCTAssertTrue(c.stderr.contains("40000 unexpected characters '␁␁␁…'"), c.stderr)
        XCTAssertFalse(c.stderr.unicodeScalars.contains { $0.value < 32 && $0 != "\n" }, "control bytes are never echoed raw")
        // Many separate errors on one long line: at most 20, then "too many errors".
        let many = dir + "/many.npx"
        try String(repeating: "\u{01}a", count: 20_000).write(toFile: many, atomically: true, encoding: .utf8)
        let m = try npsh(["run", many])
        XCTAssertEqual(m.status, 65)
        XCTAssertLessThan(m.stderr.utf8.count, 12_000)
        XCTAssertEqual(m.stderr.components(separatedBy: ": error: ").count - 1, 21)
        XCTAssertTrue(m.stderr.contains("too many errors, stopping (the first 20 are shown)"))
        // The npsh binary itself.
        let own = try npsh(["run", CLITests.binary])
        XCTAssertEqual(own.status, 65)
        XCTAssertLessThan(own.stderr.utf8.count, 300)
    }

    func testLongLineErrorsShowAWindowAroundTheCaret() {
        let line = "seed 1 " + String(repeating: "x", count: 500) + " )"
        let (status, _, errors) = run(line + "\n")
        XCTAssertEqual(status, .syntax)
        let excerpt = errors.split(separator: "\n")[1]
        XCTAssertLessThan(excerpt.count, 110)
        XCTAssertTrue(excerpt.hasPrefix("  …x"))
        let caret = errors.split(separator: "\n")[2]
        XCTAssertEqual(caret.firstIndex(of: "^").map { caret.distance(from: caret.startIndex, to: $0) },
                       excerpt.firstIndex(of: ")").map { excerpt.distance(from: excerpt.startIndex, to: $0) }, "the caret stands under the ')'")
    }

    // 2. Line numbers count the notebook's own output lines.
    func testErrorLinesCountOutputLines() throws {
        let path = try script("seed 1\n#> a\n#> b\n#> c\nlet x = smaple 20\n")
        let r = try npsh(["run", path])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("s.npx:5:9: error: unknown command 'smaple'"), r.stderr)
        // A runtime error after outputs, in a notebook written by --update.
        let nb = try script("seed 1\nlet s = sample 3\ns\nlet n = 0\nsample n\n", name: "nb.npx")
        XCTAssertEqual(try npsh(["run", nb, "--update"]).status, 70)
        try "seed 1\nlet s = sample 3\ns\n#> one\n#> two\nlet n = 0\nsample n\n".write(toFile: nb, atomically: true, encoding: .utf8)
        XCTAssertTrue(try npsh(["run", nb]).stderr.contains("nb.npx:7:8: error:"))
    }

    // 3. draw N larger than the space fails at once; long loops honour Ctrl-C.
    func testDrawChecksTheSpaceSizeAndStopsOnInterrupt() {
        for n in ["423625", "10000000"] {
            let (status, _, errors) = run("draw \(n)\n")
            XCTAssertEqual(status, .runtime)
            XCTAssertTrue(errors.contains("space nb101 holds 423,624 architectures; cannot draw"), errors)
        }
        let (ok, out, _) = run("seed 2\nlet p = draw 300000\np\n")
        XCTAssertEqual(ok, .ok)
        XCTAssertTrue(out.contains("300,000 architectures (pool of space nb101)"), out)
        // Ctrl-C while drawing (the statement-level check is passed, as when Ctrl-C comes late).
        Interrupt.request()
        defer { Interrupt.clear() }
        let (e, _) = evaluator()
        e.session.interruptRequested = { false }
        let (status, _, errors) = run("space proxyless\ndraw 1000000\n", in: e)
        XCTAssertEqual(status, .runtime)
        XCTAssertTrue(errors.contains("interrupted (Ctrl-C); the draw was abandoned"), errors)
    }

    // 4. A statement that does not complete leaves the session as it found it.
    func testFailedStatementLeavesNoTraceAndSaveReplays() throws {
        let dir = temporaryFolder(self)
        let (e, _) = evaluator()
        var shown = ""
        let repl = REPL(evaluator: e, reader: LineReader(interactive: false, historyPath: nil), renderer: DiagnosticRenderer(),
                        write: { shown += $0 }, writeError: { _ in })
        repl.execute("seed 3")
        repl.execute("let s = sample 30")
        repl.execute("for k in [1, 2, 0] {\nsample k\n}")   // draws twice, then fails
        repl.execute("let t = sample 4")                     // must draw as if the loop never ran
        repl.execute("help sample")
        repl.execute("for k in [1] {\nsample k\n}")
        repl.execute("t")
        repl.execute("save \"\(dir)/s.npx\"")
        let saved = try String(contentsOfFile: dir + "/s.npx", encoding: .utf8)
        XCTAssertFalse(saved.contains("help"), "help lines are not saved")
        XCTAssertFalse(saved.contains("[1, 2, 0]"), "the failed statement is not saved")
        XCTAssertTrue(saved.contains("for k in [1] {\n    sample k\n}"), "blocks keep their indentation:\n\(saved)")
        let (status, replay, _) = run(saved)
        XCTAssertEqual(status, .ok)
        let after = shown.components(separatedBy: "k = 1:\n").last!
        XCTAssertTrue(replay.hasSuffix(after.replacingOccurrences(of: "saved 5 statements to \(dir)/s.npx\n", with: "").trimmingCharacters(in: .newlines)),
                      "the replay prints what the session printed:\n\(replay)\n---\n\(shown)")
        XCTAssertTrue(shown.contains("saved 5 statements"), shown)
    }

    // 5. export never overwrites a file the session reads, and writes atomically.
    func testExportRefusesToOverwriteInputs() throws {
        let dir = temporaryFolder(self)
        let space = dir + "/mine.jsonl"
        try String(contentsOfFile: GoldenTests.goldenDir + "/toy-space.jsonl", encoding: .utf8).write(toFile: space, atomically: true, encoding: .utf8)
        let before = try String(contentsOfFile: space, encoding: .utf8)
        let (status, _, errors) = run("space \"\(space)\"\nlet t = all\nexport t to \"\(space)\"\n")
        XCTAssertEqual(status, .runtime)
        XCTAssertTrue(errors.contains("\(space): refusing to overwrite the space's file, which this session reads"), errors)
        XCTAssertEqual(try String(contentsOfFile: space, encoding: .utf8), before)
        // Through a symbolic link, too; and the benchmark and loaded files alike.
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.jsonl", withDestinationPath: space)
        XCTAssertTrue(run("bench \"\(space)\"\nplot valtest all to \"\(dir)/link.jsonl\"\n").2.contains("refusing to overwrite the benchmark"))
        let (s2, _, e2) = run("let s = sample 3\nexport s to \"\(dir)/a.json\"\nlet l = load \"\(dir)/a.json\"\nexport s to \"\(dir)/a.json\"\n")
        XCTAssertEqual(s2, .runtime)
        XCTAssertTrue(e2.contains("refusing to overwrite a loaded file"), e2)
        // The script itself.
        let script = try script("let s = sample 2\nexport s to \"self.npx\"\n", name: "self.npx")
        let r = try npsh(["run", script])
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite the script"), r.stderr)
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a.json", "link.jsonl", "mine.jsonl"])
        XCTAssertTrue(run("let s = sample 2\nexport s to \"\"\n").2.contains("\"\": cannot write: the file name is empty"))
    }

    // 6. Curves export as the contract says; CSV for sets, scores, curves and metrics.
    func testExportCurvesAndCSV() throws {
        let dir = temporaryFolder(self)
        let (status, _, errors) = run("""
            seed 1
            let r = search random budget=6 runs=3
            export r to "\(dir)/r.json"
            export r to "\(dir)/r.csv"
            let s = sample 40
            let p = fit mlp s epochs=2
            let sc = predict p on (sample 5)
            export sc to "\(dir)/sc.json"
            export sc to "\(dir)/sc.csv"
            export s to "\(dir)/s.csv"
            export (eval p on s) to "\(dir)/m.csv"
            """ + "\n")
        XCTAssertEqual(status, .ok, errors)
        let curve = try JSONValue.parse(try String(contentsOfFile: dir + "/r.json", encoding: .utf8))
        for key in ["budget", "val_mean", "val_std", "test_mean", "test_std"] { XCTAssertEqual(curve[key]?.array?.count, 6, key) }
        XCTAssertEqual(curve["budget"]?.array?.map { $0.number! }, [1, 2, 3, 4, 5, 6])
        XCTAssertGreaterThan(curve["val_mean"]!.array![5].number!, 50, "percent")
        let csv = try String(contentsOfFile: dir + "/r.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "budget,val_mean,val_std,test_mean,test_std,time_mean")
        XCTAssertEqual(csv.count, 7)
        let scores = try JSONValue.parse(try String(contentsOfFile: dir + "/sc.json", encoding: .utf8))
        XCTAssertEqual(scores.array?.count, 5)
        XCTAssertNotNil(scores.array?[0]["matrix"]?.array, "scores carry each architecture's graph")
        XCTAssertNotNil(scores.array?[0]["ops"]?.array)
        XCTAssertEqual(try String(contentsOfFile: dir + "/sc.csv", encoding: .utf8).split(separator: "\n").first, "hash,matrix,ops,score")
        let set = try String(contentsOfFile: dir + "/s.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(set.first, "hash,matrix,ops,val,test")
        XCTAssertEqual(set.count, 41)
        XCTAssertEqual(try String(contentsOfFile: dir + "/m.csv", encoding: .utf8).split(separator: "\n").first, "kendall,spearman,mse,r2,n")
    }

    // 7. A user space's identity comes from the graph; a union says what it keeps.
    func testUserSpaceLoadRecomputesIdentity() throws {
        let dir = temporaryFolder(self)
        let toy = GoldenTests.goldenDir + "/toy-space.jsonl"
        let (s, _, e) = run("space \"\(toy)\"\nexport (sample 2) to \"\(dir)/two.json\"\n")
        XCTAssertEqual(s, .ok, e)
        var items = try String(contentsOfFile: dir + "/two.json", encoding: .utf8)
        // Another graph under the first item's hash: refused.
        let parsed = try JSONValue.parse(items).array!
        let firstHash = parsed[0]["hash"]!.string!, secondHash = parsed[1]["hash"]!.string!
        items = items.replacingOccurrences(of: secondHash, with: firstHash)
        try items.write(toFile: dir + "/forged.json", atomically: true, encoding: .utf8)
        let (fs, _, fe) = run("space \"\(toy)\"\nload \"\(dir)/forged.json\"\n")
        XCTAssertEqual(fs, .runtime)
        XCTAssertTrue(fe.contains("forged.json: item 1: 'hash' \(firstHash) is not this graph's identity"), fe)
        // Without a hash, the identity is computed.
        let stripped = items.replacingOccurrences(of: "\"hash\": \"\(firstHash)\", ", with: "")
        try stripped.write(toFile: dir + "/nohash.json", atomically: true, encoding: .utf8)
        let (ns, nout, ne) = run("space \"\(toy)\"\nlet a = load \"\(dir)/nohash.json\"\nshow a\n")
        XCTAssertEqual(ns, .ok, ne)
        XCTAssertTrue(nout.contains(firstHash) && nout.contains(secondHash), nout)
        // A union of the same architecture with other results keeps the left one and says so.
        let other = try String(contentsOfFile: dir + "/two.json", encoding: .utf8)
            .replacingOccurrences(of: #""val": [0-9.e-]+"#, with: "\"val\": 99", options: .regularExpression)
        try other.write(toFile: dir + "/other.json", atomically: true, encoding: .utf8)
        let (e2, notes) = evaluator()
        let (us, _, ue) = run("space \"\(toy)\"\nlet c = all + (load \"\(dir)/two.json\")\n", in: e2)
        XCTAssertEqual(us, .ok, ue)
        XCTAssertTrue(notes().isEmpty, "the same results: nothing to say")
        let (vs, out, ve) = run("let d = c + (load \"\(dir)/other.json\")\nbest (load \"\(dir)/other.json\")\nd\n", in: e2)
        XCTAssertEqual(vs, .ok, ve)
        XCTAssertTrue(notes().contains("note: 2 architectures of the right set are also in the left with other results; a union keeps the left set's"), "\(notes())")
        XCTAssertFalse(out.split(separator: "\n").last!.contains("99"), "the left set's results are kept: \(out)")
    }

    // 8. Numeric options have ranges, checked with a caret on the value.
    func testNegativeRatesAreRefused() {
        for (option, message) in [("lr=-1", "'fit' lr must be a number in (0, 1], got -1"), ("wd=-1", "'fit' wd must be a number in [0, 1], got -1"),
                                  ("dropout=1", "'fit' dropout must be a number in [0, 1), got 1"), ("threshold=0", "'fit' threshold must be a number in (0, 100), got 0")] {
            let (status, _, errors) = run("let s = sample 20\nfit gcn s \(option)\n")
            XCTAssertEqual(status, .syntax, option)
            XCTAssertTrue(errors.contains(message), errors)
            XCTAssertTrue(errors.contains("\n  fit gcn s \(option)\n            " + String(repeating: " ", count: option.firstIndex(of: "=")!.utf16Offset(in: option) + 1) + "^"), errors)
        }
    }

    // 9. A command where a value is expected: say so and show the parenthesised form.
    func testCommandAsValueShowsParentheses() {
        let (status, _, errors) = run("let p = fit mlp (sample 20) epochs=1\nexport predict p to \"s.json\"\n")
        XCTAssertEqual(status, .syntax)
        XCTAssertTrue(errors.contains("s.npx:2:8: error: 'predict' is a command; where a value is expected, put the call in parentheses: export (predict p)"), errors)
        XCTAssertFalse(errors.contains("did you mean 'predict'"))
    }
}

/// The friction a new user met (issue 11), each behaviour pinned.
final class FrictionTests: XCTestCase {
    func run(_ text: String, in given: Evaluator? = nil) -> (ExitStatus, String, String) {
        let e = given ?? Evaluator(session: Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { _ in }))
        var errors = ""
        let r = ScriptRunner().run(SourceFile(name: "s.npx", text: text), evaluator: e, echo: nil) { errors += $0 }
        return (r.status, r.outputs.map(\.text).filter { !$0.isEmpty }.joined(separator: "\n"), errors)
    }

    func testWholeScriptIsCheckedBeforeAnythingRuns() {
        let (status, out, errors) = run("seed 1\nlet s = sample 10\nshow s\nfit gcn s epochs=0\nbest sx\nplot scater s\nsample 3 form=all\n")
        XCTAssertEqual(status, .syntax)
        XCTAssertEqual(out, "", "nothing ran")
        for fragment in ["s.npx:4:18: error: 'fit' epochs must be at least 1, got 0", "s.npx:5:6: error: unknown name 'sx' (did you mean 's'?)",
                         "s.npx:6:6: error: unknown kind 'scater' (did you mean 'scatter'?)", "s.npx:7:10: error: unknown option 'form' for 'sample'"] {
            XCTAssertTrue(errors.contains(fragment), "\(fragment) in:\n\(errors)")
        }
        // Names bound in a loop body count after it; a loop variable does not outlive its loop.
        XCTAssertEqual(run("for k in [1] {\n  let t = sample k\n}\nt\n").0, .ok)
        XCTAssertTrue(run("for k in [1] {\n  sample k\n}\nk\n").2.contains("s.npx:4:1: error: unknown name 'k'"))
    }

    func testModelsAndKindsAreValuesAndLoopsLabelTheirOutput() {
        let (status, out, errors) = run("seed 2\nlet s = sample 30\nfor m in [gcn, mlp] {\n  let p = fit m s epochs=2 dim=8\n  p\n}\nlet k = scatter\nk\n")
        XCTAssertEqual(status, .ok, errors)
        XCTAssertTrue(out.hasPrefix("m = gcn:\npredictor: gcn 3×8"), out)
        XCTAssertTrue(out.contains("\nm = mlp:\npredictor: mlp"), out)
        XCTAssertTrue(out.hasSuffix("\nscatter"))
        // A binding of the same name wins over the word.
        XCTAssertEqual(run("let gcn = 3\ngcn\n").1, "3")
    }

    func testScriptsRunInTheirOwnFolder() throws {
        let dir = temporaryFolder(self)
        try FileManager.default.createDirectory(atPath: dir + "/lab/data", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: GoldenTests.goldenDir + "/toy-space.jsonl", toPath: dir + "/lab/data/toy.jsonl")
        try "space \"data/toy.jsonl\"\nlet a = all\nexport a to \"out.json\"\nbench \"data/missing.jsonl\"\n".write(toFile: dir + "/lab/lab1.npx", atomically: true, encoding: .utf8)
        let r = try npsh(["run", "lab/lab1.npx"], cwd: dir)
        XCTAssertEqual(r.status, 70)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/lab/out.json"), "relative to the script's folder")
        XCTAssertTrue(r.stderr.contains("data/missing.jsonl: no such file (relative paths start at the script's folder, lab/)"), r.stderr)
        let elsewhere = try npsh(["run", dir + "/lab/lab1.npx"], cwd: "/")
        XCTAssertEqual(elsewhere.status, 70, "the same from any folder")
        XCTAssertTrue(elsewhere.stderr.contains("data/missing.jsonl: no such file"))
    }

    func testUserSpaceAccuraciesSayTheirUnit() throws {
        let dir = temporaryFolder(self)
        let lines = ["{\"ops\": [\"in\", \"conv\", \"out\"], \"edges\": [[0, 1], [1, 2]], \"val_acc\": 85.07, \"t\": 2}",
                     "{\"ops\": [\"in\", \"out\"], \"edges\": [[0, 1]], \"val_acc\": 80.5, \"t\": 1}"]
        try (["{\"npsh_space\": \"pct\", \"ops\": [\"in\", \"conv\", \"out\"], \"metric\": \"val_acc\"}"] + lines).joined(separator: "\n")
            .write(toFile: dir + "/frac.jsonl", atomically: true, encoding: .utf8)
        let (s1, _, e1) = run("space \"\(dir)/frac.jsonl\"\n")
        XCTAssertEqual(s1, .runtime)
        XCTAssertTrue(e1.contains("frac.jsonl: line 2: 'val_acc' is 85.07, but this space's accuracies are fractions in [0, 1]; it looks like a percentage: add \"unit\": \"percent\" to the header"), e1)
        try (["{\"npsh_space\": \"pct\", \"ops\": [\"in\", \"conv\", \"out\"], \"metric\": \"val_acc\", \"unit\": \"percent\", \"time\": \"t\", \"time_unit\": \"hours\"}"] + lines)
            .joined(separator: "\n").write(toFile: dir + "/pct.jsonl", atomically: true, encoding: .utf8)
        let (s2, out, e2) = run("space \"\(dir)/pct.jsonl\"\nbest all\n")
        XCTAssertEqual(s2, .ok, e2)
        XCTAssertTrue(out.contains("val 85.07 %"), out)
        let (s3, _, e3) = run("seed 1\nspace \"\(dir)/pct.jsonl\"\nsearch random budget=2 runs=1\n")
        XCTAssertEqual(s3, .ok, e3)
    }

    func testSmallerThings() throws {
        // Smart quotes: one error, not three.
        let (_, _, quotes) = run("bench \u{201C}x.jsonl\u{201D}\n")
        XCTAssertEqual(quotes.components(separatedBy: "error:").count - 1, 1, quotes)
        XCTAssertTrue(quotes.contains("typographic quotes"))
        // seed -1 is a range error on the value.
        XCTAssertTrue(run("seed -1\n").2.contains("s.npx:1:6: error: 'seed' n must be at least 0, got -1"))
        // load of a file it cannot read names load's formats.
        XCTAssertTrue(run("load \"README.md\"\n").2.contains("not a file load can read"))
        // Outside the paper's D table: the nearest row, said as such.
        let (e, notes) = { () -> (Evaluator, () -> [String]) in
            final class Box: @unchecked Sendable { var n: [String] = [] }
            let b = Box()
            let e = Evaluator(session: Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { b.n.append($0) }))
            return (e, { b.n })
        }()
        XCTAssertEqual(run("let p = fit gcn (sample 20) epochs=1\np\n", in: e).0, .ok)
        _ = notes
        XCTAssertTrue(run("p\n", in: e).1.contains("note: D = 48, the paper's for N = 43: N = 20 is outside its table (43…860)"))
        // A saved and loaded predictor says what it was trained on.
        let dir = temporaryFolder(self)
        let (ls, lout, le) = run("export p to \"\(dir)/p.npp\"\nload \"\(dir)/p.npp\"\n", in: e)
        XCTAssertEqual(ls, .ok, le)
        XCTAssertTrue(lout.contains("trained on 20 architectures (loaded from \(dir)/p.npp)"), lout)
        XCTAssertTrue(lout.contains("final loss ") && !lout.contains("final loss —"), lout)
        // show of scores is a table, best first.
        let (_, shown, _) = run("show (predict p on (sample 30)) rows=2\n", in: e)
        XCTAssertTrue(shown.contains("#  hash") && shown.contains("\n1  ") && shown.contains("\n2  ") && shown.contains("… 28 more"), shown)
        // The --check diff shows what the file has (-) before what this run printed (+).
        let d = Notebook.diff("a\nold\nb", "a\nnew\nb", from: "f", to: "g")
        XCTAssertLessThan(d.range(of: "-old")!.lowerBound, d.range(of: "+new")!.lowerBound)
    }

    func testProgressIsOneLineOnATerminalAndFewLinesElsewhere() {
        final class Sink: @unchecked Sendable { var text = "" }
        let plain = Sink()
        let p = ProgressReporter(terminal: false, write: { plain.text += $0 })
        p.start("fit", total: 300, unit: "epoch")
        for i in 1...300 { p.update(i) }
        p.finish()
        XCTAssertEqual(plain.text.split(separator: "\n").count, 10)
        XCTAssertTrue(plain.text.hasPrefix("fit: epoch 30/300\n"))
        let tty = Sink()
        let t = ProgressReporter(terminal: true, write: { tty.text += $0 })
        t.start("fit", total: 300, unit: "epoch")
        for i in 1...300 { t.update(i) }
        t.finish()
        XCTAssertFalse(tty.text.contains("\n"), "redrawn in place")
        XCTAssertTrue(tty.text.contains("300/300 epochs"), tty.text)
        XCTAssertTrue(tty.text.hasSuffix("\r\u{1B}[2K"), "erased at the end")
    }
}
