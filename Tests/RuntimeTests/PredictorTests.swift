import Foundation
@testable import Runtime
import XCTest

final class PredictorTests: XCTestCase {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.path + "/Fixtures"
    }()

    /// npsh against the PyTorch reference (scripts/reference/predictor_reference.py): same
    /// initial weights and batch order, no dropout. Golden numbers recorded with torch 2.13.
    func testParityWithPyTorchReference() throws {
        let fx = try JSONValue.parse(String(contentsOfFile: Self.fixtures + "/parity-fixture.json", encoding: .utf8))
        let golden = try JSONValue.parse(String(contentsOfFile: Self.fixtures + "/parity-golden.json", encoding: .utf8))
        func cells(_ key: String) throws -> [NB101Cell] {
            try fx[key]!.array!.enumerated().map { try ArchitectureJSON.cell(from: $1, at: DataPlace(file: "fixture", position: "\(key) \($0)")).0 }
        }
        let train = try cells("train"), test = try cells("test")
        let labels = fx["labels"]!.array!.map { $0.number! }
        let initial = fx["initial"]!.array!.map { Float($0.number!) }
        let orders = fx["orders"]!.array!.map { $0.array!.map { Int($0.number!) } }
        let config = ParityFixture.config
        XCTAssertEqual(initial, Predictor.initialParameters(config, labels: labels), "the fixture's weights are npsh's own initialisation")
        let p = try Predictor.fit(config, cells: train, indices: Array(train.indices), labels: labels, initial: initial, order: orders)
        // Tolerance: float32 sums in a different order drift by ~1e-6 per step; 1e-4 relative
        // after 100 steps and on final predictions.
        for step in [1, 10, 100] {
            let want = golden["loss_step_\(step)"]!.number!
            XCTAssertEqual(Double(p.stepLosses[step - 1]), want, accuracy: abs(want) * 1e-4, "loss after step \(step)")
        }
        let predicted = p.predict(cells: test, indices: Array(test.indices))
        for (a, b) in zip(predicted, golden["predictions"]!.array!.map { $0.number! }) {
            XCTAssertEqual(a, b, accuracy: 1e-4)
        }
    }

    /// Central finite differences in float32 against backward, for every model kind.
    func testGradientsMatchFiniteDifferences() throws {
        let catalog = Space.catalog
        let idx = [5, 900, 77_000, 300_000, 423_000]
        for kind in ModelKind.allCases {
            for output in [OutputMode.shifted, .linear] {
                let shape = NetworkShape(kind: kind, layers: 2, dim: 6, fc: [5], dropout: 0, output: output)
                let net = Network(shape: shape, capacity: idx.count)
                let batch = InputBatch(capacity: idx.count)
                batch.fill(catalog.cells, ArraySlice(idx))
                var params = Predictor.initialParameters(FitConfig(shape: shape, seed: 3), labels: [0.9, 0.8])
                // Move biases off zero so ReLU kinks are not hit exactly.
                var rng = RandomStream(seed: 11)
                for i in params.indices { params[i] += Float(rng.uniform() - 0.5) * 0.2 }
                let targets: [Float] = [0.91, 0.85, 0.93, 0.88, 0.9]
                let config = FitConfig(shape: shape)
                func loss(_ p: [Float]) -> Double {
                    var r = RandomStream(seed: 0)
                    let z = p.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch, training: false, rng: &r) }
                    var l = 0.0
                    for k in 0..<idx.count { l += Double(Predictor.lossAndGradientForTesting(z[k], target: targets[k], config: config).0) }
                    return l / Double(idx.count)
                }
                var r = RandomStream(seed: 0)
                let grads = FloatBuffer(params.count)
                let dz = FloatBuffer(idx.count)
                params.withUnsafeBufferPointer { p in
                    let z = net.forward(p.baseAddress!, batch, training: true, rng: &r)
                    for k in 0..<idx.count { dz.pointer[k] = Predictor.lossAndGradientForTesting(z[k], target: targets[k], config: config).1 / Float(idx.count) }
                    net.backward(p.baseAddress!, grads.pointer, batch, dz: dz.pointer)
                }
                // Per tensor: the directional derivative along a random unit direction, by
                // central differences, against the analytic gradient's projection. Directions
                // average over ReLU kinks that single-element differences would straddle.
                var worst = 0.0
                var dirRng = RandomStream(seed: 99)
                for t in net.layout.tensors {
                    var v = (0..<t.count).map { _ in Float(dirRng.normal()) }
                    let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
                    v = v.map { $0 / norm }
                    var analytic = 0.0
                    for k in 0..<t.count { analytic += Double(grads.pointer[t.offset + k]) * Double(v[k]) }
                    // Large steps may straddle a ReLU kink, small ones drown in float32
                    // rounding: the best of three step sizes must agree.
                    var err = Double.infinity, numeric = 0.0
                    for h: Float in [2e-3, 5e-4, 1.25e-4] {
                        var plus = params, minus = params
                        for k in 0..<t.count { plus[t.offset + k] += h * v[k]; minus[t.offset + k] -= h * v[k] }
                        let nd = (loss(plus) - loss(minus)) / (2 * Double(h))
                        let e = abs(nd - analytic) / max(1e-4, abs(nd) + abs(analytic))
                        if e < err { err = e; numeric = nd }
                    }
                    if err > 0.02 { print("\(kind) \(output) \(t.name): numeric \(numeric) analytic \(analytic)") }
                    worst = max(worst, err)
                }
                XCTAssertLessThan(worst, 0.02, "\(kind) \(output): worst relative gradient error \(worst)")
            }
        }
    }

    /// The pairwise losses' dLoss/dz against central differences (in double the float
    /// arithmetic allows), for each output mode, with ties and a margin that some pairs meet.
    func testPairwiseLossGradientsMatchFiniteDifferences() {
        var rng = RandomStream(seed: 5)
        let z: [Float] = (0..<8).map { _ in Float(rng.uniform() * 4 - 2) }
        let t: [Float] = [0.91, 0.85, 0.93, 0.88, 0.91, 0.80, 0.95, 0.87]  // one tie (0.91)
        for loss in [LossKind.hinge, .bpr] {
            for output in OutputMode.allCases {
                var config = FitConfig(shape: NetworkShape(output: output))
                config.loss = loss
                config.margin = 0.05
                let unit: Float = 3
                let (_, dz) = Predictor.pairwiseLossAndGradient(z, targets: t, config: config, unit: unit)
                for k in z.indices {
                    var err = Float.infinity
                    for h: Float in [1e-2, 1e-3] {
                        var plus = z, minus = z
                        plus[k] += h; minus[k] -= h
                        let numeric = (Predictor.pairwiseLossAndGradient(plus, targets: t, config: config, unit: unit).0
                            - Predictor.pairwiseLossAndGradient(minus, targets: t, config: config, unit: unit).0) / (2 * h)
                        err = min(err, abs(numeric - dz[k]) / max(1e-3, abs(numeric) + abs(dz[k])))
                    }
                    XCTAssertLessThan(err, 0.02, "\(loss) \(output) member \(k)")
                }
                // Ties teach nothing: equal targets alone give no loss and no gradient.
                let (l0, g0) = Predictor.pairwiseLossAndGradient([0.3, -1], targets: [0.9, 0.9], config: config, unit: unit)
                XCTAssertEqual(l0, 0)
                XCTAssertEqual(g0, [0, 0])
            }
        }
    }

    /// A pairwise fit learns the order of a toy set: labels that are a function of the cell,
    /// ranked on unseen cells far better than chance; the mse fit's bits are untouched by the
    /// new losses (it still equals its golden, tested above).
    func testPairwiseFitsRankAToySet() throws {
        let cells = Space.catalog.cells
        let train = Array(stride(from: 0, to: 400_000, by: 2_000))
        let test = Array(stride(from: 1_000, to: 400_000, by: 2_000))
        // A toy accuracy: more conv3x3 and more edges is better.
        func label(_ i: Int) -> Double {
            let c = cells[i]
            let conv = (1..<max(1, c.vertices - 1)).filter { c.label($0) == 0 }.count
            return 0.8 + 0.02 * Double(conv) + 0.005 * Double(c.edgeCount)
        }
        for loss in [LossKind.hinge, .bpr] {
            var config = FitConfig(shape: NetworkShape(dim: 16), epochs: 40, seed: 7)
            config.loss = loss
            let p = try Predictor.fit(config, cells: cells, indices: train, labels: train.map(label), threads: 2)
            let tau = Metrics.kendallTau(p.predict(cells: cells, indices: test), test.map(label))
            XCTAssertGreaterThan(tau, 0.6, "\(loss): τ \(tau)")
            // Bit-identical whatever the thread count.
            let one = try Predictor.fit(config, cells: cells, indices: train, labels: train.map(label), threads: 1)
            XCTAssertEqual(one.parameters, p.parameters, "\(loss)")
        }
    }

    /// Inverted dropout's forward pass: a mask of 0 or 1/(1-p) at the rate asked, applied to
    /// x, keeping its mean. (The backward pass multiplies the gradient by the same mask; the
    /// fit's gradient checks cover it.)
    func testDropoutMaskKeepsTheMean() {
        var rng = RandomStream(seed: 4)
        let n = 100_000
        let input = (0..<n).map { Float($0 % 7) }
        let x = FloatBuffer(input), mask = FloatBuffer(n)
        dropoutForward(x.pointer, mask: mask.pointer, count: n, rate: 0.1, rng: &rng)
        let dropped = (0..<n).filter { mask.pointer[$0] == 0 }.count
        XCTAssertEqual(Double(dropped) / Double(n), 0.1, accuracy: 0.005)
        XCTAssertTrue((0..<n).allSatisfy { mask.pointer[$0] == 0 || mask.pointer[$0] == 1 / (1 - Float(0.1)) })
        XCTAssertTrue((0..<n).allSatisfy { x.pointer[$0] == input[$0] * mask.pointer[$0] }, "x is multiplied by its mask")
        XCTAssertEqual(x.array.reduce(0, +) / input.reduce(0, +), 1, accuracy: 0.01, "inverted dropout keeps the mean")
    }

    /// The C dropout (npsh_dropout, AVX-512/AVX2/baseline copies) draws the same mask, leaves
    /// the stream in the same state and gives the same bits as the scalar Swift form, for
    /// lengths that are and are not multiples of four (and the values that drop to -0); a
    /// million draws at a rate that is not a multiple of 2⁻¹⁶ meet the uniform on the
    /// threshold's boundary (an off-by-one there fails).
    func testDropoutKernelMatchesTheScalarForm() {
        for (n, rate) in [(1, Float(0.1)), (3, 0.5), (256, 0.25), (257, 0.999), (35 * 144, 0.1), (1001, 0.3), (4099, 0.9), (515, 1e-5),
                          (1_000_003, 0.1)] {
            var a = RandomStream(seed: 9, path: [.index(UInt64(n))]), b = a, c = a
            let input = (0..<n).map { Float($0 % 11) - 5.5 }
            let x1 = FloatBuffer(input), m1 = FloatBuffer(n), x2 = FloatBuffer(input), m2 = FloatBuffer(n), m3 = FloatBuffer(n)
            dropoutForward(x1.pointer, mask: m1.pointer, count: n, rate: rate, rng: &a)
            dropoutReference(x2.pointer, mask: m2.pointer, count: n, rate: rate, rng: &b)
            dropoutMask(m3.pointer, count: n, rate: rate, rng: &c)
            // The first difference, not the arrays: a million values would flood the log.
            func firstDifference(_ a: FloatBuffer, _ b: FloatBuffer) -> Int? { (0..<n).first { a.pointer[$0].bitPattern != b.pointer[$0].bitPattern } }
            XCTAssertNil(firstDifference(m1, m2), "the masks, n=\(n)")
            XCTAssertNil(firstDifference(m3, m2), "the masks alone, n=\(n)")
            XCTAssertNil(firstDifference(x1, x2), "the products, n=\(n)")
            let next = b.next()
            XCTAssertEqual(a.next(), next, "the stream advances alike, n=\(n)")
            XCTAssertEqual(c.next(), next, "the masks alone advance the stream alike, n=\(n)")
        }
    }

    /// The optimizer only reads the halves' gradients (each half clears its own before its
    /// backward pass), on one thread or two, and gives the same step either way.
    func testAdamOnlyReadsTheGradients() {
        let n = 5000
        let g0 = (0..<n).map { Float($0 % 5) - 2 }, h0 = (0..<n).map { Float($0 % 3) }
        var results: [[Float]] = []
        for threads in [1, 2] {
            let opt = AdamOptimizer(kind: .adam, count: n, weightDecay: 1e-3, decayMask: [Float](repeating: 1, count: n))
            let p = FloatBuffer((0..<n).map { Float($0) * 1e-3 }), g = FloatBuffer(g0), g2 = FloatBuffer(h0)
            opt.update(p.pointer, g.pointer, plus: g2.pointer, count: n, lr: 1e-3, threads: threads)
            XCTAssertEqual(g.array, g0)
            XCTAssertEqual(g2.array, h0)
            XCTAssertNotEqual(p.array[7], 7e-3)
            results.append(p.array)
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
    }

    /// A fit's half clears what it accumulates and stores a GCN's weight gradients: two steps
    /// in a row over the same members give the gradient a backward pass adds into zeros, bit
    /// for bit (nothing of the step before survives).
    func testFitHalfGradientIsEachStepsOwn() {
        let catalog = Space.catalog
        let shape = NetworkShape(kind: .gcn, layers: 3, dim: 24, fc: [8], dropout: 0.1)
        let config = FitConfig(shape: shape, seed: 3)
        let params = FloatBuffer(Predictor.initialParameters(config, labels: [0.9, 0.8]))
        let indices = [11, 4_000, 77_777, 123_456, 300_001], targets: [Float] = [0.2, -0.4, 1.1, 0.0, -0.7]
        let members = FitMembers(capacity: 5)
        for k in 0..<5 { members.items[k] = k }
        let half = FitHalf(shape: shape, capacity: 5)
        XCTAssertFalse(half.cleared.isEmpty)
        let stream = RandomStream(seed: 9, path: ["dropout"])
        var steps: [[Float]] = []
        for _ in 0..<2 {
            half.run(params: params, cells: catalog.cells, indices: indices, targets: targets, members: members, range: 0..<5, batchSize: 5,
                     config: config, unit: 1, dropout: stream)
            steps.append(half.grads.array)
        }
        // The same pass into a zeroed gradient, adding as GCNBody does by default.
        let plain = FitHalf(shape: shape, capacity: 5)
        (plain.net.body as! GCNBody).storesWeightGradients = false
        plain.grads.zero()
        plain.run(params: params, cells: catalog.cells, indices: indices, targets: targets, members: members, range: 0..<5, batchSize: 5,
                  config: config, unit: 1, dropout: stream)
        func differing(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }
        XCTAssertTrue(steps[0].contains { $0 != 0 })
        XCTAssertEqual(differing(steps[0], steps[1]), 0, "the second step's gradient")
        XCTAssertEqual(differing(steps[0], plain.grads.array), 0, "against a backward that adds into zeros")
    }

    func testKendallMatchesTheQuadraticReferenceWithTies() {
        var rng = RandomStream(seed: 8)
        for n in [2, 3, 10, 57, 300] {
            let x = (0..<n).map { _ in Double(rng.int(below: 7)) }
            let y = (0..<n).map { _ in Double(rng.int(below: 5)) + (rng.uniform() < 0.5 ? 0 : 0.5) }
            let fast = Metrics.kendallTau(x, y), slow = Metrics.kendallTauNaive(x, y)
            if slow.isNaN { XCTAssertTrue(fast.isNaN) } else { XCTAssertEqual(fast, slow, accuracy: 1e-12, "n=\(n)") }
            let u = (0..<n).map { _ in rng.uniform() }, v = (0..<n).map { _ in rng.uniform() }
            XCTAssertEqual(Metrics.kendallTau(u, v), Metrics.kendallTauNaive(u, v), accuracy: 1e-12)
        }
        XCTAssertEqual(Metrics.kendallTau([1, 2, 3], [1, 2, 3]), 1)
        XCTAssertEqual(Metrics.kendallTau([1, 2, 3], [3, 2, 1]), -1)
        XCTAssertTrue(Metrics.kendallTau([1, 1, 1], [1, 2, 3]).isNaN)
    }

    func testOtherMetrics() {
        XCTAssertEqual(Metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.spearman([1, 2, 3, 4], [1, 3, 2, 4]), 0.8, accuracy: 1e-12)
        XCTAssertEqual(Metrics.ranks([5, 1, 5, 2]), [3.5, 1, 3.5, 2])
        XCTAssertEqual(Metrics.mse([1, 2], [1, 4]), 2)
        XCTAssertEqual(Metrics.r2(predicted: [1, 2, 3], truth: [1, 2, 3]), 1)
        XCTAssertEqual(Metrics.r2(predicted: [2, 2, 2], truth: [1, 2, 3]), 0)
        XCTAssertEqual(Metrics.precisionAtK(predicted: [0.9, 0.1, 0.8, 0.2], truth: [1, 0, 0, 2], k: 2), 0.5)
    }

    func testPaperDimTable() {
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 172).dim, 144)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 172).source, .table)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 43).dim, 48)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 860).dim, 320)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 253).dim, 177)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 253).source, .interpolated)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 10).dim, 48)
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 10).source, .nearest(43))
        XCTAssertEqual(FitConfig.paperDim(forTrainingSize: 5000).dim, 320)
    }

    func testCosineScheduleAndAdam() {
        XCTAssertEqual(cosineLearningRate(base: 1, step: 0, total: 100), 1)
        XCTAssertEqual(cosineLearningRate(base: 1, step: 50, total: 100), 0.5, accuracy: 1e-12)
        XCTAssertEqual(cosineLearningRate(base: 1, step: 100, total: 100), 0, accuracy: 1e-12)
        // One Adam step moves each parameter by lr against the gradient's sign.
        let opt = AdamOptimizer(kind: .adam, count: 2, weightDecay: 0, decayMask: [1, 1])
        let p = FloatBuffer([1, 1]), g = FloatBuffer([0.5, -3])
        opt.update(p.pointer, g.pointer, count: 2, lr: 0.1)
        XCTAssertEqual(p.array[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(p.array[1], 1.1, accuracy: 1e-6)
        // AdamW decays decoupled from the gradient.
        let w = AdamOptimizer(kind: .adamw, count: 1, weightDecay: 0.5, decayMask: [1])
        let q = FloatBuffer([2]), zero = FloatBuffer([0])
        w.update(q.pointer, zero.pointer, count: 1, lr: 0.1)
        XCTAssertEqual(q.array[0], 2 - 0.1 * 0.5 * 2, accuracy: 1e-6)
    }

    /// Inference (fused propagation, pooling as it goes, distinct-row products) against the
    /// plain training forward without dropout: the same bits, whether every row is multiplied
    /// or only the distinct ones (npsh_gemm rounds a row's product the same wherever it sits).
    func testInferenceForwardMatchesTheTrainingForward() {
        let catalog = Space.catalog
        var rng = RandomStream(seed: 21)
        // Mixed sizes (padding rows), and a batch big enough that layer 2's rows repeat.
        let idx = rng.distinct(700, from: catalog.cells.count)
        let batch = InputBatch(capacity: idx.count)
        batch.fill(catalog.cells, ArraySlice(idx))
        for dim in [16, 37] {
            let shape = NetworkShape(kind: .gcn, layers: 3, dim: dim, fc: [12], dropout: 0)
            var params = Predictor.initialParameters(FitConfig(shape: shape, seed: 4), labels: [0.9, 0.8])
            for i in params.indices { params[i] += Float(rng.uniform() - 0.5) * 0.1 }
            func outputs(training: Bool, distinctRows: Bool) -> [Float] {
                let net = Network(shape: shape, capacity: idx.count)
                net.distinctRowProducts = distinctRows
                var r = RandomStream(seed: 0)
                let z = params.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch, training: training, rng: &r) }
                if !training && distinctRows {
                    XCTAssertLessThan(net.dedupUnique[1] * 2, net.dedupRows[1], "layer 2's product should run on distinct rows")
                }
                return Array(UnsafeBufferPointer(start: z, count: idx.count))
            }
            let training = outputs(training: true, distinctRows: false)
            let dense = outputs(training: false, distinctRows: false)
            XCTAssertEqual(zip(dense, training).filter { $0.bitPattern != $1.bitPattern }.count, 0, "D=\(dim): fused inference changed bits")
            let distinct = outputs(training: false, distinctRows: true)
            XCTAssertEqual(zip(distinct, training).filter { $0.bitPattern != $1.bitPattern }.count, 0, "D=\(dim): distinct rows changed bits")
        }
    }

    /// The optimizer's C kernel does the scalar formula's arithmetic bit for bit (Adam and
    /// AdamW, decayed and undecayed entries, a gradient given in two halves), and splitting
    /// the parameters over two threads changes nothing.
    func testAdamKernelMatchesAScalarReference() {
        for kind in OptimizerKind.allCases {
            for n in [19, 5_003] {
                var rng = RandomStream(seed: 5)
                let mask: [Float] = (0..<n).map { $0 % 3 == 0 ? 0 : 1 }
                let opt = AdamOptimizer(kind: kind, count: n, weightDecay: 0.01, decayMask: mask)
                let threaded = AdamOptimizer(kind: kind, count: n, weightDecay: 0.01, decayMask: mask)
                let p = FloatBuffer((0..<n).map { _ in Float(rng.uniform() - 0.5) })
                let pt = FloatBuffer(p.array)
                var q = p.array, m = [Float](repeating: 0, count: n), v = m
                for step in 1...3 {
                    let ga = (0..<n).map { _ in Float(rng.uniform() - 0.5) }, g2a = (0..<n).map { _ in Float(rng.uniform() - 0.5) }
                    // Each call gets its own copy of the gradients (the optimizer only reads them).
                    let g = FloatBuffer(ga), g2 = FloatBuffer(g2a), h = FloatBuffer(ga), h2 = FloatBuffer(g2a)
                    opt.update(p.pointer, g.pointer, plus: g2.pointer, count: n, lr: 0.01)
                    threaded.update(pt.pointer, h.pointer, plus: h2.pointer, count: n, lr: 0.01, threads: 2)
                    withExtendedLifetime((g, g2, h, h2)) {}
                    let bc1 = 1 - powf(0.9, Float(step)), bc2 = 1 - powf(0.999, Float(step))
                    for i in 0..<n {
                        var gi = ga[i] + g2a[i]
                        if kind == .adamw { q[i] -= 0.01 * 0.01 * mask[i] * q[i] } else { gi += 0.01 * mask[i] * q[i] }
                        m[i] = 0.9 * m[i] + (1 - 0.9) * gi
                        v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi
                        q[i] -= (0.01 / bc1) * m[i] / (v[i].squareRoot() / bc2.squareRoot() + 1e-8)
                    }
                }
                XCTAssertTrue(zip(p.array, q).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(kind) n=\(n)")
                XCTAssertTrue(zip(pt.array, q).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(kind) n=\(n), two threads")
            }
        }
    }

    /// The optimizer's kernel over the whole range of a gradient: from 1e-19 to 1e19 (v from the
    /// smallest normal float to near the largest), zero, and one whose square overflows (v = ∞:
    /// the weight stays), at steps from 1 to 30,000 — bit for bit the scalar formula. (A
    /// division-free quotient that is exact only away from underflow fails here.)
    func testAdamMatchesTheFormulaOverTheRange() {
        let n = 4099
        var rng = RandomStream(seed: 17)
        var ga = (0..<n).map { _ in Float(rng.uniform() < 0.5 ? -1 : 1) * Float(pow(10, rng.uniform() * 38 - 19)) }
        ga[0] = 0
        ga[1] = 1e30
        ga[2] = -3e-19
        let start = (0..<n).map { _ in Float(rng.uniform() - 0.5) }
        for t in [1, 2, 137, 5160, 30000] {
            let opt = AdamOptimizer(kind: .adam, count: n, weightDecay: 0, decayMask: [Float](repeating: 0, count: n))
            for _ in 1..<t { opt.advance() }
            let p = FloatBuffer(start), g = FloatBuffer(ga)
            opt.update(p.pointer, g.pointer, count: n, lr: 0.01)
            let bc1 = 1 - powf(0.9, Float(t)), bc2 = 1 - powf(0.999, Float(t))
            for i in 0..<n {
                let m1: Float = 0.9 * 0 + (1 - 0.9) * ga[i], v1: Float = 0.999 * 0 + (1 - 0.999) * ga[i] * ga[i]
                let q = start[i] - (0.01 / bc1) * m1 / (v1.squareRoot() / bc2.squareRoot() + 1e-8)
                if p.pointer[i].bitPattern != q.bitPattern {
                    XCTFail("step \(t), g = \(ga[i]): \(p.pointer[i]) against \(q)")
                    break
                }
            }
            XCTAssertEqual(p.pointer[1], start[1], "v = ∞ leaves the weight, step \(t)")
        }
    }

    func testFitIsDeterministicAndPredictIgnoresThreadCount() throws {
        let catalog = Space.catalog, table = Space.synthetic
        var rng = RandomStream(seed: 12)
        let idx = rng.distinct(40, from: catalog.cells.count)
        let labels = idx.map { Double(table.budgets[0].run($0, 0).validationAccuracy) }
        let config = FitConfig(shape: NetworkShape(dim: 16), epochs: 5, seed: 9)
        let a = try Predictor.fit(config, cells: catalog.cells, indices: idx, labels: labels)
        let b = try Predictor.fit(config, cells: catalog.cells, indices: idx, labels: labels)
        XCTAssertEqual(a.parameters, b.parameters)
        // The halves of each batch run on two threads or one after the other: same bits,
        // also with odd batches and a last batch of one (40 = 13 × 3 + 1).
        XCTAssertEqual(try Predictor.fit(config, cells: catalog.cells, indices: idx, labels: labels, threads: 1).parameters, a.parameters)
        var odd = config
        odd.batch = 3
        let oddTwo = try Predictor.fit(odd, cells: catalog.cells, indices: idx, labels: labels, threads: 2)
        XCTAssertEqual(try Predictor.fit(odd, cells: catalog.cells, indices: idx, labels: labels, threads: 1).parameters, oddTwo.parameters)
        XCTAssertEqual(oddTwo.stepLosses.count, 14 * 5)
        XCTAssertNotEqual(oddTwo.parameters, a.parameters)
        let candidates = Array(0..<5000)
        let one = a.predict(cells: catalog.cells, indices: candidates, threads: 1, batchSize: 256)
        XCTAssertEqual(one, a.predict(cells: catalog.cells, indices: candidates, threads: 2, batchSize: 256))
        XCTAssertEqual(one, a.predict(cells: catalog.cells, indices: candidates, threads: 3, batchSize: 256))
        var other = config
        other.seed = 10
        XCTAssertNotEqual(try Predictor.fit(other, cells: catalog.cells, indices: idx, labels: labels).parameters, a.parameters)
    }

    func testFitLearnsTheSyntheticLandscape() throws {
        let catalog = Space.catalog, table = Space.synthetic
        var rng = RandomStream(seed: 21)
        let (p, _) = try Space.fitted(&rng, n: 172, FitConfig(shape: NetworkShape(dim: 64), epochs: 60, seed: 1))
        let test = rng.distinct(3000, from: catalog.cells.count)
        let truth = test.map { try! table.meanValidation($0) }
        let tau = Metrics.kendallTau(p.predict(cells: catalog.cells, indices: test), truth)
        XCTAssertGreaterThan(tau, 0.4, "a short fit already ranks the synthetic landscape (τ = \(tau))")
        XCTAssertLessThan(p.epochLosses.last!, p.epochLosses.first!)
    }

    func testBadFitInputs() {
        let cells = Space.catalog.cells
        let config = FitConfig(shape: NetworkShape(dim: 8), epochs: 1)
        assertThrows(.unusable(.emptyTrainingSet)) { _ = try Predictor.fit(config, cells: cells, indices: [], labels: []) }
        assertThrows(.unusable(.fewerThanBatch(3, batch: 10))) { _ = try Predictor.fit(config, cells: cells, indices: [1, 2, 3], labels: [0.9, 0.8, 0.7]) }
        assertThrows(["all 12 labels equal 0.9"]) {
            _ = try Predictor.fit(config, cells: cells, indices: Array(0..<12), labels: Array(repeating: 0.9, count: 12))
        }
        var labels = (0..<12).map { 0.8 + Double($0) / 100 }
        labels[4] = .nan
        assertThrows(["label 5 is nan"]) { _ = try Predictor.fit(config, cells: cells, indices: Array(0..<12), labels: labels) }
        labels[4] = .infinity
        assertThrows(["label 5 is inf"]) { _ = try Predictor.fit(config, cells: cells, indices: Array(0..<12), labels: labels) }
        labels[4] = 93
        assertThrows(["outside [0, 1]"]) { _ = try Predictor.fit(config, cells: cells, indices: Array(0..<12), labels: labels) }
    }
}

final class PredictorFileTests: XCTestCase {
    func fitted() throws -> FittedPredictor {
        let catalog = Space.catalog, table = Space.synthetic
        let idx = Array(0..<30)
        let labels = idx.map { Double(table.budgets[0].run($0, 0).validationAccuracy) }
        return .single(try Predictor.fit(FitConfig(shape: NetworkShape(dim: 8), epochs: 2, seed: 4), cells: catalog.cells, indices: idx, labels: labels))
    }

    func testRoundTripPredictsTheSame() throws {
        let dir = temporaryFolder(self)
        let p = try fitted()
        try PredictorFile.write(p, to: dir + "/p.npp")
        XCTAssertTrue(PredictorFile.isPredictorFile(dir + "/p.npp"))
        let q = try PredictorFile.read(dir + "/p.npp")
        let idx = Array(1000..<1100)
        XCTAssertEqual(p.values(cells: Space.catalog.cells, indices: idx), q.values(cells: Space.catalog.cells, indices: idx))
        guard case .single(let a) = p, case .single(let b) = q else { return XCTFail("kind changed") }
        XCTAssertEqual(a.config, b.config, "settings and seed are saved")
    }

    func testCorruptTruncatedAndForeignFiles() throws {
        let dir = temporaryFolder(self)
        try PredictorFile.write(try fitted(), to: dir + "/p.npp")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/p.npp")))
        bytes[bytes.count / 2] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/flip.npp"))
        assertThrows([dir + "/flip.npp", "CRC-32C mismatch"]) { _ = try PredictorFile.read(dir + "/flip.npp") }
        try Data(bytes.prefix(bytes.count / 3)).write(to: URL(fileURLWithPath: dir + "/short.npp"))
        assertThrows([dir + "/short.npp", "CRC-32C mismatch"]) { _ = try PredictorFile.read(dir + "/short.npp") }
        assertThrows(.malformed(DataPlace(file: dir + "/p.npp"), .otherSpace(fitted: "nb101", session: "proxyless"))) { _ = try PredictorFile.read(dir + "/p.npp", space: "proxyless") }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir + "/x.npp"))
        assertThrows(["not an npsh predictor file"]) { _ = try PredictorFile.read(dir + "/x.npp") }
    }
}

