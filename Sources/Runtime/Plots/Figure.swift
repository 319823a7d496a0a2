// Figures as data, drawn two ways: a self-contained SVG (axes, ticks, labels, legend,
// title) and a compact Unicode preview for terminals. Both are pure functions of the
// figure, so output is stable and testable.

public struct Series: Sendable, Equatable {
    public enum Style: Sendable, Equatable { case line, points, bars }
    public var name: String
    public var xs: [Double]
    var ys: [Double]
    /// A ± band around a line (std over runs); nil for none.
    var band: [Double]?
    public var style: Style

    public init(name: String, xs: [Double], ys: [Double], band: [Double]? = nil, style: Style = .line) {
        precondition(xs.count == ys.count && (band == nil || band!.count == ys.count))
        self.name = name
        self.xs = xs
        self.ys = ys
        self.band = band
        self.style = style
    }
}

public struct Figure: Sendable, Equatable {
    public var title: String
    var xLabel: String
    var yLabel: String
    public var series: [Series]
    /// Draw the y = x diagonal (predicted-vs-true scatter).
    var diagonal = false
    /// Lines of text added under the legend entries (τ, MSE, R², the benchmark's label).
    public var notes: [String] = []
    /// Bar width in x units, for histograms.
    var barWidth: Double = 0
    /// Dotted vertical markers: where a predictor search starts picking (N).
    var markers: [Marker] = []

    struct Marker: Sendable, Equatable {
        public var x: Double
        public var label: String
    }

    /// Points of point series outside the view (hidden by the quantile cut).
    var hiddenPoints: Int {
        let (xr, yr) = bounds()
        return series.filter { $0.style == .points }.reduce(0) { n, s in
            n + s.xs.indices.filter { s.xs[$0].isFinite && s.ys[$0].isFinite && (!xr.contains(s.xs[$0]) || !yr.contains(s.ys[$0])) }.count
        }
    }

    public init(title: String, xLabel: String, yLabel: String, series: [Series], diagonal: Bool = false, notes: [String] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.diagonal = diagonal
        self.notes = notes
    }

    /// Scatter plots: the view starts at this quantile of the data (outliers below it, such
    /// as diverged runs near 10 %, would squash the bulk into a corner); nil shows all.
    var lowerQuantile: Double? = nil

    /// The data range, with bands, bars from zero and the diagonal, padded 4 %.
    func bounds() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        var xs: [Double] = [], ys: [Double] = []
        if let q = lowerQuantile {
            let px = series.flatMap { s in s.xs.indices.filter { s.xs[$0].isFinite && s.ys[$0].isFinite }.map { s.xs[$0] } }.sorted()
            let py = series.flatMap { s in s.xs.indices.filter { s.xs[$0].isFinite && s.ys[$0].isFinite }.map { s.ys[$0] } }.sorted()
            if !px.isEmpty {
                let k = min(px.count - 1, Int(Double(px.count) * q))
                let lo = min(px[k], py[k]), hi = max(px.last!, py.last!)
                let w = hi - lo, p = w > 0 ? w * 0.04 : 0.5
                return ((lo - p)...(hi + p), (lo - p)...(hi + p))
            }
        }
        for s in series {
            for (i, x) in s.xs.enumerated() where x.isFinite && s.ys[i].isFinite {
                xs.append(x)
                let b = s.band?[i] ?? 0
                ys.append(s.ys[i] - (b.isFinite ? b : 0))
                ys.append(s.ys[i] + (b.isFinite ? b : 0))
                if s.style == .bars { ys.append(0); xs.append(x + barWidth) }
            }
        }
        var x = (xs.min() ?? 0)...(xs.max() ?? 1)
        var y = (ys.min() ?? 0)...(ys.max() ?? 1)
        if diagonal {
            let lo = min(x.lowerBound, y.lowerBound), hi = max(x.upperBound, y.upperBound)
            x = lo...hi
            y = lo...hi
        }
        func pad(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
            let w = r.upperBound - r.lowerBound
            let p = w > 0 ? w * 0.04 : max(abs(r.lowerBound) * 0.05, 0.5)
            return (r.lowerBound - p)...(r.upperBound + p)
        }
        // Counts and probabilities do not go below zero: keep the axis from showing it.
        var px = pad(x), py = pad(y)
        if x.lowerBound >= 0 && px.lowerBound < 0 { px = 0...px.upperBound }
        if y.lowerBound >= 0 && py.lowerBound < 0 { py = 0...py.upperBound }
        return (px, py)
    }
}

/// Tick positions: 1, 2 or 5 × 10^k steps, about `target` of them inside the range.
func niceTicks(_ r: ClosedRange<Double>, target: Int = 6) -> [Double] {
    let span = r.upperBound - r.lowerBound
    guard span > 0, span.isFinite else { return [r.lowerBound] }
    let raw = span / Double(max(target, 2))
    let mag = pow10(floorLog10(raw))
    let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    var t = (r.lowerBound / step).rounded(.up) * step
    var out: [Double] = []
    while t <= r.upperBound + step * 1e-9 {
        out.append(abs(t) < step * 1e-9 ? 0 : t)
        t += step
    }
    return out
}

/// A tick label with as many decimals as the step needs.
func tickLabel(_ v: Double, step: Double) -> String {
    let decimals = step >= 1 ? 0 : min(6, Int((-floorLog10(step)).rounded(.up)))
    return formatFixed(v, decimals)
}

func floorLog10(_ x: Double) -> Double {
    var k = 0.0, v = x
    if v <= 0 || !v.isFinite { return 0 }
    while v >= 10 { v /= 10; k += 1 }
    while v < 1 { v *= 10; k -= 1 }
    return k
}

func pow10(_ k: Double) -> Double {
    var v = 1.0
    if k >= 0 { for _ in 0..<Int(k) { v *= 10 } } else { for _ in 0..<Int(-k) { v /= 10 } }
    return v
}
