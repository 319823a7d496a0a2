import Foundation
import Runtime

// `npsh run F.npx --html OUT.html`: one self-contained page — the script's comments as prose,
// its statements as code, each statement's output and figures (inline SVG) under it, an
// error styled where the run stopped — readable on a phone and in print. The time is only in
// the footer, so two runs differ in that line alone.

public enum HTMLReport {
    /// A figure's place in the composed text: an output line of its own.
    static func marker(_ n: Int) -> String { "\u{1}figure \(n)" }

    /// The page for `text` run with `result`, whose figures are `figures` (by the line of the
    /// statement that drew them).
    public static func render(name: String, text: String, result: RunResult, figures: [(endLine: Int, svg: String)],
                              seed: UInt64, version: String, date: String) -> String {
        var outputs = result.outputs
        for (i, f) in figures.enumerated() { outputs.append((f.endLine, marker(i))) }
        outputs.sort { $0.endLine < $1.endLine }
        var composed = Notebook.compose(text, outputs: outputs)
        // The error, under the statement it stopped at.
        if let diagnostic = result.diagnostics.first, let line = errorLine(diagnostic) {
            var lines = composed.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Line numbers are the file's own (old output lines included); compose kept its
            // other lines, in order, and wrote outputs after them.
            let kept = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(line).filter { !Notebook.isOutputLine($0) }.count
            var seen = 0, at = lines.count
            for (i, l) in lines.enumerated() where !Notebook.isOutputLine(l) {
                seen += 1
                if seen == kept { at = i + 1; while at < lines.count && Notebook.isOutputLine(lines[at]) { at += 1 }; break }
            }
            lines.insert(contentsOf: diagnostic.split(separator: "\n", omittingEmptySubsequences: false).map { "#! " + $0 }, at: at)
            composed = lines.joined(separator: "\n")
        }
        var body = ""
        for cell in NotebookConvert.cells(composed) {
            if cell.markdown {
                // Paragraphs between blank comment lines; "- " lines are a list, as in Markdown.
                for p in cell.source.split(separator: "", omittingEmptySubsequences: true) {
                    var prose: [String] = [], items: [String] = []
                    func flush() {
                        if !prose.isEmpty { body += "<p>\(escape(prose.joined(separator: " ")))</p>\n"; prose = [] }
                        if !items.isEmpty { body += "<ul>" + items.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"; items = [] }
                    }
                    for line in p {
                        if line.hasPrefix("- ") || line.hasPrefix("* ") {
                            if !prose.isEmpty { flush() }
                            items.append(String(line.dropFirst(2)))
                        } else if !items.isEmpty && line.hasPrefix("  ") {
                            items[items.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
                        } else {
                            if !items.isEmpty { flush() }
                            prose.append(line)
                        }
                    }
                    flush()
                }
                continue
            }
            body += "<section class=\"cell\">\n<pre class=\"code\"><code>\(escape(cell.source.joined(separator: "\n")))</code></pre>\n"
            for o in cell.outputs {
                if o.error {
                    body += "<pre class=\"error\">\(escape(o.lines.joined(separator: "\n")))</pre>\n"
                    continue
                }
                var text: [String] = []
                func flush() {
                    if !text.isEmpty { body += "<pre class=\"out\">\(escape(text.joined(separator: "\n")))</pre>\n"; text = [] }
                }
                for l in o.lines {
                    if l.hasPrefix("\u{1}figure "), let n = Int(l.dropFirst(8)), n < figures.count {
                        flush()
                        body += "<figure>\(figures[n].svg)</figure>\n"
                    } else {
                        text.append(l)
                    }
                }
                flush()
            }
            body += "</section>\n"
        }
        let status = result.status == .ok ? "ran to the end" : "stopped at an error"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(name)) — npsh report</title>
            <style>
            \(css)
            </style>
            </head>
            <body>
            <header><h1>\(escape(name))</h1>
            <p class="meta">npsh report · \(escape(version)) · seed \(seed) · \(status)</p></header>
            <main>
            \(body)</main>
            <footer>Generated by \(escape(version)) on \(escape(date)). Replay: <code>npsh run \(escape(name))</code>.</footer>
            </body>
            </html>

            """
    }

    /// The line a rendered diagnostic names ("file:12:3: error: …").
    static func errorLine(_ rendered: String) -> Int? {
        let head = rendered.split(separator: "\n").first ?? ""
        let parts = head.split(separator: ":")
        for i in parts.indices.dropLast() where Int(parts[i]) != nil && Int(parts[i + 1]) != nil { return Int(parts[i]) }
        return nil
    }

    /// Text for HTML: the same escaping as SVG text (both are XML-like markup).
    static func escape<S: StringProtocol>(_ s: S) -> String { SVGRenderer.escape(String(s)) }

    static let css = """
        :root { --ink: #1b1f23; --muted: #5b6570; --rule: #d7dde3; --code: #f5f7f9; --out: #ffffff; --err: #b3261e; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 980px; padding: 1.2rem; color: var(--ink);
               font: 16px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
        h1 { font-size: 1.5rem; margin: 0 0 .2rem; word-break: break-all; }
        .meta, footer { color: var(--muted); font-size: .85rem; }
        header { border-bottom: 1px solid var(--rule); margin-bottom: 1rem; }
        p, ul { margin: .8rem 0 .4rem; }
        li { margin: .15rem 0; }
        pre { margin: 0; padding: .55rem .75rem; overflow-x: auto; font: 13px/1.45 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
        .cell { margin: .5rem 0 1rem; border: 1px solid var(--rule); border-radius: 6px; overflow: hidden; }
        .code { background: var(--code); border-bottom: 1px solid var(--rule); }
        .out { background: var(--out); }
        .error { background: #fdecea; color: var(--err); border-left: 4px solid var(--err); }
        figure { margin: 0; padding: .5rem; background: #fff; }
        figure svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
        footer { border-top: 1px solid var(--rule); margin-top: 2rem; padding-top: .6rem; }
        @media (max-width: 600px) { body { padding: .6rem; font-size: 15px; } pre { font-size: 12px; } }
        @media print {
          body { max-width: none; padding: 0; }
          .cell, figure { break-inside: avoid; }
          pre { white-space: pre-wrap; word-break: break-all; overflow: visible; }
        }
        """
}
