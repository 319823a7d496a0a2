import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// `npsh kernel --stdio` (the JSON-lines mode the Jupyter wrapper drives), in process and
/// through the real binary; no Python.
final class KernelTests: XCTestCase {
    /// A server over a fresh session; returns it and the events it sent, parsed.
    func server() -> (KernelServer, () -> [[String: Any]]) {
        final class Box: @unchecked Sendable { var lines: [String] = [] }
        let box = Box()
        let session = Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { _ in })
        let s = KernelServer(evaluator: Evaluator(session: session), writeLine: { box.lines.append($0) })
        return (s, {
            defer { box.lines.removeAll() }
            return box.lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        })
    }

    func testExecuteStreamsResultsDisplaysAndErrors() {
        let (s, events) = server()
        s.handle(#"{"id": 1, "type": "execute", "code": "seed 3\nlet s = sample 12\nshow s rows=2\nbest s"}"#)
        var e = events()
        XCTAssertEqual(e.map { $0["event"] as! String }, ["result", "result", "done"])
        XCTAssertTrue(e.allSatisfy { $0["id"] as? Int == 1 })
        XCTAssertTrue((e[0]["text"] as! String).hasPrefix("12 architectures (synthetic)"))
        XCTAssertTrue((e[1]["text"] as! String).hasPrefix("best: "))
        XCTAssertEqual(e[2]["status"] as? String, "ok")
        XCTAssertEqual(e[2]["execution_count"] as? Int, 1)
        // The same text `npsh run` prints for the same statements.
        let session = Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { _ in })
        let run = ScriptRunner().run(SourceFile(name: "s.npx", text: "seed 3\nlet s = sample 12\nshow s rows=2\nbest s\n"),
                                     evaluator: Evaluator(session: session), echo: nil) { _ in }
        XCTAssertEqual([e[0]["text"] as! String, e[1]["text"] as! String], run.outputs.map(\.text).filter { !$0.isEmpty })

        // A plot is a display event with the SVG; notes are stderr streams.
        s.handle(#"{"id": "p", "type": "execute", "code": "plot valtest s"}"#)
        e = events()
        XCTAssertEqual(e.first?["event"] as? String, "display")
        XCTAssertTrue((e.first?["svg"] as? String ?? "").hasPrefix("<svg"))
        XCTAssertEqual(e.first?["id"] as? String, "p")
        s.handle(#"{"id": 3, "type": "execute", "code": "bench trainer synthetic ledger=\"/tmp/npsh-kernel-swift-test.sqlite\"\nsample 1"}"#)
        XCTAssertTrue(events().contains { $0["event"] as? String == "stream" && ($0["text"] as? String ?? "").contains("note: ") })

        // An error: its name, message and the caret rendering; the session is kept as it was.
        s.handle(#"{"id": 4, "type": "execute", "code": "let kept = 1\nsample 0"}"#)
        e = events()
        let error = e.first { $0["event"] as? String == "error" }!
        XCTAssertEqual(error["ename"] as? String, "SyntaxError")
        XCTAssertEqual(error["evalue"] as? String, "'sample' n must be at least 1, got 0")
        XCTAssertTrue((error["traceback"] as! [String]).contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("^") })
        XCTAssertEqual(e.last?["status"] as? String, "error")
        s.handle(#"{"id": 5, "type": "execute", "code": "sample 1000000000"}"#)
        XCTAssertEqual(events().first { $0["event"] as? String == "error" }?["ename"] as? String, "NpshError")
    }

    func testMalformedRequestsAreErrorsAndTheSessionSurvives() {
        let (s, events) = server()
        s.handle(#"{"id": 1, "type": "execute", "code": "let x = 20"}"#)
        _ = events()
        for bad in ["not json", "[1, 2]", #"{"id": 2}"#, #"{"id": 3, "type": "dance"}"#, "{\"id\": 4, \"type\": \"execute\", \"code\": 5"] {
            s.handle(bad)
            let e = events()
            XCTAssertEqual(e.map { $0["event"] as! String }, ["error", "done"], bad)
            XCTAssertEqual(e[0]["ename"] as? String, "RequestError", bad)
            XCTAssertEqual(e[1]["status"] as? String, "error", bad)
        }
        s.handle(#"{"id": 6, "type": "execute", "code": "x + 1"}"#)
        XCTAssertEqual(events().first?["text"] as? String, "21")
    }

    func testCompleteInspectIsCompleteAndHistory() {
        let (s, events) = server()
        s.handle(#"{"id": 1, "type": "complete", "code": "let a = sam", "cursor": 11}"#)
        var e = events()[0]
        XCTAssertEqual(e["matches"] as? [String], ["sample"])
        XCTAssertEqual(e["cursor_start"] as? Int, 8)
        XCTAssertEqual(e["cursor_end"] as? Int, 11)
        s.handle(#"{"id": 2, "type": "complete", "code": "search pre", "cursor": 10}"#)
        XCTAssertEqual(events()[0]["matches"] as? [String], ["predictor"])
        // Paths inside a string: the folder's entries, the word starting after the quote.
        let dir = temporaryFolder(self)
        FileManager.default.createFile(atPath: dir + "/table.jsonl", contents: Data())
        let code = "bench \"\(dir)/tab"
        s.handle("{\"id\": 8, \"type\": \"complete\", \"code\": \(JSONWriter.quote(code)), \"cursor\": \(code.unicodeScalars.count)}")
        e = events()[0]
        XCTAssertEqual(e["matches"] as? [String], [dir + "/table.jsonl"])
        XCTAssertEqual(e["cursor_start"] as? Int, 7)
        s.handle(#"{"id": 3, "type": "inspect", "code": "topk x 3", "cursor": 1}"#)
        e = events()[0]
        XCTAssertEqual(e["found"] as? Bool, true)
        XCTAssertTrue((e["text"] as? String ?? "").hasPrefix("topk SCORES K"))
        s.handle(#"{"id": 4, "type": "inspect", "code": "nothing", "cursor": 3}"#)
        XCTAssertEqual(events()[0]["found"] as? Bool, false)
        for (code, status) in [("sample 3", "complete"), ("for x in [1, 2] {", "incomplete"), ("}", "invalid")] {
            s.handle("{\"id\": 5, \"type\": \"is_complete\", \"code\": \(JSONWriter.quote(code))}")
            XCTAssertEqual(events()[0]["status"] as? String, status, code)
        }
        s.handle(#"{"id": 6, "type": "execute", "code": "1 + 1"}"#)
        _ = events()
        s.handle(#"{"id": 7, "type": "history"}"#)
        XCTAssertEqual(events()[0]["history"] as? [String], ["1 + 1"])
    }

    /// The binary: requests on standard input, events on standard output, nothing else there.
    func testTheBinarySpeaksJSONLines() throws {
        let input = [#"{"id": 1, "type": "execute", "code": "seed 1\nsample 2"}"#, "garbage", #"{"id": 2, "type": "execute", "code": "1 + 1"}"#]
            .joined(separator: "\n") + "\n"
        let r = try npsh(["kernel", "--stdio"], stdin: input)
        XCTAssertEqual(r.status, 0, r.stderr)
        let events = r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(events.map { $0["event"] as! String }, ["result", "done", "error", "done", "result", "done"])
        XCTAssertEqual(events[4]["text"] as? String, "2")
        XCTAssertNotEqual(try npsh(["kernel"]).status, 0, "the mode is named")
    }
}
