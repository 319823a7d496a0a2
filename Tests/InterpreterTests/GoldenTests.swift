import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// Golden scripts: every .npx file under golden/ is a notebook whose expected output
/// stands in the file, `#> ` lines under each statement and, for a script that fails,
/// `#! ` lines at the end with the diagnostics and exit status. One runner checks them
/// all; UPDATE_GOLDEN=1 rewrites them after a deliberate change.
final class GoldenTests: XCTestCase {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let goldenDir = root + "/Tests/InterpreterTests/golden"
    static let cache = makeTemporaryDirectory(prefix: "npsh-golden")

    /// Runs one script as `npsh run --check` would, returning the notebook it would write
    /// with diagnostics appended as `#! ` lines.
    static func replay(_ text: String, name: String) -> String {
        // As `npsh run` reads a notebook: output lines stay (they are comments), so error
        // lines are the file's own; the `#!` expectations go.
        let clean = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#!") }.joined(separator: "\n")
        var errors: [String] = []
        let session = Session(store: BenchmarkStore(cacheDirectory: cache), output: { _ in }, diagnostics: { _ in })
        let evaluator = Evaluator(session: session)
        let result = ScriptRunner().run(SourceFile(name: name, text: clean), evaluator: evaluator, echo: nil) { errors.append($0) }
        var out = Notebook.compose(clean, outputs: result.outputs)
        if result.status != .ok {
            while out.hasSuffix("\n") { out.removeLast() }
            out += "\n" + errors.joined().split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.isEmpty }.map { "#! " + $0 }.joined(separator: "\n")
            out += "\n#! exit \(result.status.rawValue)\n"
        }
        return out
    }

    func testGoldenScripts() throws {
        _ = FileManager.default.changeCurrentDirectoryPath(Self.root)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.goldenDir).filter { $0.hasSuffix(".npx") }.sorted()
        XCTAssertGreaterThan(files.count, 5)
        let dataPresent = FileManager.default.fileExists(atPath: Self.root + "/../shared/data/README.md")
        let ci = ProcessInfo.processInfo.environment["CI"] == "true"
        let update = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"
        for f in files {
            let path = Self.goldenDir + "/" + f
            let text = try String(contentsOfFile: path, encoding: .utf8)
            if text.contains("../shared/data") && !dataPresent {
                if ci { XCTFail("\(f) needs ../shared/data, which is absent under CI=true") }
                print("skipping \(f): ../shared/data is absent")
                continue
            }
            let actual = Self.replay(text, name: f)
            if update {
                if actual != text { try actual.write(toFile: path, atomically: true, encoding: .utf8) }
                continue
            }
            let diff = Notebook.diff(text, actual, from: f, to: "\(f) (this run)")
            XCTAssertTrue(diff.isEmpty, "\(f) differs:\n\(diff)")
        }
    }

    func testReplayIsByteIdenticalRunToRun() throws {
        let script = "seed 7\nlet s = sample 20\ns\nbest s\nsample 5 from s\n"
        XCTAssertEqual(Self.replay(script, name: "a.npx"), Self.replay(script, name: "a.npx"))
    }

    func testShowAndExportDoNotShiftLaterDraws() throws {
        let dir = temporaryFolder(self)
        let plain = "seed 3\nlet a = sample 10\nlet b = sample 10\nshow b rows=10\n"
        let noisy = "seed 3\nlet a = sample 10\nshow a\nexport a to \"\(dir)/a.json\"\nhelp sample\nlet b = sample 10\nshow b rows=10\n"
        let last = { (s: String) in s.components(separatedBy: "show b rows=10").last! }
        XCTAssertEqual(last(Self.replay(plain, name: "x")), last(Self.replay(noisy, name: "x")))
    }

    func testEveryCommandIsDocumentedAndHelpListsThemAll() throws {
        let evaluator = Evaluator(session: Session(store: BenchmarkStore(cacheDirectory: Self.cache), output: { _ in }, diagnostics: { _ in }))
        let help = Self.replay("help\n", name: "h")
        for name in evaluator.commandNames {
            XCTAssertTrue(help.contains("#>   \(name) "), "help lists \(name)")
            let one = Self.replay("help \(name)\n", name: "h")
            XCTAssertTrue(one.contains("#> \(name)"), "help \(name) gives its usage")
        }
    }
}

func temporaryFolder(_ test: XCTestCase) -> String {
    let dir = makeTemporaryDirectory(prefix: "npsh-test")
    test.addTeardownBlock { try? removeTree(dir) }
    return dir
}
