import Runtime

/// The text `export` writes for each kind of value, as JSON or CSV. Accuracies are in
/// percent in both, as everywhere npsh shows them; losses and scores as recorded.
enum Exporter {
    static func text(_ value: Value, csv: Bool) throws -> String {
        switch value {
        case .archSet(let s): return csv ? s.csv() : s.json()
        case .best(let e, let label, let space):
            let s = ArchSet(entries: [e], label: label, space: space)
            return csv ? s.csv() : s.json()
        case .scores(let s): return csv ? scoresCSV(s) : scoresJSON(s)
        case .search(let s): return csv ? curveCSV(s) : curveJSON(s)
        case .trials(let t): return Builtins.trialsExport(t, csv: csv)
        case .metrics(let m, _, let percent):
            let mse = percent ? m.mse * 10_000 : m.mse
            if csv {
                return CSV.write([["kendall", "spearman", "mse", "r2", "n"],
                                  [CSV.number(m.kendall), CSV.number(m.spearman), CSV.number(mse), CSV.number(m.r2), String(m.n)]])
            }
            return "{\"kendall\": \(JSONWriter.number(m.kendall)), \"spearman\": \(JSONWriter.number(m.spearman)), "
                + "\"mse\": \(JSONWriter.number(mse)), \"r2\": \(JSONWriter.number(m.r2)), \"n\": \(m.n)}\n"
        case let v:
            throw CommandProblem.cannotExport(type: v.typeName)
        }
    }

    /// [{hash, the graph, score (, accepted)}], best predicted first as `predict` gave them.
    static func scoresJSON(_ s: ScoresValue) -> String {
        var out = "["
        for (k, e) in s.entries.enumerated() {
            if k > 0 { out += "," }
            out += "\n  {" + ArchSet.jsonFields(e.hash, e.arch, space: s.space) + ", \"score\": " + JSONWriter.number(s.space.display(s.scores[k]))
            if let a = s.accepted { out += ", \"accepted\": \(a[k])" }
            out += "}"
        }
        return out + (s.entries.isEmpty ? "]\n" : "\n]\n")
    }

    static func scoresCSV(_ s: ScoresValue) -> String {
        var rows = [["hash"] + ArchSet.csvGraphHeader(s.space) + ["score"] + (s.accepted == nil ? [] : ["accepted"])]
        for (k, e) in s.entries.enumerated() {
            rows.append([e.hash.hex] + ArchSet.csvGraph(e.arch, space: s.space) + [CSV.number(s.space.display(s.scores[k]))]
                        + (s.accepted.map { [String($0[k])] } ?? []))
        }
        return CSV.write(rows)
    }

    /// The language contract's curve: {budget, val_mean, val_std, test_mean, test_std}, with
    /// the search's name, its runs and the mean simulated training time (seconds) beside.
    static func curveJSON(_ s: SearchValue) -> String {
        let c = s.curve
        func list(_ xs: [Double]) -> String { "[" + xs.map { JSONWriter.number(s.space.display($0)) }.joined(separator: ", ") + "]" }
        return "{\"name\": \(JSONWriter.quote(c.name)), \"runs\": \(c.runs), \"benchmark\": \(JSONWriter.quote(s.label)),\n"
            + " \"budget\": [" + (1...c.budgets).map(String.init).joined(separator: ", ") + "],\n"
            + " \"val_mean\": \(list(c.validationMean)),\n \"val_std\": \(list(c.validationSD)),\n"
            + " \"test_mean\": \(list(c.testMean)),\n \"test_std\": \(list(c.testSD)),\n"
            + " \"time_mean\": [" + c.timeMean.map { JSONWriter.number($0) }.joined(separator: ", ") + "]}\n"
    }

    static func curveCSV(_ s: SearchValue) -> String {
        let c = s.curve
        var rows = [["budget", "val_mean", "val_std", "test_mean", "test_std", "time_mean"]]
        for b in 0..<c.budgets {
            rows.append([String(b + 1)] + [c.validationMean[b], c.validationSD[b], c.testMean[b], c.testSD[b]].map { CSV.number(s.space.display($0)) }
                        + [CSV.number(c.timeMean[b])])
        }
        return CSV.write(rows)
    }
}
