import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The predictor benchmark behind `scripts/bench-predictor`: fits the paper's GCN (N = 172,
/// D = 144, 300 epochs, batch 10) and predicts all 423,624 cells, beside the PyTorch
/// reference (scripts/reference/predictor_reference.py) run in the same session when a
/// Python with torch is given, else beside recorded reference figures. Reports the achieved
/// GFLOP/s against this machine's single-thread sgemm peak, measured in the same run.
public enum PredictorBenchmark {
    /// PyTorch 2.13 CPU on these 2-core machines (../shared/NOTES.md).
    public static let recordedFit = 110.0, recordedPredict = 34.0

    public static func run(reference python: String?, report: (String) -> Void) throws {
        BLAS.useSingleThread()
        report("npsh predictor benchmark (OpenBLAS kernel \(BLAS.coreName))\n")
        let peak = sgemmPeak()
        report("sgemm peak, one thread, 1024³: \(fmt(peak, 1)) GFLOP/s\n")
        let catalog = NB101Enumeration.enumerate()
        let table = SyntheticLandscape.table(catalog)
        var rng = RandomStream(seed: 1, path: ["benchmark"])
        let train = rng.distinct(172, from: catalog.cells.count)
        let labels = train.map { Double(table.budgets[0].run($0, 0).validationAccuracy) }
        let config = FitConfig(shape: NetworkShape(kind: .gcn, layers: 3, dim: 144), epochs: 300, batch: 10, seed: 1)
        let t0 = now()
        let p = try Predictor.fit(config, cells: catalog.cells, indices: train, labels: labels)
        let fit = now() - t0
        let t1 = now()
        let scores = p.predict(cells: catalog.cells, indices: Array(catalog.cells.indices), threads: 2)
        let predict = now() - t1
        precondition(scores.count == 423_624)
        let fitFlops = Double(flopsPerCell(config.shape)) * 3 * 172 * 300  // forward + backward ≈ 3× forward
        let predictFlops = Double(flopsPerCell(config.shape)) * 423_624
        var refFit = recordedFit, refPredict = recordedPredict, source = "recorded (PyTorch 2.13 CPU, 2 threads)"
        if let python, let (f, pr) = runReference(python) {
            refFit = f
            refPredict = pr
            source = "measured now (\(python))"
        }
        report("reference: \(source): fit \(fmt(refFit, 1)) s, predict \(fmt(refPredict, 1)) s\n\n")
        report("task                          npsh s   reference s   speed-up   goal   GFLOP/s (of peak)\n")
        report(row("fit N=172, 300 epochs, D=144", fit, refFit, goal: 20, gflops: fitFlops / fit / 1e9, peak: peak))
        report(row("predict 423,624 cells", predict, refPredict, goal: 8, gflops: predictFlops / predict / 1e9, peak: peak * 2))
        report("\n(predict uses both cores, so its share is of twice the one-thread peak; fit runs on one core)\n")
        // How much the distinct-row products save: one more pass, counting.
        let net = Network(shape: config.shape, capacity: 1024)
        let batch = InputBatch(capacity: 1024, vertices: config.shape.vertices, opKinds: config.shape.opKinds)
        var unused = RandomStream(seed: 0)
        p.parameters.withUnsafeBufferPointer { w in
            for start in stride(from: 0, to: catalog.cells.count, by: 1024) {
                batch.fill(catalog.cells, Array(start..<min(catalog.cells.count, start + 1024))[...])
                net.forward(w.baseAddress!, batch, training: false, rng: &unused)
            }
        }
        for l in 1..<config.shape.layers {
            let share = Double(net.dedupUnique[l]) / Double(net.dedupRows[l])
            report("distinct rows entering GCN layer \(l + 1): \(formatCount(net.dedupUnique[l])) of \(formatCount(net.dedupRows[l])) "
                   + "(\(fmt(share * 100, 1)) %)\(share * 4 < 3 ? "; only those are multiplied" : "; dense product")\n")
        }
    }

    static func row(_ task: String, _ s: Double, _ ref: Double, goal: Double, gflops: Double, peak: Double) -> String {
        let speedup = ref / s
        return task.padding(30) + fmt(s, 2).leftPad(8) + fmt(ref, 1).leftPad(14) + (fmt(speedup, 1) + "×").leftPad(11)
            + ("≥ \(Int(goal))×").leftPad(7) + "   \(fmt(gflops, 1)) (\(Int((gflops / peak * 100).rounded())) %)"
            + (speedup >= goal ? "   ok" : "   MISSED") + "\n"
    }

    /// Multiply-adds ×2 of one cell's forward pass (dense products and propagation).
    static func flopsPerCell(_ s: NetworkShape) -> Int {
        let V = s.vertices, D = s.dim
        var f = 0
        for l in 0..<s.layers {
            let din = l == 0 ? s.opKinds : D
            f += 2 * V * din * 2 * D + 2 * V * V * 2 * D
        }
        var din = D
        for w in s.fc + [1] { f += 2 * din * w; din = w }
        return f
    }

    static func sgemmPeak() -> Double {
        let n = 1024
        let a = FloatBuffer(n * n), b = FloatBuffer(n * n), c = FloatBuffer(n * n)
        for i in 0..<(n * n) { a.pointer[i] = Float(i % 7) * 0.1; b.pointer[i] = Float(i % 5) * 0.1 }
        var best = 0.0
        for _ in 0..<4 {
            let t = now()
            BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n, b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            best = max(best, 2 * Double(n * n * n) / (now() - t) / 1e9)
        }
        return best
    }

    static func runReference(_ python: String) -> (Double, Double)? {
        let script = "scripts/reference/predictor_reference.py"
        guard let (out, status) = try? runProgram(python, [script, "speed", "172", "300", "144"]), status == 0 else { return nil }
        var fit: Double?, predict: Double?
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == "fit" { fit = Double(parts[1]) }
            if parts.count == 2, parts[0] == "predict" { predict = Double(parts[1]) }
        }
        guard let fit, let predict else { return nil }
        return (fit, predict)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    static func fmt(_ x: Double, _ digits: Int) -> String { formatFixed(x, digits) }
}

extension String {
    func padding(_ w: Int) -> String { self + String(repeating: " ", count: max(0, w - count)) }
    func leftPad(_ w: Int) -> String { String(repeating: " ", count: max(0, w - count)) + self }
}
