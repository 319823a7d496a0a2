// The paper's figures, built from npsh's results.

public enum FigureAxis: String, Sendable, CaseIterable {
    /// Number of trained models N + K.
    case models
    /// Simulated wall-clock: cumulative recorded training time, hours.
    case time
}

public enum FigureMetric: String, Sendable, CaseIterable {
    case val, test
}

extension Figure {
    /// Search curves with ± std bands (Fig. 7, 10, 11, 13). Oracle results (one point) are
    /// drawn as a flat line across the others' range.
    public static func curves(_ curves: [SearchCurve], space: SpaceInfo, metric: FigureMetric, x: FigureAxis,
                              title: String? = nil, label: String) -> Figure {
        let scale = space.isAccuracy ? 100.0 : 1.0
        let unit = space.isAccuracy ? " (%)" : ""
        let what = metric == .val ? "validation" : "test"
        let metricWord = space.isAccuracy ? "accuracy" : space.lowerIsBetter ? "loss" : space.metricName
        let maxBudget = curves.map(\.budgets).max() ?? 1
        var series: [Series] = []
        var markers: [Marker] = []
        let xsFor: (SearchCurve) -> [Double] = { c in
            switch x {
            case .models: return (1...c.budgets).map(Double.init)
            case .time: return c.timeMean.map { $0 / 3600 }
            }
        }
        let longest = curves.filter { $0.budgets > 1 }.max { $0.budgets < $1.budgets }
        for c in curves {
            let ys = (metric == .val ? c.validationMean : c.testMean).map { $0 * scale }
            let sd = (metric == .val ? c.validationSD : c.testSD).map { $0 * scale }
            if c.budgets == 1 {
                // A constant (the oracle): span the x range of the other curves.
                let span: [Double]
                if let l = longest { let xs = xsFor(l).filter(\.isFinite); span = [xs.first ?? 1, xs.last ?? Double(maxBudget)] } else { span = [1, Double(maxBudget)] }
                series.append(Series(name: c.name, xs: span, ys: [ys[0], ys[0]], band: nil, style: .line))
                continue
            }
            series.append(Series(name: "\(c.name) (\(c.runs) runs)", xs: xsFor(c), ys: ys, band: sd, style: .line))
            if let n = c.trainedBeforePrediction, x == .models { markers.append(Marker(x: Double(n), label: "N=\(n)")) }
        }
        var f = Figure(title: title ?? "Search: \(what) \(metricWord) of the selected architecture",
                       xLabel: x == .models ? "number of trained models (N + K)" : "simulated training time (hours, recorded)",
                       yLabel: "\(what) \(metricWord) of the pick\(unit)", series: series, notes: ["bench: \(label)"])
        f.markers = markers
        return f
    }

    /// Predicted vs true (Fig. 8, 14): one point per architecture, the y = x line, and
    /// τ, MSE and R² in the legend.
    public static func scatter(predicted: [Double], truth: [Double], space: SpaceInfo, title: String? = nil, label: String) -> Figure {
        let scale = space.isAccuracy ? 100.0 : 1.0
        let m = Metrics.summary(predicted: predicted, truth: truth)
        let mse = space.isAccuracy ? formatFixed(m.mse * 10_000, 3) + " %²" : formatSignificant(m.mse, digits: 4)
        let unit = space.isAccuracy ? " (%)" : ""
        let word = space.isAccuracy ? "validation accuracy" : space.kind == .nlp ? "validation loss" : space.metricName
        let f = Figure(title: title ?? "Predicted vs true \(word)", xLabel: "true \(word)\(unit)",
                       yLabel: "predicted \(word)\(unit)",
                       series: [Series(name: "\(formatCount(m.n)) architectures", xs: truth.map { $0 * scale }, ys: predicted.map { $0 * scale }, style: .points)],
                       diagonal: true,
                       notes: ["Kendall τ \(formatFixed(m.kendall, 3))  MSE \(mse)  R² \(formatFixed(m.r2, 3))", "bench: \(label)"])
        return f.focused()
    }

    /// Validation vs test metric of a set (Fig. 6).
    public static func validationVersusTest(_ set: ArchSet, title: String? = nil) -> Figure {
        let scale = set.space.isAccuracy ? 100.0 : 1.0
        let both = set.entries.filter { !$0.validation.isNaN && !$0.test.isNaN }
        let unit = set.space.isAccuracy ? " (%)" : ""
        let word = set.space.isAccuracy ? "accuracy" : "metric (\(set.space.metricName))"
        let tau = both.count > 1 ? Metrics.kendallTau(both.map(\.validation), both.map(\.test)) : .nan
        return Figure(title: title ?? "Validation vs test \(word)", xLabel: "validation \(word)\(unit)", yLabel: "test \(word)\(unit)",
                      series: [Series(name: "\(formatCount(both.count)) architectures", xs: both.map { $0.validation * scale }, ys: both.map { $0.test * scale }, style: .points)],
                      diagonal: true, notes: ["Kendall τ \(formatFixed(tau, 3))", "bench: \(set.label)"]).focused()
    }

    /// Zooms on the bulk (from the 0.5 % quantile), saying how many points fall outside.
    func focused() -> Figure {
        var f = self
        f.lowerQuantile = 0.005
        let hidden = f.hiddenPoints
        if hidden > 0 { f.notes.insert("\(formatCount(hidden)) outliers below the view", at: f.notes.count - 1) }
        return f
    }

    /// Classifier scores by true class (Fig. 9): two overlaid histograms over [0, 1].
    public static func classifierHistogram(probabilities: [Double], truth: [Double], threshold: Double, title: String? = nil, label: String) -> Figure {
        let bins = 20
        func counts(_ keep: (Int) -> Bool) -> [Double] {
            var c = [Double](repeating: 0, count: bins)
            for i in probabilities.indices where keep(i) { c[min(bins - 1, Int(probabilities[i] * Double(bins)))] += 1 }
            return c
        }
        let xs = (0..<bins).map { Double($0) / Double(bins) }
        let pos = counts { truth[$0] >= threshold }, neg = counts { truth[$0] < threshold }
        let report = ClassifierReport(probabilities: probabilities, truth: truth, threshold: threshold)
        var f = Figure(title: title ?? "Classifier scores by class", xLabel: "classifier probability of \"accurate\"", yLabel: "architectures",
                       series: [Series(name: "val ≥ \(formatFixed(threshold * 100, 1)) % (\(Int(pos.reduce(0, +))))", xs: xs, ys: pos, style: .bars),
                                Series(name: "val < \(formatFixed(threshold * 100, 1)) % (\(Int(neg.reduce(0, +))))", xs: xs, ys: neg, style: .bars)],
                       notes: ["accuracy \(formatFixed(report.accuracy * 100, 2)) %, false-negative rate \(formatFixed(report.falseNegativeRate * 100, 2)) %", "bench: \(label)"])
        f.barWidth = 1 / Double(bins)
        f.markers = [Marker(x: 0.5, label: "p = 0.5")]
        return f
    }
}
