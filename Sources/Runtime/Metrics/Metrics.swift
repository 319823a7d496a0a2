// Ranking and regression metrics. Kendall's τ-b runs in O(n log n) (Knight's algorithm:
// sort by x then y, count discordant pairs as swaps of a merge sort on y, with ties in x,
// in y and in both accounted for).

public struct MetricSummary: Sendable, Equatable {
    public var kendall: Double
    public var spearman: Double
    public var mse: Double
    public var r2: Double
    public var n: Int
}

public enum Metrics {
    /// The mean and the population standard deviation (NaN, NaN for none).
    public static func meanAndSD(_ xs: [Double]) -> (mean: Double, sd: Double) {
        guard !xs.isEmpty else { return (.nan, .nan) }
        let m = xs.reduce(0, +) / Double(xs.count)
        return (m, (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)).squareRoot())
    }

    /// All metrics of predictions against truths.
    public static func summary(predicted p: [Double], truth t: [Double]) -> MetricSummary {
        MetricSummary(kendall: kendallTau(p, t), spearman: spearman(p, t), mse: mse(p, t), r2: r2(predicted: p, truth: t), n: p.count)
    }

    public static func mse(_ p: [Double], _ t: [Double]) -> Double {
        precondition(p.count == t.count)
        guard !p.isEmpty else { return .nan }
        var s = 0.0
        for i in p.indices { let e = p[i] - t[i]; s += e * e }
        return s / Double(p.count)
    }

    /// Coefficient of determination: 1 − SS_res / SS_tot.
    public static func r2(predicted p: [Double], truth t: [Double]) -> Double {
        guard t.count > 1 else { return .nan }
        let mean = t.reduce(0, +) / Double(t.count)
        var res = 0.0, tot = 0.0
        for i in t.indices { res += (t[i] - p[i]) * (t[i] - p[i]); tot += (t[i] - mean) * (t[i] - mean) }
        return tot == 0 ? .nan : 1 - res / tot
    }

    /// Kendall's τ-b in O(n log n).
    static func kendallTau(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count)
        let n = x.count
        guard n > 1 else { return .nan }
        var order = Array(0..<n)
        order.sort { x[$0] != x[$1] ? x[$0] < x[$1] : y[$0] < y[$1] }
        // Ties in x, and joint ties.
        var tiesX = 0, tiesXY = 0
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && x[order[j]] == x[order[i]] { j += 1 }
            tiesX += (j - i) * (j - i - 1) / 2
            var k = i
            while k < j {
                var m = k + 1
                while m < j && y[order[m]] == y[order[k]] { m += 1 }
                tiesXY += (m - k) * (m - k - 1) / 2
                k = m
            }
            i = j
        }
        // Merge sort on y counting swaps (discordant pairs).
        var ys = order.map { y[$0] }
        var buffer = ys
        var swaps = 0
        var width = 1
        while width < n {
            var lo = 0
            while lo < n {
                let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
                var a = lo, b = mid, k = lo
                while a < mid && b < hi {
                    if ys[b] < ys[a] { buffer[k] = ys[b]; b += 1; swaps += mid - a } else { buffer[k] = ys[a]; a += 1 }
                    k += 1
                }
                while a < mid { buffer[k] = ys[a]; a += 1; k += 1 }
                while b < hi { buffer[k] = ys[b]; b += 1; k += 1 }
                lo = hi
            }
            swap(&ys, &buffer)
            width *= 2
        }
        var tiesY = 0
        i = 0
        while i < n {
            var j = i + 1
            while j < n && ys[j] == ys[i] { j += 1 }
            tiesY += (j - i) * (j - i - 1) / 2
            i = j
        }
        let pairs = n * (n - 1) / 2
        let concordantMinusDiscordant = Double(pairs - tiesX - tiesY + tiesXY - 2 * swaps)
        let denom = (Double(pairs - tiesX) * Double(pairs - tiesY)).squareRoot()
        return denom == 0 ? .nan : concordantMinusDiscordant / denom
    }

    /// Kendall's τ-b by counting every pair: the O(n²) reference for tests.
    static func kendallTauNaive(_ x: [Double], _ y: [Double]) -> Double {
        var c = 0.0, d = 0.0, tx = 0.0, ty = 0.0
        for i in 0..<x.count {
            for j in (i + 1)..<max(i + 1, x.count) {
                let a = x[i] - x[j], b = y[i] - y[j]
                if a == 0 && b == 0 { continue }
                if a == 0 { tx += 1 } else if b == 0 { ty += 1 } else if (a > 0) == (b > 0) { c += 1 } else { d += 1 }
            }
        }
        let denom = ((c + d + tx) * (c + d + ty)).squareRoot()
        return denom == 0 ? .nan : (c - d) / denom
    }

    /// Ranks with ties given their average rank (1-based).
    static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i + 1
            while j < order.count && x[order[j]] == x[order[i]] { j += 1 }
            let avg = Double(i + j + 1) / 2
            for k in i..<j { r[order[k]] = avg }
            i = j
        }
        return r
    }

    /// Spearman's ρ: Pearson correlation of the ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(ranks(x), ranks(y))
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        guard x.count > 1 else { return .nan }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my) }
        return sxx == 0 || syy == 0 ? .nan : sxy / (sxx * syy).squareRoot()
    }

    /// The share of the true top k among the predicted top k (higher is better for both).
    static func precisionAtK(predicted p: [Double], truth t: [Double], k: Int) -> Double {
        guard k > 0, k <= p.count else { return .nan }
        let topP = Set(p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(k))
        let topT = Set(t.indices.sorted { t[$0] != t[$1] ? t[$0] > t[$1] : $0 < $1 }.prefix(k))
        return Double(topP.intersection(topT).count) / Double(k)
    }
}

/// How a classifier of "accurate" architectures (validation ≥ threshold) performs.
public struct ClassifierReport: Sendable, Equatable {
    public var accuracy: Double
    /// Accurate architectures the classifier rejects, as a share of all accurate ones.
    public var falseNegativeRate: Double
    var falsePositiveRate: Double

    public init(probabilities p: [Double], truth t: [Double], threshold: Double) {
        var tp = 0, tn = 0, fp = 0, fn = 0
        for i in p.indices {
            let actual = t[i] >= threshold, predicted = p[i] >= 0.5
            switch (actual, predicted) {
            case (true, true): tp += 1
            case (false, false): tn += 1
            case (false, true): fp += 1
            case (true, false): fn += 1
            }
        }
        accuracy = p.isEmpty ? .nan : Double(tp + tn) / Double(p.count)
        falseNegativeRate = tp + fn == 0 ? .nan : Double(fn) / Double(tp + fn)
        falsePositiveRate = tn + fp == 0 ? .nan : Double(fp) / Double(tn + fp)
    }
}
