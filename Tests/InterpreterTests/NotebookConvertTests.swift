import Foundation
@testable import Interpreter
@testable import Runtime
import XCTest

/// .npx ⇄ .ipynb and the HTML report.
final class NotebookConvertTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func notebooks() throws -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        for dir in ["scripts", "labs", "Tests/InterpreterTests/golden"] {
            out += try fm.contentsOfDirectory(atPath: Self.repo + "/" + dir).filter { $0.hasSuffix(".npx") }.map { Self.repo + "/\(dir)/" + $0 }
        }
        return out.sorted()
    }

    func testEveryCommittedNotebookRoundTripsByteForByte() throws {
        let files = try notebooks()
        XCTAssertGreaterThan(files.count, 30)
        for f in files {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            let ipynb = NotebookConvert.toIPYNB(text)
            let doc = try JSONSerialization.jsonObject(with: Data(ipynb.utf8)) as! [String: Any]
            XCTAssertEqual(doc["nbformat"] as? Int, 4)
            XCTAssertEqual(((doc["metadata"] as? [String: Any])?["kernelspec"] as? [String: Any])?["name"] as? String, "npsh")
            XCTAssertEqual(try NotebookConvert.toNPX(Data(ipynb.utf8), path: f), text, f)
        }
    }

    func testLabNotebooksAreTheirNPXConverted() throws {
        for lab in try notebooks().filter({ $0.contains("/labs/") }) {
            let committed = try String(contentsOfFile: String(lab.dropLast(4)) + ".ipynb", encoding: .utf8)
            XCTAssertEqual(NotebookConvert.toIPYNB(try String(contentsOfFile: lab, encoding: .utf8)), committed,
                           "\(lab): run npsh convert \(lab) --to ipynb")
        }
    }

    func testCellsAndAJupyterExecutedNotebook() throws {
        let text = "# Title\n#\n# More prose.\nseed 1\n#> out\nlet a = 1\n\n# Next\nfor x in [1, 2] {\n    # inside a block\n    x\n}\n#> 1\n#> 2\n"
        let cells = NotebookConvert.cells(text)
        XCTAssertEqual(cells.map(\.markdown), [true, false, true, false])
        XCTAssertEqual(cells[0].source, ["Title", "", "More prose."])
        XCTAssertEqual(cells[1].outputs.map(\.after), [1])
        XCTAssertEqual(cells[2].blankBefore, 1)
        XCTAssertEqual(cells[3].source.count, 4, "a block keeps its comment lines")
        // A notebook Jupyter wrote: no npsh metadata, notes on stderr, a figure, an error.
        let nb = """
            {"cells": [{"cell_type": "code", "source": ["sample 2\\n", "plot valtest all"], "metadata": {}, "outputs": [
              {"output_type": "stream", "name": "stderr", "text": "note: x\\n"},
              {"output_type": "stream", "name": "stdout", "text": ["2 architectures\\n"]},
              {"output_type": "display_data", "data": {"image/svg+xml": "<svg/>", "text/plain": "fig"}, "metadata": {}},
              {"output_type": "execute_result", "data": {"text/plain": "plot: done"}, "metadata": {}, "execution_count": 1},
              {"output_type": "error", "ename": "NpshError", "evalue": "e", "traceback": ["f:1:1: error: e", "  ^"]}]},
              {"cell_type": "markdown", "source": "Prose", "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """
        XCTAssertEqual(try NotebookConvert.toNPX(Data(nb.utf8), path: "x.ipynb"),
                       "sample 2\nplot valtest all\n#> 2 architectures\n#> plot: done\n#! f:1:1: error: e\n#!   ^\n# Prose\n")
        XCTAssertThrowsError(try NotebookConvert.toNPX(Data("{\"x\": 1}".utf8), path: "bad.ipynb")) { e in
            XCTAssertEqual("\(e)", "bad.ipynb: not a Jupyter notebook (no \"cells\" list)")
        }
    }

    func testConvertCommandAndHTMLReport() throws {
        let dir = temporaryFolder(self)
        let script = "# A report.\n#\n# - one\n# - two\nseed 5\nlet s = sample 30\ns\nplot valtest s\ntopk (predict (fit gcn s epochs=2 dim=8) on (sample 3)) 5\n"
        try script.write(toFile: dir + "/r.npx", atomically: true, encoding: .utf8)
        var r = try npsh(["convert", "r.npx", "--to", "ipynb"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try npsh(["convert", "r.ipynb", "--to", "npx", "-o", "back.npx"], cwd: dir)
        XCTAssertEqual(try String(contentsOfFile: dir + "/back.npx", encoding: .utf8), script)
        r = try npsh(["convert", "r.npx", "--to", "npx"], cwd: dir)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite the notebook being converted"), r.stderr)

        r = try npsh(["run", "r.npx", "--html", "r.html"], cwd: dir)
        XCTAssertEqual(r.status, 70, "the script stops at its error")
        let page = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(page.components(separatedBy: "<figure><svg").count - 1, 1, "the figure is inline")
        XCTAssertTrue(page.contains("<ul><li>one</li><li>two</li></ul>"))
        XCTAssertTrue(page.contains("<pre class=\"error\">r.npx:9:"), "the error, styled, under its statement")
        XCTAssertTrue(page.contains("seed 5 · stopped at an error"))
        XCTAssertFalse(page.contains("<script"), "self-contained and static")
        // Two runs differ only in the footer's date.
        _ = try npsh(["run", "r.npx", "--html", "again.html"], cwd: dir)
        let again = try String(contentsOfFile: dir + "/again.html", encoding: .utf8)
        let differing = zip(page.split(separator: "\n"), again.split(separator: "\n")).filter { $0 != $1 }
        XCTAssertTrue(differing.allSatisfy { $0.0.hasPrefix("<footer>") }, "\(differing)")
        // The report never replaces a file the run reads.
        r = try npsh(["run", "r.npx", "--html", "r.npx"], cwd: dir)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite the script"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/r.npx", encoding: .utf8), script)
    }
}
