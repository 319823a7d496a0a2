import Runtime

// Notebooks: a script with each statement's output under it as `#> ` lines (`--update`), and
// the unified diff `--check` prints when a replay differs.

/// Notebook files: each statement's output stands under it as `#> ` lines.
public enum Notebook {
    static func isOutputLine<S: StringProtocol>(_ line: S) -> Bool {
        let t = line.drop { $0 == " " || $0 == "\t" }
        return t == "#>" || t.hasPrefix("#> ")
    }

    /// `text` with `outputs` written under their statements, replacing any earlier output
    /// lines. Line numbers are `text`'s own: the runner parses the notebook as it stands
    /// (output lines are comments), so errors point at the file's real lines.
    public static func compose(_ text: String, outputs: [(endLine: Int, text: String)]) -> String {
        var byLine: [Int: [String]] = [:]
        for (line, text) in outputs where !text.isEmpty { byLine[line, default: []].append(text) }
        var out: [String] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if isOutputLine(line) { continue }
            out.append(String(line))
            for text in byLine[i + 1] ?? [] {
                for l in text.split(separator: "\n", omittingEmptySubsequences: false) {
                    out.append(l.isEmpty ? "#>" : "#> " + l)
                }
            }
        }
        return out.joined(separator: "\n")
    }

    /// A unified diff of two texts (3 lines of context), empty when equal.
    public static func diff(_ a: String, _ b: String, from: String, to: String) -> String {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if x == y { return "" }
        // LCS table (scripts are small).
        let n = x.count, m = y.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && x[i] == y[j] { ops.append(.same(x[i])); i += 1; j += 1 }
            else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) { ops.append(.del(x[i])); i += 1 }
            else { ops.append(.add(y[j])); j += 1 }
        }
        var out = "--- \(from)\n+++ \(to)\n"
        var k = 0
        var ai = 1, bi = 1
        var positions: [(Int, Int)] = []
        for op in ops {
            positions.append((ai, bi))
            switch op {
            case .same: ai += 1; bi += 1
            case .del: ai += 1
            case .add: bi += 1
            }
        }
        while k < ops.count {
            if case .same = ops[k] { k += 1; continue }
            let start = max(0, k - 3)
            var end = k
            var lastChange = k
            while end < ops.count {
                if case .same = ops[end] { if end - lastChange > 6 { break } } else { lastChange = end }
                end += 1
            }
            end = min(ops.count, lastChange + 4)
            let (a0, b0) = positions[start]
            var ac = 0, bc = 0
            var body = ""
            for op in ops[start..<end] {
                switch op {
                case .same(let s): body += " \(s)\n"; ac += 1; bc += 1
                case .del(let s): body += "-\(s)\n"; ac += 1
                case .add(let s): body += "+\(s)\n"; bc += 1
                }
            }
            out += "@@ -\(a0),\(ac) +\(b0),\(bc) @@\n" + body
            k = end
        }
        return out
    }
}
