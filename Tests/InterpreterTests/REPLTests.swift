import Foundation
@testable import Runtime
import XCTest

/// The REPL driven through a real terminal: tmux runs npsh, send-keys types, capture-pane
/// reads the screen. Skips when tmux is not installed.
final class REPLTests: XCTestCase {
    func testTerminalSession() throws {
        guard (try? runProgram("sh", ["-c", "command -v tmux >/dev/null"]))?.status == 0 else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("tmux is missing under CI=true (scripts/test installs it)") }
            throw XCTSkip("tmux is not installed; the REPL terminal tests need it")
        }
        let dir = temporaryFolder(self)
        let session = "npshrepl\(getpid())"
        defer { _ = try? runProgram("sh", ["-c", "tmux kill-session -t \(session) >/dev/null 2>&1"]) }
        // tmux commands go through sh with output to /dev/null, so that the server a command
        // may start never holds a pipe of ours.
        func tmux(_ args: String) { _ = try? runProgram("sh", ["-c", "tmux \(args) >/dev/null 2>&1"]) }
        func type(_ text: String) { tmux("send-keys -t \(session) -l '\(text)'") }
        func key(_ k: String) { tmux("send-keys -t \(session) \(k)") }
        func screen() throws -> String { try runProgram("tmux", ["capture-pane", "-t", session, "-p", "-S", "-2000"]).output }
        func waitFor(_ text: String, count: Int = 1) throws {
            for _ in 0..<300 {
                if try screen().components(separatedBy: text).count - 1 >= count { return }
                usleep(100_000)
            }
            XCTFail("timed out waiting for «\(text)»; screen:\n\(try screen())")
            throw XCTSkip("stopping after a timeout")
        }
        func start() throws {
            let command = "env NPSH_CACHE=\(GoldenTests.cache) NPSH_HISTORY=\(dir)/history TERM=xterm NO_COLOR=1 \(CLITests.binary)"
            tmux("new-session -d -s \(session) -x 160 -y 50 '\(command)'")
            // capture-pane trims trailing spaces: an empty prompt reads "npsh>".
            try waitFor("npsh>")
        }

        try start()
        type("seed 4"); key("Enter")
        type("let s = sam"); key("Tab"); type("5"); key("Enter")
        try waitFor("npsh>", count: 3)
        type("s"); key("Enter")
        try waitFor("5 architectures (synthetic)")
        // Line editing: Backspace fixes a typo, Home inserts at the start.
        type("est q"); key("BSpace"); type("s"); key("Home"); type("b"); key("Enter")
        try waitFor("best: ")
        // A block over several lines.
        type("for k in [1, 2] {"); key("Enter"); type("sample k"); key("Enter"); type("}"); key("Enter")
        try waitFor("2 architectures (synthetic)")
        // An error is reported and the session carries on.
        type("smaple 3"); key("Enter")
        try waitFor("did you mean")
        // Ctrl-C stops a long fit and returns to the prompt.
        type("let p = fit gcn s epochs=1000000 dim=8 batch=5"); key("Enter")
        usleep(1_000_000)
        key("C-c")
        try waitFor("interrupted (Ctrl-C)")
        // The interrupted fit left no trace: the next fit draws what a replay draws.
        type("let q = fit mlp s epochs=3 batch=5"); key("Enter")
        type("eval q on s"); key("Enter")
        try waitFor("kendall ")
        type("1 + 1"); key("Enter")
        try waitFor("\n2\n")
        type("save \"\(dir)/session.npx\""); key("Enter")
        try waitFor("saved 8 statements")
        let shown = try screen()
        // On a terminal, plot draws a preview (Braille dots and the axis labels).
        type("plot valtest s"); key("Enter")
        try waitFor("x: validation accuracy (%)")
        XCTAssertTrue(try screen().unicodeScalars.contains { $0.value > 0x2800 && $0.value <= 0x28FF }, "the preview's dots")
        key("C-d")
        usleep(500_000)
        XCTAssertFalse(try runProgram("sh", ["-c", "tmux has-session -t \(session) 2>/dev/null"]).status == 0, "Ctrl-D exits")
        // The saved session replays what the session printed.
        let replay = try runProgram(CLITests.binary, ["run", "\(dir)/session.npx"])
        XCTAssertEqual(replay.status, 0)
        XCTAssertTrue(replay.output.contains("best: "))
        XCTAssertTrue(replay.output.contains("kendall "))
        for line in replay.output.split(separator: "\n") { XCTAssertTrue(shown.contains(line), "the session printed «\(line)»") }
        // A new run sees the history of the last one.
        try start()
        key("Up")
        try waitFor("npsh> plot valtest s")
        key("Up")
        try waitFor("npsh> save \"")
        key("Up")
        try waitFor("npsh> 1 + 1")
    }
}
