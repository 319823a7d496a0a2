import Dispatch

// The built-in synthetic landscape: deterministic, NAS-Bench-101-like accuracies for every
// cell of the space, so npsh works with no download. It is always labelled "synthetic".
//
// Formula (all logs natural). For a cell with interior op counts c3 (conv3x3), c1 (conv1x1),
// mp (maxpool), `depth` (longest input→output path, in edges), `width` (out-degree of the
// input), `skip` (1 if input→output is an edge), `edges`, `fanin` (in-degree of the output),
// `n` vertices, `noconv` (1 if no convolution), `pproxy` = log(1 + 9·c3 + c1) (a parameter
// proxy: a 3×3 conv has nine times the weights of a 1×1) and `convfrac` = (c3+c1)/max(n−2,1):
//
//   mu   = β·[1, c3, c1, mp, depth, width, skip, edges, fanin, noconv, pproxy, depth·mp, convfrac]
//   cell = 0.13·z_cell + Exp(0.6)·[u_cell < 0.01] − 0.006          (cell quality, heavy tail)
//   validation error of run r = exp(mu + cell + 0.03·z_run)        (run-to-run noise)
//   test error of run r       = validation error · exp(0.07 + 0.02·z_test)
//   with probability 0.0012 a run diverges: validation ≈ test ≈ 0.0951 (chance level)
//
// β was fitted by least squares of log(1 − val_acc_108) on these features over the 20,001
// real cells of nb101-20k.jsonl (scripts/calibrate_synthetic.py; R² 0.63 in log space);
// the tail weights were chosen so that mean (0.910), spread (0.038), quantiles and the
// share below 80 % match the real set. Training time is a documented proxy:
// (600 + 220·c3 + 60·c1 + 40·mp + 35·edges) s · exp(0.01·z). Every draw comes from a stream
// keyed by the cell's hash, so a cell's values do not depend on enumeration order.

public enum SyntheticLandscape {
    static let beta: [Double] = [
        -1.7536640592550825, 0.06337273055720068, 0.03587812156460579, 0.06417526962009384,
        0.03843601503867627, -0.10004745691445452, -0.1200129519361005, -0.009546934431549635,
        -0.0011607496342170545, -0.2123185185218877, -0.24002146767717375, -0.00938374763619083,
        -0.1802767947820679,
    ]
    static let cellSD = 0.13
    static let tailProbability = 0.01
    static let tailMean = 0.6
    static let runSD = 0.03
    static let testShift = 0.07
    public static let testSD = 0.02
    static let divergeProbability = 0.0012
    static let divergedAccuracy = 0.0951
    static let runsPerCell = 3
    static let landscapeSeed: UInt64 = 101

    /// Structural features of a cell, in the order of `beta`.
    static func features(_ cell: NB101Cell) -> [Double] {
        let n = cell.vertices
        var c3 = 0.0, c1 = 0.0, mp = 0.0
        for v in 1..<max(1, n - 1) {
            switch cell.op(v) {
            case .conv3x3: c3 += 1
            case .conv1x1: c1 += 1
            case .maxpool3x3: mp += 1
            }
        }
        var depthOf = [Int](repeating: 0, count: n)
        for j in 1..<n { for i in 0..<j where cell.edge(i, j) { depthOf[j] = max(depthOf[j], depthOf[i] + 1) } }
        let depth = Double(depthOf[n - 1])
        var width = 0.0, fanin = 0.0
        for j in 0..<n where cell.edge(0, j) { width += 1 }
        for i in 0..<n where cell.edge(i, n - 1) { fanin += 1 }
        let skip = cell.edge(0, n - 1) ? 1.0 : 0.0
        let edges = Double(cell.edgeCount)
        let noconv = c3 + c1 == 0 ? 1.0 : 0.0
        let pproxy = log1pPortable(9 * c3 + c1)
        let convfrac = (c3 + c1) / Double(max(n - 2, 1))
        return [1, c3, c1, mp, depth, width, skip, edges, fanin, noconv, pproxy, depth * mp, convfrac]
    }

    /// The recorded runs of one cell (108 epochs).
    public static func runs(_ cell: NB101Cell, hash: Digest128) -> [RunRecord] {
        let f = features(cell)
        var mu = 0.0
        for (b, x) in zip(beta, f) { mu += b * x }
        var rng = RandomStream(seed: landscapeSeed, path: [.index(hash.hi), .index(hash.lo)])
        var quality = cellSD * rng.normal() - tailProbability * tailMean
        let tailDraw = rng.uniform()
        let tailSize = -tailMean * logPortable(1 - rng.uniform())
        if tailDraw < tailProbability { quality += tailSize }
        let baseTime = 600 + 220 * f[1] + 60 * f[2] + 40 * f[3] + 35 * f[7]
        return (0..<runsPerCell).map { _ in
            let zRun = rng.normal(), zTest = rng.normal(), zTime = rng.normal(), zDiv = rng.normal()
            let diverged = rng.uniform() < divergeProbability
            let time = baseTime * expPortable(0.01 * zTime)
            var valErr = expPortable(mu + quality + runSD * zRun)
            var testErr = valErr * expPortable(testShift + testSD * zTest)
            if diverged {
                valErr = 1 - (divergedAccuracy + 0.001 * zDiv)
                testErr = 1 - (divergedAccuracy + 0.001 * zTest)
            }
            let val = min(max(1 - valErr, 0), 1), test = min(max(1 - testErr, 0), 1)
            let train = diverged ? val : 1 - (1 - val) * 0.02
            return RunRecord(
                trainAccuracy: Float(train), validationAccuracy: Float(val), testAccuracy: Float(test),
                trainingTime: Float(time),
                halfwayTrainAccuracy: Float(diverged ? val : 1 - (1 - val) * 0.3),
                halfwayValidationAccuracy: Float(diverged ? val : 1 - (1 - val) * 1.35),
                halfwayTestAccuracy: Float(diverged ? test : 1 - (1 - test) * 1.35),
                halfwayTrainingTime: Float(time / 2))
        }
    }

    /// The landscape over a whole catalog (every cell of the space).
    public static func table(_ catalog: NB101Catalog, threads: Int = defaultThreads) -> BenchmarkTable {
        let count = catalog.cells.count
        let stride = runsPerCell * RunRecord.fieldCount
        var fields = [Float](repeating: 0, count: count * stride)
        fields.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendable(buf)
            let chunks = max(1, threads) * 8
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for i in (count * c / chunks)..<(count * (c + 1) / chunks) {
                    var k = i * stride
                    for run in runs(catalog.cells[i], hash: catalog.hashes[i]) {
                        for v in run.fields { out.value[k] = v; k += 1 }
                    }
                }
            }
        }
        let offsets = (0...count).map { Int32($0 * runsPerCell) }
        return BenchmarkTable(source: .synthetic, cells: catalog.cells, hashes: catalog.hashes,
                              parameters: [Int32](repeating: -1, count: count),
                              budgets: [RunTable(epochs: 108, offsets: offsets, fields: fields)])
    }
}

#if canImport(Glibc)
import Glibc
func expPortable(_ x: Double) -> Double { Glibc.exp(x) }
func logPortable(_ x: Double) -> Double { Glibc.log(x) }
func log1pPortable(_ x: Double) -> Double { Glibc.log1p(x) }
#elseif canImport(Darwin)
import Darwin
func expPortable(_ x: Double) -> Double { Darwin.exp(x) }
func logPortable(_ x: Double) -> Double { Darwin.log(x) }
func log1pPortable(_ x: Double) -> Double { Darwin.log1p(x) }
#endif
