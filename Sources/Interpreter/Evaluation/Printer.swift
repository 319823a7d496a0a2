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
        case .space(let s): return spaceSummary(s)
        case .best(let e, let label, let space):
            return "best: \(e.hash.hex)  val \(Format.metricWithUnit(e.validation, space))  test \(Format.metricWithUnit(e.test, space))  "
                + "(\(describe(e.arch)); \(label))"
        case .text(let t): return t.hasSuffix("\n") ? String(t.dropLast()) : t
        case .search(let s): return searchSummary(s)
        case .trials(let t): return Builtins.trialsSummary(t)
        case .predictor(let p): return predictorSummary(p)
        case .scores(let s): return scoresSummary(s)
        case .metrics(let m, let label, let percent):
            let mse = percent ? "\(Format.fixed(m.mse * 10_000, 3)) %²" : formatSignificant(m.mse, digits: 4)
            return "kendall \(Format.fixed(m.kendall, 4))  spearman \(Format.fixed(m.spearman, 4))  mse \(mse)  "
                + "r2 \(Format.fixed(m.r2, 4))  n \(Format.count(m.n))  (\(label))"
        }
    }

    /// A search: its name, runs, and the pick's validation and test metric at a few budgets.
    static func searchSummary(_ s: SearchValue) -> String {
        let c = s.curve, sp = s.space
        func m(_ x: Double) -> String { Format.metric(x, sp) }
        let unit = sp.isAccuracy ? " %" : ""
        if c.budgets == 1 {
            return "search oracle (\(s.label)): best by validation: val \(m(c.validationMean[0]))\(unit), test \(m(c.testMean[0]))\(unit)"
        }
        var line = "search \(c.name), \(Format.plural(c.runs, "run")) (\(s.label)): mean ± sd of the pick"
        var marks = [c.trainedBeforePrediction ?? 0, c.budgets / 4, c.budgets / 2, 3 * c.budgets / 4, c.budgets].filter { $0 >= 1 }
        marks = Array(Set(marks)).sorted()
        var rows: [[String]] = []
        for b in marks {
            let t = c.timeMean[b - 1]
            rows.append([String(b), m(c.validationMean[b - 1]) + " ± " + m(c.validationSD[b - 1]), m(c.testMean[b - 1]) + " ± " + m(c.testSD[b - 1]),
                         t.isNaN ? "—" : Format.fixed(t / 3600, 1)])
        }
        line += "\n" + Printer.grid(["trained", "val" + unit, "test" + unit, "hours"], rows, rightAligned: [0, 1, 2, 3]).joined(separator: "\n")
        return line
    }

    static func predictorSummary(_ v: PredictorValue) -> String {
        func describe(_ p: Predictor) -> String {
            let c = p.config, sh = c.shape
            let body = "\(sh.kind.rawValue) \(sh.layers)×\(sh.dim)"
            let last = p.epochLosses.last.map { formatSignificant($0, digits: 4) } ?? "—"
            let average = c.average.map { a in a == .ema ? ", ema \(formatSignificant(c.averageDecay ?? 0.999, digits: 4))" : ", swa" } ?? ""
            return "\(body), fc \(sh.fc.map(String.init).joined(separator: "-")), \(sh.output.rawValue) output, \(c.loss.rawValue)\(average), "
                + "\(c.optimizer.rawValue) lr \(formatSignificant(c.learningRate, digits: 4)) wd \(formatSignificant(c.weightDecay, digits: 4)), "
                + "\(c.epochs) epochs × batch \(c.batch), final loss \(last)"
        }
        var line: String
        switch v.predictor {
        case .single(let p): line = "predictor: \(describe(p))"
        case .twoStage(let c, let r, let t):
            line = "predictor: two-stage (accurate = val ≥ \(Format.fixed(t * 100, 1)) %)\n  classifier: \(describe(c))\n  regressor:  \(describe(r))"
        case .ensemble(let ms):
            let losses = ms.map { $0.epochLosses.last.map { formatSignificant($0, digits: 4) } ?? "—" }.joined(separator: " ")
            line = "predictor: ensemble of \(ms.count), each \(describe(ms[0]).components(separatedBy: ", final loss")[0])\n  final losses \(losses)"
        }
        if let n = v.trainedOn {
            line += "\n  trained on \(Format.plural(n, "architecture")) (\(v.label))"
        } else {
            line += "\n  \(v.label) (the file does not record its training set)"
        }
        for n in v.notes { line += "\n  note: \(n)" }
        return line
    }

    static func scoresSummary(_ s: ScoresValue) -> String {
        let finite = s.scores.filter { $0.isFinite }
        var line = "\(Format.plural(s.scores.count, "prediction")) by \(s.model) (\(s.label))"
        if let mx = finite.max(), let mn = finite.min() {
            let mean = finite.reduce(0, +) / Double(finite.count)
            if s.space.isAccuracy {
                line += ": mean \(Format.percent(mean)) %, max \(Format.percent(mx)) %"
            } else {
                line += ": mean \(Format.fixed(mean, 4)), " + (s.space.lowerIsBetter ? "min \(Format.fixed(mn, 4))" : "max \(Format.fixed(mx, 4))")
            }
        }
        if let a = s.accepted { line += "; classifier accepts \(Format.count(a.filter { $0 }.count))" }
        return line
    }

    static func spaceSummary(_ s: SpaceInfo) -> String {
        switch s.kind {
        case .nb101: return "space nb101: NAS-Bench-101 cells (≤ 7 vertices, ≤ 9 edges), 423,624 architectures"
        case .proxyless:
            return "space proxyless: 22 inverted-bottleneck layers (k3/5/7 × e3/6, or zero), \(ProxylessArch.sizeText) architectures"
        case .nlp:
            return "space nlp: NAS-Bench-NLP recurrent cells (\(NLPSpace.ops.count) ops; graphs padded to \(s.maxVertices) vertices); val loss, lower is better"
        case .user:
            return "space \(s.name): user-defined graphs (\(s.opLabels.count) op labels, ≤ \(s.maxVertices) vertices); \(s.metricName), "
                + (s.lowerIsBetter ? "lower" : "higher") + " is better"
        }
    }

    /// "5 vertices, 6 edges" or a ProxylessNAS code string.
    static func describe(_ a: Architecture) -> String {
        switch a {
        case .proxyless(let p): return "layers \(p.description)"
        default: return "\(Format.plural(a.vertices, "vertex", "vertices")), \(Format.plural(a.edgeCount, "edge"))"
        }
    }

    static func benchSummary(_ b: any Bench) -> String {
        if let t = b as? BenchmarkTable { return benchSummary(t) }
        if let t = b as? TrainerBench {
            let what = t.isSynthetic ? "synthetic trainer (the synthetic landscape through real subprocesses, not real training)"
                : "trainer " + t.spec.argv.map { JSONWriter.quote($0) }.joined(separator: " ")
            if case .slurm(let o) = t.placement {
                return "bench: \(what) on Slurm: \(t.space.name) space, metric \(t.spec.metric), job arrays in \(o.dir)"
            }
            return "bench: \(what): \(t.space.name) space, metric \(t.spec.metric), parallel \(t.spec.parallel)"
        }
        guard let g = b as? GraphBenchmark else { return "bench: \(b.label)" }
        let runs = g.runs.reduce(0) { $0 + $1.count }
        var line = "bench: \(g.label): \(g.space.name) space, \(Format.plural(g.count, "architecture")), \(Format.plural(runs, "run")); metric \(g.space.metricName)"
        if !g.skipped.isEmpty { line += "; skipped \(g.skipped.count) failed runs: \(g.skipped.joined(separator: ", "))" }
        return line
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
        let failed = s.entries.filter(\.failed).count
        if failed > 0 { line += " (\(Format.count(failed)) failed)" }
        if !vals.isEmpty {
            let (mean, sd) = Metrics.meanAndSD(vals)
            if s.space.isAccuracy {
                line += ": val mean \(Format.percent(mean)) % ± \(Format.percent(sd)), max \(Format.percent(vals.max()!)) %"
            } else {
                let best = s.space.lowerIsBetter ? ("min", vals.min()!) : ("max", vals.max()!)
                line += ": \(s.space.metricName) mean \(Format.fixed(mean, 4)) ± \(Format.fixed(sd, 4)), \(best.0) \(Format.fixed(best.1, 4))"
            }
        }
        return line
    }

    /// A table of a set's first `rows` entries.
    static func table(_ s: ArchSet, rows: Int) -> String {
        var lines = [summary(s)]
        let unit = s.space.isAccuracy ? " %" : ""
        let header = ["#", "hash", "vertices", "edges", "val" + unit, "test" + unit]
        var cells: [[String]] = []
        for (i, e) in s.entries.prefix(rows).enumerated() {
            cells.append([String(i + 1), e.hash.hex, String(e.arch.vertices), String(e.arch.edgeCount),
                          Format.metric(e.validation, s.space), Format.metric(e.test, s.space)])
        }
        lines += grid(header, cells, rightAligned: [0, 2, 3, 4, 5])
        if s.count > rows { lines.append("… \(Format.count(s.count - rows)) more") }
        return lines.joined(separator: "\n")
    }

    /// Scores as a table, best predicted first (ties by hash, as topk orders them).
    static func table(_ s: ScoresValue, rows: Int) -> String {
        var lines = [scoresSummary(s)]
        let unit = s.space.isAccuracy ? " %" : ""
        let header = ["#", "hash", "architecture", "predicted" + unit] + (s.accepted == nil ? [] : ["classifier"])
        var cells: [[String]] = []
        for (rank, i) in s.ranking().prefix(rows).enumerated() {
            let e = s.entries[i]
            cells.append([String(rank + 1), e.hash.hex, describe(e.arch), Format.metric(s.scores[i], s.space)]
                         + (s.accepted.map { [$0[i] ? "accepts" : "rejects"] } ?? []))
        }
        lines += grid(header, cells, rightAligned: [0, 3])
        if s.entries.count > rows { lines.append("… \(Format.count(s.entries.count - rows)) more") }
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
