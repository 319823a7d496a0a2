import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// Completion logic without a terminal (the readline hook only forwards to it).
final class LineReaderTests: XCTestCase {
    func complete(_ text: String, _ line: String, names: [String] = []) -> [String] {
        let e = Evaluator(session: Session(store: BenchmarkStore(cacheDirectory: GoldenTests.cache), output: { _ in }, diagnostics: { _ in }))
        return Completion.candidates(for: text, line: line, commands: e.commands, names: names)
    }

    func testPathsInsideStrings() throws {
        let dir = temporaryFolder(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/uniquefile-abc.jsonl", contents: Data("x".utf8)))
        try FileManager.default.createDirectory(atPath: dir + "/uniquedir", withIntermediateDirectories: false)
        XCTAssertEqual(complete("\(dir)/uniquefile-a", "bench \""), ["\(dir)/uniquefile-abc.jsonl"])
        XCTAssertEqual(complete("\(dir)/uniqued", "load \""), ["\(dir)/uniquedir/"])
        XCTAssertEqual(complete("sam", "load \""), [], "inside a string only paths complete")
    }

    func testStatementStartOffersCommandsAndNames() {
        XCTAssertEqual(complete("sam", ""), ["sample"])
        XCTAssertEqual(complete("s", "let x = ", names: ["sx"]), ["sample", "save", "search", "seed", "show", "space", "splits", "sx"])
        XCTAssertEqual(complete("ep", ""), [], "options only after their command")
        XCTAssertEqual(complete("tr", "", names: ["trained"]), ["trained", "trials"], "names and commands together")
    }

    func testContextAfterACommand() {
        // The next positional's words: models after fit, kinds after plot, methods after search.
        XCTAssertEqual(complete("", "fit ", names: ["s"]), ["best", "cnn", "gcn", "mlp", "s", "twostage"])
        XCTAssertEqual(complete("", "plot "), ["curves", "histogram", "scatter", "valtest"])
        XCTAssertEqual(complete("p", "search "), ["predictor"])
        // Then names, the command's own options and keywords.
        XCTAssertEqual(complete("ep", "fit gcn s "), ["epochs="])
        XCTAssertEqual(complete("ep", "search predictor "), ["epochs="], "each word once")
        XCTAssertEqual(complete("ep", "sample 5 "), [], "sample has no option epochs")
        XCTAssertEqual(complete("", "sample 5 ", names: ["pool"]), ["from", "pool"])
        // After option=: that option's words.
        XCTAssertEqual(complete("s", "fit gcn s output="), ["shifted", "sigmoid"])
        // Inside parentheses the inner command counts.
        XCTAssertEqual(complete("", "export (predict p ", names: ["p"]), ["on", "p"])
        XCTAssertEqual(complete("", "for m in [gcn, mlp] { fit "), ["best", "cnn", "gcn", "mlp", "twostage"])
    }
}
