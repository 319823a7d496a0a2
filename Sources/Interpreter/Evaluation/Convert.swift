import Foundation
import Runtime

// `npsh convert`: .npx notebooks ⇄ Jupyter .ipynb. A run of comment lines becomes a markdown
// cell; a run of statements with their `#> ` output (and `#! ` error) lines a code cell whose
// outputs are those lines. Where each output block stood, and blank lines between cells, go
// in the cell's "npsh" metadata, so npx → ipynb → npx gives the same bytes. A notebook
// executed in Jupyter keeps it, and its text outputs (figures and notes are not text output)
// come back as the `#> ` lines `npsh run --update` writes; a cell without it gets its
// outputs after its code.

public enum NotebookConvert {
    static func isErrorLine<S: StringProtocol>(_ line: S) -> Bool {
        let t = line.drop { $0 == " " || $0 == "\t" }
        return t == "#!" || t.hasPrefix("#! ")
    }

    /// A markdown line: `# text` or a lone `#` (not an output, error or `#x` comment).
    static func isMarkdownLine<S: StringProtocol>(_ line: S) -> Bool {
        line == "#" || (line.hasPrefix("# ") && !Notebook.isOutputLine(line))
    }

    struct Cell {
        var markdown: Bool
        var source: [String] = []
        /// Output blocks: (is an error, lines), each after source line `after` (count of lines before it).
        var outputs: [(error: Bool, lines: [String], after: Int)] = []
        var blankBefore = 0
    }

    /// The cells of an .npx text.
    static func cells(_ text: String) -> [Cell] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var cells: [Cell] = []
        var blanks = 0
        var depth = 0
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.trimmingCharacters(in: .whitespaces).isEmpty && depth == 0 {
                blanks += 1; i += 1; continue
            }
            if depth == 0 && isMarkdownLine(line) {
                var c = Cell(markdown: true, blankBefore: blanks)
                while i < lines.count && isMarkdownLine(lines[i]) {
                    c.source.append(lines[i] == "#" ? "" : String(lines[i].dropFirst(2)))
                    i += 1
                }
                cells.append(c); blanks = 0; continue
            }
            var c = Cell(markdown: false, blankBefore: blanks)
            blanks = 0
            while i < lines.count {
                let l = lines[i]
                let isOutput = Notebook.isOutputLine(l), isError = isErrorLine(l)
                if depth == 0 && !c.source.isEmpty && !isOutput && !isError
                    && (l.trimmingCharacters(in: .whitespaces).isEmpty || isMarkdownLine(l)) { break }
                if isOutput || isError {
                    let text = l.drop { $0 == " " || $0 == "\t" }.dropFirst(2)
                    let content = text.hasPrefix(" ") ? String(text.dropFirst()) : String(text)
                    if let last = c.outputs.last, last.error == isError, last.after == c.source.count {
                        c.outputs[c.outputs.count - 1].lines.append(content)
                    } else {
                        c.outputs.append((isError, [content], c.source.count))
                    }
                } else {
                    c.source.append(l)
                    depth = max(0, depth + REPL.depthChange(l))
                }
                i += 1
            }
            cells.append(c)
        }
        return cells
    }

    /// An .npx text as an .ipynb document (nbformat 4.5).
    public static func toIPYNB(_ text: String) -> String {
        var json: [[String: Any]] = []
        for (n, c) in cells(text).enumerated() {
            var cell: [String: Any] = ["id": "cell-\(n + 1)", "metadata": [String: Any](), "source": sourceLines(c.source)]
            var meta: [String: Any] = [:]
            if c.blankBefore > 0 { meta["blank_lines_before"] = c.blankBefore }
            if c.markdown {
                cell["cell_type"] = "markdown"
            } else {
                cell["cell_type"] = "code"
                cell["execution_count"] = NSNull()
                cell["outputs"] = c.outputs.map { o -> [String: Any] in
                    if o.error {
                        return ["output_type": "error", "ename": "npsh", "evalue": o.lines.first ?? "", "traceback": o.lines]
                    }
                    return ["output_type": "stream", "name": "stdout", "text": sourceLines(o.lines, finalNewline: true)]
                }
                if !c.outputs.isEmpty { meta["outputs_after"] = c.outputs.map(\.after) }
            }
            if !meta.isEmpty { cell["metadata"] = ["npsh": meta] }
            json.append(cell)
        }
        let doc: [String: Any] = [
            "cells": json,
            "metadata": [
                "kernelspec": ["name": "npsh", "display_name": "npsh", "language": "npsh"],
                "language_info": ["name": "npsh", "file_extension": ".npx", "mimetype": "text/x-npsh"],
            ],
            "nbformat": 4, "nbformat_minor": 5,
        ]
        let data = try! JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Jupyter's multiline strings: a list of lines, each but the last ending in "\n".
    static func sourceLines(_ lines: [String], finalNewline: Bool = false) -> [String] {
        lines.enumerated().map { i, l in i < lines.count - 1 || finalNewline ? l + "\n" : l }
    }

    static func joined(_ v: Any?) -> String {
        if let s = v as? String { return s }
        if let a = v as? [String] { return a.joined() }
        return ""
    }

    /// An .ipynb document as .npx text; `path` names it in errors.
    public static func toNPX(_ data: Data, path: String) throws -> String {
        guard let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let cells = doc["cells"] as? [[String: Any]] else {
            throw RuntimeError.malformed(DataPlace(file: path), .json("not a Jupyter notebook (no \"cells\" list)"))
        }
        var out: [String] = []
        for (n, cell) in cells.enumerated() {
            let meta = (cell["metadata"] as? [String: Any])?["npsh"] as? [String: Any]
            for _ in 0..<((meta?["blank_lines_before"] as? Int) ?? 0) { out.append("") }
            var source = joined(cell["source"]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if source.last == "" { source.removeLast() }
            switch cell["cell_type"] as? String {
            case "markdown":
                out += source.map { $0.isEmpty ? "#" : "# " + $0 }
            case "code":
                var blocks: [[String]] = []
                for o in (cell["outputs"] as? [[String: Any]]) ?? [] {
                    var text: [String]
                    var prefix = "#>"
                    switch o["output_type"] as? String {
                    case "stream":
                        guard o["name"] as? String == "stdout" else { continue }  // notes are not output
                        text = joined(o["text"]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                        if text.last == "" { text.removeLast() }
                    case "display_data":
                        continue  // a figure; its statement's text output is a block of its own
                    case "execute_result":
                        text = joined((o["data"] as? [String: Any])?["text/plain"]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    case "error":
                        prefix = "#!"
                        text = ((o["traceback"] as? [String]) ?? []).flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
                    default: continue
                    }
                    blocks.append(text.map { $0.isEmpty ? prefix : prefix + " " + $0 })
                }
                let after = (meta?["outputs_after"] as? [Int]) ?? []
                if after.count == blocks.count && after.allSatisfy({ $0 >= 0 && $0 <= source.count }) {
                    var k = 0
                    for (i, line) in ([""] + source).enumerated() {
                        if i > 0 { out.append(line) }
                        while k < blocks.count && after[k] == i { out += blocks[k]; k += 1 }
                    }
                } else {
                    out += source
                    for b in blocks { out += b }
                }
            case "raw":
                out += source.map { "# " + $0 }
            default:
                throw RuntimeError.malformed(DataPlace(file: path, position: "cell \(n + 1)"), .json("unknown cell type"))
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
