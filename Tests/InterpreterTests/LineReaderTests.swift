import Foundation
import Interpreter
import Runtime
import XCTest

/// Completion logic without a terminal (the readline hook only forwards to it).
final class LineReaderTests: XCTestCase {
    func testCompletionOfWordsAndOfPathsInsideStrings() throws {
        let dir = temporaryFolder(self)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/uniquefile-abc.jsonl", contents: Data("x".utf8)))
        try FileManager.default.createDirectory(atPath: dir + "/uniquedir", withIntermediateDirectories: false)
        XCTAssertEqual(LineReader.candidates(for: "\(dir)/uniquefile-a", line: "bench \"", words: []), ["\(dir)/uniquefile-abc.jsonl"])
        XCTAssertEqual(LineReader.candidates(for: "\(dir)/uniqued", line: "load \"", words: []), ["\(dir)/uniquedir/"])
        XCTAssertEqual(LineReader.candidates(for: "sam", line: "", words: ["sample", "seed", "show"]), ["sample"])
        XCTAssertEqual(LineReader.candidates(for: "s", line: "let x = ", words: ["show", "sample", "best"]), ["sample", "show"])
        XCTAssertEqual(LineReader.candidates(for: "sam", line: "load \"", words: ["sample"]), [], "inside a string only paths complete")
        // Options complete only after a command; a command name and an option sharing a
        // prefix (sample, sample=) must not block completing the command.
        let words = ["sample", "sample=", "seed", "epochs=", "epochs="]
        XCTAssertEqual(LineReader.candidates(for: "sam", line: "let s = ", words: words), ["sample"])
        XCTAssertEqual(LineReader.candidates(for: "sam", line: "", words: words), ["sample"])
        XCTAssertEqual(LineReader.candidates(for: "ep", line: "search predictor ", words: words), ["epochs="], "each word once")
    }
}
