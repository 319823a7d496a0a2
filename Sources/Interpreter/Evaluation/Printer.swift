import Runtime

/// How values print: the notebook's output for a bare statement and `show`.
enum Printer {
    static func render(_ v: Value) -> String {
        switch v {
        case .none: return ""
        case .integer(let i): return String(i)
        case .decimal(let d): return Format.decimal(d)
        case .string(let s): return JSONWriter.quote(s)
        case .word(let w): return w
        case .list(let items):
            return "[" + items.map { render($0) }.joined(separator: ", ") + "]"
        case .archSet(let s): return summary(s)
        case .bench(let b): return benchSummary(b.table)
        case .space(let name): return spaceSummary(name)
        case .best(let e, let label):
            return "best: \(e.hash.hex)  val \(Format.percentWithUnit(e.validation))  test \(Format.percentWithUnit(e.test))  "
                + "(\(e.cell.vertices) vertices, \(e.cell.edgeCount) edges; \(label))"
        case .text(let t): return t.hasSuffix("\n") ? String(t.dropLast()) : t
        case .predictor(let p): return predictorSummary(p)
        case .scores(let s): return scoresSummary(s)
        case .metrics(let m, let label):
            return "kendall \(Format.fixed(m.kendall, 4))  spearman \(Format.fixed(m.spearman, 4))  mse \(Format.fixed(m.mse * 10_000, 3)) %²  "
                + "r2 \(Format.fixed(m.r2, 4))  n \(Format.count(m.n))  (\(label))"
        }
    }

    static func predictorSummary(_ v: PredictorValue) -> String {
        func describe(_ p: Predictor) -> String {
            let c = p.config, sh = c.shape
            let body = "\(sh.kind.rawValue) \(sh.layers)×\(sh.dim)"
            let last = p.epochLosses.last.map { formatSignificant($0, digits: 4) } ?? "—"
            return "\(body), fc \(sh.fc.map(String.init).joined(separator: "-")), \(sh.output.rawValue) output, \(c.loss.rawValue), "
                + "\(c.optimizer.rawValue) lr \(formatSignificant(c.learningRate, digits: 4)) wd \(formatSignificant(c.weightDecay, digits: 4)), "
                + "\(c.epochs) epochs × batch \(c.batch), final loss \(last)"
        }
        var line: String
        switch v.predictor {
        case .single(let p): line = "predictor: \(describe(p))"
        case .twoStage(let c, let r, let t):
            line = "predictor: two-stage (accurate = val ≥ \(Format.fixed(t * 100, 1)) %)\n  classifier: \(describe(c))\n  regressor:  \(describe(r))"
        }
        line += "\n  trained on \(Format.plural(v.trainedOn, "architecture")) (\(v.label))"
        for n in v.notes { line += "\n  note: \(n)" }
        return line
    }

    static func scoresSummary(_ s: ScoresValue) -> String {
        let finite = s.scores.filter { $0.isFinite }
        var line = "\(Format.plural(s.scores.count, "prediction")) by \(s.model) (\(s.label))"
        if let mx = finite.max(), !finite.isEmpty {
            line += ": mean \(Format.percent(finite.reduce(0, +) / Double(finite.count))) %, max \(Format.percent(mx)) %"
        }
        if let a = s.accepted { line += "; classifier accepts \(Format.count(a.filter { $0 }.count))" }
        return line
    }

    static func spaceSummary(_ name: String) -> String {
        switch name {
        case "nb101": return "space nb101: NAS-Bench-101 cells (≤ 7 vertices, ≤ 9 edges), 423,624 architectures"
        default: return "space \(name)"
        }
    }

    static func benchSummary(_ t: BenchmarkTable) -> String {
        let runs = t.budgets.map { "\(Format.plural(Int($0.offsets.last!), "run")) at \($0.epochs) epochs" }.joined(separator: ", ")
        let what = t.isSynthetic ? "synthetic landscape (not real training results)" : t.source.label
        return "bench: \(what): \(Format.plural(t.count, "cell")), \(runs)"
    }

    /// One line about a set: size, source and validation statistics.
    static func summary(_ s: ArchSet) -> String {
        let vals = s.entries.map(\.validation).filter { !$0.isNaN }
        var line = "\(Format.plural(s.count, "architecture")) (\(s.label))"
        if !vals.isEmpty {
            let mean = vals.reduce(0, +) / Double(vals.count)
            let sd = (vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(vals.count)).squareRoot()
            line += ": val mean \(Format.percent(mean)) % ± \(Format.percent(sd)), max \(Format.percent(vals.max()!)) %"
        }
        return line
    }

    /// A table of a set's first `rows` entries.
    static func table(_ s: ArchSet, rows: Int) -> String {
        var lines = [summary(s)]
        let header = ["#", "hash", "vertices", "edges", "val %", "test %"]
        var cells: [[String]] = []
        for (i, e) in s.entries.prefix(rows).enumerated() {
            cells.append([String(i + 1), e.hash.hex, String(e.cell.vertices), String(e.cell.edgeCount),
                          Format.percent(e.validation), Format.percent(e.test)])
        }
        lines += grid(header, cells, rightAligned: [0, 2, 3, 4, 5])
        if s.count > rows { lines.append("… \(Format.count(s.count - rows)) more") }
        return lines.joined(separator: "\n")
    }

    /// Left/right aligned columns separated by two spaces.
    static func grid(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { c, text in
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return rightAligned.contains(c) ? pad + text : text + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