final class ClassifierAndPlatformTests: XCTestCase {
    func testClassifierReport() {
        let r = ClassifierReport(probabilities: [0.9, 0.2, 0.7, 0.4, 0.1], truth: [0.95, 0.92, 0.80, 0.85, 0.93], threshold: 0.91)
        // accurate: 0 (accepted), 1 (rejected), 4 (rejected); inaccurate: 2 (accepted), 3 (rejected)
        XCTAssertEqual(r.accuracy, 2.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(r.falseNegativeRate, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(r.falsePositiveRate, 0.5, accuracy: 1e-12)
    }

    func testFastOpenBLASKernelChoiceNeverOverridesTheUser() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl"]
        XCTAssertEqual(BLAS.fastCoreType(current: "Prescott", environment: [:], cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLAS.fastCoreType(current: "Prescott", environment: [:], cpuFlags: ["avx2", "fma"]), "Haswell")
        XCTAssertNil(BLAS.fastCoreType(current: "Prescott", environment: ["OPENBLAS_CORETYPE": "Prescott"], cpuFlags: avx512),
                     "a value the user set is kept")
        XCTAssertNil(BLAS.fastCoreType(current: "Haswell", environment: [:], cpuFlags: avx512), "a fast kernel is left alone")
        XCTAssertNil(BLAS.fastCoreType(current: "Prescott", environment: [:], cpuFlags: ["sse3"]), "no faster kernel to pick")
    }
}

/// Ensembles: members with their own streams, fitted side by side.
final class EnsembleTests: XCTestCase {
    func testEnsembleOfOneIsThePlainFitAndMembersIgnoreThreads() throws {
        let cells = Space.catalog.cells
        let train = Array(stride(from: 0, to: 400_000, by: 4_000))
        let labels = train.map { 0.85 + 0.1 * Double(cells[$0].edgeCount) / 9 }
        var config = FitConfig(shape: NetworkShape(dim: 8), epochs: 5, seed: 21)
        let plain = try Predictor.fit(config, cells: cells, indices: train, labels: labels)
        config.ensemble = 1
        guard case .single(let one) = try FittedPredictor.fit(config, cells: cells, indices: train, labels: labels) else { return XCTFail("one network") }
        XCTAssertEqual(one.parameters, plain.parameters, "an ensemble of one is the plain fit, bit for bit")
        config.ensemble = 3
        guard case .ensemble(let a) = try FittedPredictor.fit(config, cells: cells, indices: train, labels: labels, threads: 2),
              case .ensemble(let b) = try FittedPredictor.fit(config, cells: cells, indices: train, labels: labels, threads: 1) else {
            return XCTFail("three networks")
        }
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(a[0].parameters, plain.parameters, "member 0 is the plain fit")
        XCTAssertNotEqual(a[1].parameters, a[0].parameters, "members have their own streams")
        XCTAssertNotEqual(a[2].parameters, a[1].parameters)
        XCTAssertEqual(a.map(\.parameters), b.map(\.parameters), "the same members whatever the thread count")
        // Scores: the mean of standardised member scores.
        let test = [7, 70_000, 140_000, 210_000, 280_000]
        let s = FittedPredictor.ensemble(a).scores(cells: cells, indices: test, threads: 1).scores
        var want = [Double](repeating: 0, count: test.count)
        for m in a {
            let v = m.predict(cells: cells, indices: test, threads: 1)
            let (mean, sd) = Metrics.meanAndSD(v)
            for i in v.indices { want[i] += (v[i] - mean) / sd / 3 }
        }
        for (x, y) in zip(s, want) { XCTAssertEqual(x, y, accuracy: 1e-12) }
        // Saved and loaded: every member, bit for bit.
        let dir = makeTemporaryDirectory(prefix: "npsh-ensemble")
        defer { try? removeTree(dir) }
        try PredictorFile.write(.ensemble(a), to: dir + "/e.npp", trainedOn: train.count)
        guard case .ensemble(let back) = try PredictorFile.read(dir + "/e.npp") else { return XCTFail("an ensemble file") }
        XCTAssertEqual(back.map(\.parameters), a.map(\.parameters))
        XCTAssertEqual(FittedPredictor.ensemble(back).scores(cells: cells, indices: test, threads: 1).scores, s)
    }
}

/// Weight averaging: the predictor keeps the average of the weights the optimizer visits.
final class WeightAverageTests: XCTestCase {
    let train = Array(stride(from: 0, to: 400_000, by: 4_000))
    var labels: [Double] { train.map { 0.85 + 0.1 * Double(Space.catalog.cells[$0].edgeCount) / 9 } }

    func fit(_ average: WeightAverage?, epochs: Int = 8, threads: Int = 1, observe: ((Int, UnsafePointer<Float>) -> Void)? = nil) throws -> Predictor {
        let cells = Space.catalog.cells
        var config = FitConfig(shape: NetworkShape(dim: 8), epochs: epochs, seed: 5)
        config.average = average
        return try Predictor.fit(config, cells: cells, indices: train, labels: labels, threads: threads, observe: observe)
    }

    func testEMAAndSWAAverageTheWeightsTheOptimizerVisits() throws {
        let plain = try fit(nil)
        let count = plain.parameters.count
        // Every step's weights, from a plain fit (averaging does not change the path).
        var visited: [[Float]] = []
        let again = try fit(.ema) { _, w in visited.append(Array(UnsafeBufferPointer(start: w, count: count))) }
        XCTAssertEqual(visited.last, plain.parameters, "averaging leaves the optimizer's path alone")
        // EMA: a ← d·a + (1 − d)·θ with d = min(0.999, (1 + t)/(10 + t)), from the initial weights.
        var a = Predictor.initialParameters(again.config, labels: labels)
        for (k, w) in visited.enumerated() {
            let t = k + 1
            let d = Float(min(0.999, Double(1 + t) / Double(10 + t)))
            for i in 0..<count { a[i] = d * a[i] + (1 - d) * w[i] }
        }
        XCTAssertEqual(again.parameters, a, "EMA, bit for bit")
        XCTAssertNotEqual(again.parameters, plain.parameters)
        // SWA: the mean of the weights at the end of each epoch of the last quarter (epochs 6 and 7 of 8).
        let swa = try fit(.swa)
        let perEpoch = visited.count / 8
        let e6 = visited[7 * perEpoch - 1], e7 = visited[8 * perEpoch - 1]
        for i in 0..<count { XCTAssertEqual(swa.parameters[i], (e6[i] + e7[i]) / 2, accuracy: 1e-6) }
        // A fit of fewer than eight epochs averages only its last: the plain weights.
        XCTAssertEqual(try fit(.swa, epochs: 4).parameters, try fit(nil, epochs: 4).parameters)
        // Thread counts do not change the averages.
        XCTAssertEqual(try fit(.ema, threads: 2).parameters, again.parameters)
        XCTAssertEqual(try fit(.swa, threads: 2).parameters, swa.parameters)
    }

    func testAveragedPredictorsRoundTrip() throws {
        let p = try fit(.ema, epochs: 2)
        let dir = makeTemporaryDirectory(prefix: "npsh-average")
        defer { try? removeTree(dir) }
        try PredictorFile.write(.single(p), to: dir + "/a.npp", trainedOn: 100)
        guard case .single(let back) = try PredictorFile.read(dir + "/a.npp") else { return XCTFail("one network") }
        XCTAssertEqual(back.config.average, .ema)
        XCTAssertEqual(back.parameters, p.parameters)
    }
}

/// The best preset changes only what it names, and never what the caller gave.
final class FitPresetTests: XCTestCase {
    func testBestPresetKeepsWhatTheCallerGave() {
        let paper = FitConfig(shape: NetworkShape(dim: 8), epochs: 300, seed: 3)
        var best = paper
        FitPreset.best.apply(to: &best)
        XCTAssertEqual(best.loss, FitPreset.best.loss)
        XCTAssertEqual(best.learningRate, FitPreset.best.learningRate)
        XCTAssertEqual(best.shape, paper.shape, "the paper's network")
        XCTAssertEqual(best.seed, paper.seed)
        var mine = paper
        mine.loss = .bpr
        mine.learningRate = 1e-3
        FitPreset.best.apply(to: &mine, keeping: [.loss, .learningRate])
        XCTAssertEqual(mine.loss, .bpr)
        XCTAssertEqual(mine.learningRate, 1e-3)
    }
}

/// Subnormal floats are flushed to zero on every thread of a parallel loop: a fit's late
/// gradients and moments drift there, where each multiply takes a microcode assist.
final class SubnormalTests: XCTestCase {
    func testParallelLoopsFlushSubnormals() {
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        defer { out.deallocate() }
        let p = UncheckedSendable(out)
        // A value that opaque arithmetic keeps the optimizer from folding.
        let half = Float(ProcessInfo.processInfo.processIdentifier > 0 ? 0.5 : 0.25)
        concurrently(8) { i in p.value[i] = Float.leastNormalMagnitude * half }
        for i in 0..<8 { XCTAssertEqual(out[i], 0, "thread of iteration \(i) keeps subnormals") }
        let chunks = parallelChunks(4) { _ in Float.leastNormalMagnitude * half }
        XCTAssertEqual(chunks, [0, 0, 0, 0])
    }
}
