import CKernels
import Dispatch

// Fitting and using a predictor. Every random draw comes from a named stream below the
// fit's seed: "init" (weights), "shuffle" (batch order, one child per epoch) and
// "dropout" (one child per step), so changing one does not shift the others.

/// Loss of a fit: regression (MSE), classification (binary cross-entropy), or ranking the
/// pairs of a batch — margin hinge, or logistic (BPR) — which learns only the order a search
/// needs. Pairwise losses compare outputs in units of the labels' sd; ties are ignored.
public enum LossKind: String, Sendable, Codable, CaseIterable {
    case mse, bce, hinge, bpr

    public var isPairwise: Bool { self == .hinge || self == .bpr }
}

/// Weight averaging: the predictor keeps an average of the weights the optimizer visits
/// instead of the last step's. `ema`: an exponential moving average over steps, with decay
/// min(d, (1 + t)/(10 + t)) at step t so the early weights fade quickly; `swa`: the plain
/// mean of the weights at the end of each epoch of the last quarter of the fit.
public enum WeightAverage: String, Sendable, Codable, CaseIterable {
    case ema, swa

    /// The first epoch (0-based) whose end SWA averages.
    static func swaStart(epochs: Int) -> Int { epochs - max(1, epochs / 4) }
}

/// Everything that defines a fit.
public struct FitConfig: Sendable, Equatable, Codable {
    public var shape: NetworkShape
    public var loss: LossKind = .mse
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Double = 1e-4
    public var weightDecay: Double = 1e-3
    public var epochs = 300
    public var batch = 10
    public var seed: UInt64 = 0
    /// He-uniform instead of Glorot-uniform weights. Glorot (the paper's default) shrinks
    /// the signal about threefold per bidirectional layer, so an 18-layer GCN (the paper's
    /// ProxylessNAS net) starts as a constant and never trains; He keeps its scale.
    /// Optional so predictor files written before it existed still load.
    public var heInit: Bool? = nil
    /// The hinge loss's margin, in units of the labels' sd (nil: 0.1). Optional for older files.
    public var margin: Double? = nil
    /// Networks in an ensemble (nil or 1: one network), each with its own seed.
    public var ensemble: Int? = nil
    /// Weights used for prediction: the last step's (nil), or an average over the fit.
    public var average: WeightAverage? = nil
    /// EMA's decay per step (nil: 0.999). Optional for older files.
    public var averageDecay: Double? = nil

    public init(shape: NetworkShape = NetworkShape(), loss: LossKind = .mse, optimizer: OptimizerKind = .adam,
                learningRate: Double = 1e-4, weightDecay: Double = 1e-3, epochs: Int = 300, batch: Int = 10, seed: UInt64 = 0) {
        self.shape = shape
        self.loss = loss
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.epochs = epochs
        self.batch = batch
        self.seed = seed
    }

    /// The paper's node-representation size D for N training architectures (its Fig. 5):
    /// 43→48, 86→72, 129→96, 172→144, 334→210, 860→320; linear in between, clamped outside.
    public static func paperDim(forTrainingSize n: Int) -> (dim: Int, source: DimSource) {
        let table: [(Int, Int)] = [(43, 48), (86, 72), (129, 96), (172, 144), (334, 210), (860, 320)]
        if n < table[0].0 { return (table[0].1, .nearest(table[0].0)) }
        if n > table.last!.0 { return (table.last!.1, .nearest(table.last!.0)) }
        for k in 0..<table.count where n <= table[k].0 {
            let (n1, d1) = table[k]
            if n == n1 { return (d1, .table) }
            let (n0, d0) = table[k - 1]
            let d = Double(d0) + Double(d1 - d0) * Double(n - n0) / Double(n1 - n0)
            return (Int(d.rounded()), .interpolated)
        }
        return (table.last!.1, .table)
    }

    /// Where a default D came from.
    public enum DimSource: Sendable, Equatable {
        /// N is in the paper's table.
        case table
        /// Linear between the two nearest rows.
        case interpolated
        /// N is outside the table (43…860): the D of its nearest end, the table's row for this N.
        case nearest(Int)
    }
}

/// A named set of fit settings over the paper's GCN. `best` is the ranker
/// scripts/experiments/predictors.npx picked on the real NAS-Bench-101 sample (the README's
/// predictor table): the paper's network and batch, trained to order pairs (margin hinge)
/// at a higher learning rate.
public struct FitPreset: Sendable, Equatable {
    public var loss: LossKind
    public var learningRate: Double
    public var epochs: Int
    public var ensemble: Int?
    public var average: WeightAverage?

    public static let best = FitPreset(loss: .hinge, learningRate: 3e-4, epochs: 300, ensemble: nil, average: nil)

    /// The settings a caller gave itself, which the preset leaves alone.
    public struct Kept: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let loss = Kept(rawValue: 1), learningRate = Kept(rawValue: 2), epochs = Kept(rawValue: 4)
        public static let ensemble = Kept(rawValue: 8), average = Kept(rawValue: 16)
    }

    public func apply(to c: inout FitConfig, keeping kept: Kept = []) {
        if !kept.contains(.loss) { c.loss = loss }
        if !kept.contains(.learningRate) { c.learningRate = learningRate }
        if !kept.contains(.epochs) { c.epochs = epochs }
        if !kept.contains(.ensemble) { c.ensemble = ensemble }
        if !kept.contains(.average) { c.average = average }
    }
}

/// A fitted predictor: its configuration, parameters and label scaling.
public final class Predictor: Sendable {
    public let config: FitConfig
    public let parameters: [Float]
    /// Linear mode predicts (label − mean) / scale.
    let labelMean: Double
    let labelScale: Double
    /// Mean training loss of each epoch.
    public let epochLosses: [Double]
    /// Loss of each optimisation step (the batch's loss before the update).
    let stepLosses: [Float]

    public init(config: FitConfig, parameters: [Float], labelMean: Double, labelScale: Double, epochLosses: [Double], stepLosses: [Float]) {
        self.config = config
        self.parameters = parameters
        self.labelMean = labelMean
        self.labelScale = labelScale
        self.epochLosses = epochLosses
        self.stepLosses = stepLosses
    }

    /// Fits on `cells[indices[k]]` with `labels[k]` (accuracies as fractions; 0/1 for bce).
    /// `initial` and `order` (per-epoch batch orders) replace the seeded draws, for parity
    /// tests against a reference implementation.
    ///
    /// Each batch is split into two fixed halves (the first ⌈b/2⌉ members, then the rest),
    /// each run through its own network with its own dropout stream, and the step's gradient
    /// is the first half's plus the second's. With `threads` ≥ 2 the halves, and then the
    /// two halves of the optimizer step, run on two threads; with 1 they run one after the
    /// other. Either way the arithmetic is the same, so the weights are bit-identical
    /// whatever the thread count. `observe` sees the weights after each step (for tests).
    public static func fit<T: GraphWritable & Sendable>(
        _ config: FitConfig, cells: [T], indices: [Int], labels: [Double],
        initial: [Float]? = nil, order: [[Int]]? = nil, threads: Int = defaultThreads, progress: ((Int) -> Bool)? = nil,
        observe: ((_ step: Int, _ weights: UnsafePointer<Float>) -> Void)? = nil
    ) throws -> Predictor {
        let n = indices.count
        guard n > 0 else { throw RuntimeError.unusable(.emptyTrainingSet) }
        npsh_flush_subnormals()
        guard labels.count == n else { throw RuntimeError.unusable(.labelCount(architectures: n, labels: labels.count)) }
        if let bad = labels.firstIndex(where: { !$0.isFinite }) {
            throw RuntimeError.unusable(.nonFiniteLabel(index: bad, value: labels[bad]))
        }
        guard config.batch >= 1, config.epochs >= 1 else { throw RuntimeError.unusable(.epochsAndBatch) }
        guard n >= config.batch else {
            throw RuntimeError.unusable(.fewerThanBatch(n, batch: config.batch))
        }
        if config.loss == .bce {
            guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw RuntimeError.unusable(.classifierLabels) }
        } else if let lo = labels.min(), let hi = labels.max(), lo == hi {
            throw RuntimeError.unusable(.constantLabels(n, value: lo))
        }
        if config.loss != .bce && config.shape.output != .linear, let out = labels.first(where: { $0 < 0 || $0 > 1 }) {
            throw RuntimeError.unusable(.labelOutsideUnit(out))
        }
        // Labels are standardised: linear mode predicts (label − mean) / sd; the sigmoid modes
        // predict the label itself but measure the error in units of sd, so that the data
        // term, not the weight decay, dominates the gradient whatever the labels' spread.
        var mean = 0.0, scale = 1.0, lossUnit: Float = 1
        if config.loss != .bce {
            var (m, sd) = Metrics.meanAndSD(labels)
            if sd == 0 { sd = 1 }
            if config.shape.output == .linear { mean = m; scale = sd } else { lossUnit = Float(1 / sd) }
        }
        let targets = labels.map { Float(($0 - mean) / scale) }

        let half = (config.batch + 1) / 2
        let halves = (0..<2).map { _ in FitHalf(shape: config.shape, capacity: half) }
        let count = halves[0].net.layout.count
        let root = RandomStream(seed: config.seed, path: ["fit"])
        let start = initial ?? initialParameters(config, labels: labels)
        guard start.count == count else { throw RuntimeError.unusable(.weightCount(start.count, model: count)) }
        let params = FloatBuffer(start)
        // A GCN's backward multiplies by Wᵀ: one transpose per step serves both halves.
        let transposes = (halves[0].net.body as? GCNBody).map { TransposedWeights($0) }
        if let transposes {
            for half in halves { (half.net.body as? GCNBody)?.transposed = transposes }
            transposes.refresh(params.pointer)
        }
        let opt = AdamOptimizer(kind: config.optimizer, count: count, weightDecay: Float(config.weightDecay), decayMask: halves[0].net.layout.decayMask)
        opt.transposing = transposes?.matrices ?? []
        let stepsPerEpoch = (n + config.batch - 1) / config.batch
        let total = stepsPerEpoch * config.epochs
        var epochLosses: [Double] = []
        var stepLosses: [Float] = []
        stepLosses.reserveCapacity(total)
        let members = FitMembers(capacity: config.batch)
        let unit = lossUnit
        // Two threads: each runs one half of every batch, then half of the optimizer step.
        let pair = threads >= 2 ? ThreadPair() : nil
        let optimizerParts = opt.split(2, count: count)
        let shared = UncheckedSendable((cells: cells, indices: indices, targets: targets, params: params, halves: halves, members: members))
        let averaged = config.average.map { _ in FloatBuffer(start) }
        var averagedEpochs = 0
        let swaStart = WeightAverage.swaStart(epochs: config.epochs)
        var step = 0
        for epoch in 0..<config.epochs {
            var perm: [Int]
            if let order {
                perm = order[epoch % order.count]
            } else {
                perm = Array(0..<n)
                var shuffle = root.child("shuffle", .index(UInt64(epoch)))
                shuffle.shuffle(&perm)
            }
            var sum = 0.0
            for s in 0..<stepsPerEpoch {
                let range = (s * config.batch)..<min(n, (s + 1) * config.batch)
                let b = range.count
                for (k, i) in range.enumerated() { members.items[k] = perm[i] }
                // Halves [0, ⌈b/2⌉) and [⌈b/2⌉, b); a batch of one has only the first.
                let cut = (b + 1) / 2
                let parts = b >= 2 ? 2 : 1
                let dropout = root.child("dropout", .index(UInt64(step)))
                let run: @Sendable (Int) -> Void = { h in
                    let v = shared.value
                    let lo = h == 0 ? 0 : cut, hi = h == 0 ? cut : b
                    v.halves[h].run(params: v.params, cells: v.cells, indices: v.indices, targets: v.targets, members: v.members,
                                    range: lo..<hi, batchSize: b, config: config, unit: unit, dropout: dropout.child("half", .index(UInt64(h))))
                }
                let pass: (Int) -> Void
                if config.loss.isPairwise {
                    // Every member's gradient depends on the whole batch: both halves forward,
                    // the pairs' loss over the batch, then both halves backward.
                    let forward: @Sendable (Int) -> Void = { h in
                        let v = shared.value
                        let lo = h == 0 ? 0 : cut, hi = h == 0 ? cut : b
                        v.halves[h].forward(params: v.params, cells: v.cells, indices: v.indices, members: v.members, range: lo..<hi,
                                            dropout: dropout.child("half", .index(UInt64(h))))
                    }
                    let pairs: () -> Void = {
                        var z = [Float](repeating: 0, count: b), t = [Float](repeating: 0, count: b)
                        for k in 0..<b {
                            z[k] = halves[k < cut ? 0 : 1].net.out.pointer[k < cut ? k : k - cut]
                            t[k] = targets[members.items[k]]
                        }
                        let (l, dz) = Predictor.pairwiseLossAndGradient(z, targets: t, config: config, unit: unit)
                        for k in 0..<b {
                            members.losses[k] = l
                            halves[k < cut ? 0 : 1].dz.pointer[k < cut ? k : k - cut] = dz[k]
                        }
                    }
                    let backward: @Sendable (Int) -> Void = { h in
                        let v = shared.value
                        v.halves[h].backward(params: v.params)
                    }
                    if let pair {
                        pass = { h in
                            if h < parts { forward(h) }
                            pair.sync()
                            if h == 0 { pairs() }
                            pair.sync()
                            if h < parts { backward(h) }
                        }
                    } else {
                        pass = { _ in
                            for h in 0..<parts { forward(h) }
                            pairs()
                            for h in 0..<parts { backward(h) }
                        }
                    }
                } else if pair != nil {
                    pass = { h in if h < parts { run(h) } }
                } else {
                    pass = { _ in for h in 0..<parts { run(h) } }
                }
                let lr = Float(cosineLearningRate(base: config.learningRate, step: step, total: total))
                let grads = halves[0].grads.pointer, plus = parts == 2 ? halves[1].grads.pointer : nil
                if let pair {
                    // Both halves, then each thread's half of the optimizer step (which writes
                    // the transposes): one wake of the helper per step, a barrier between.
                    opt.advance()
                    pair.run { h in
                        pass(h)
                        pair.sync()
                        opt.apply(params.pointer, grads, plus: plus, part: optimizerParts[h], lr: lr)
                    }
                } else {
                    pass(0)
                    opt.update(params.pointer, grads, plus: plus, count: count, lr: lr)
                }
                var loss: Float = 0
                for k in 0..<b { loss += members.losses[k] }
                loss /= Float(b)
                stepLosses.append(loss)
                sum += Double(loss) * Double(b)
                step += 1
                observe?(step, params.pointer)
                if config.average == .ema, let averaged {
                    let d = Float(min(config.averageDecay ?? 0.999, Double(1 + step) / Double(10 + step)))
                    npsh_blend(averaged.pointer, params.pointer, count, d)
                }
            }
            if config.average == .swa, epoch >= swaStart, let averaged {
                // Running mean: a ← a + (θ − a)/k, the first epoch's weights as they are.
                averagedEpochs += 1
                npsh_blend(averaged.pointer, params.pointer, count, 1 - 1 / Float(averagedEpochs))
            }
            epochLosses.append(sum / Double(n))
            if let progress, !progress(epoch + 1) { throw RuntimeError.interrupted("the fit") }
        }
        return Predictor(config: config, parameters: (averaged ?? params).array, labelMean: mean, labelScale: scale,
                         epochLosses: epochLosses, stepLosses: stepLosses)
    }

    /// The weights a fit starts from: Glorot-uniform from the "init" stream, zero biases,
    /// and for sigmoid outputs the output bias set so the first prediction is the label
    /// mean (otherwise the whole learning-rate budget goes into moving the mean).
    static func initialParameters(_ config: FitConfig, labels: [Double]) -> [Float] {
        let layout = Network(shape: config.shape, capacity: 1).layout
        let params = FloatBuffer(layout.count)
        var rng = RandomStream(seed: config.seed, path: ["fit"]).child("init")
        layout.initialise(params.pointer, rng: &rng, he: config.heInit ?? false)
        if config.loss != .bce && config.shape.output != .linear && !labels.isEmpty {
            let m = labels.reduce(0, +) / Double(labels.count)
            let s = config.shape.output == .shifted ? (m - 0.1) / 0.9 : m
            let clamped = min(max(s, 1e-4), 1 - 1e-4)
            params.pointer[layout.tensors.last!.offset] = Float(logPortable(clamped / (1 - clamped)))
        }
        return params.array
    }

    /// Loss of one example and dLoss/dz.
    @inline(__always)
    static func lossAndGradient(_ z: Float, target t: Float, config: FitConfig, unit: Float = 1) -> (Float, Float) {
        switch config.loss {
        case .bce:
            let s = sigmoid(z)
            // log(1 + e^−|z|) form, stable for large |z|.
            let l = max(z, 0) - z * t + logPortableF(1 + expf32(-abs(z)))
            return (l, s - t)
        case .mse, .hinge, .bpr:
            let y: Float, dy: Float
            switch config.shape.output {
            case .shifted: let s = sigmoid(z); y = 0.1 + 0.9 * s; dy = 0.9 * s * (1 - s)
            case .sigmoid: let s = sigmoid(z); y = s; dy = s * (1 - s)
            case .linear: y = z; dy = 1
            }
            let e = (y - t) * unit
            return (e * e, 2 * e * dy * unit)
        }
    }

    /// The output y of a raw z and dy/dz.
    @inline(__always)
    static func output(_ z: Float, _ mode: OutputMode) -> (Float, Float) {
        switch mode {
        case .shifted: let s = sigmoid(z); return (0.1 + 0.9 * s, 0.9 * s * (1 - s))
        case .sigmoid: let s = sigmoid(z); return (s, s * (1 - s))
        case .linear: return (z, 1)
        }
    }

    /// A batch's pairwise loss and dLoss/dz for each member: over the pairs (i, j) whose
    /// targets differ, with d = (y_i − y_j)·unit signed so that the better target should
    /// score higher, hinge max(0, margin − d) or logistic log(1 + e^−d), averaged over the
    /// pairs. The mean over the batch is the step's loss (one value for every member).
    static func pairwiseLossAndGradient(_ z: [Float], targets t: [Float], config: FitConfig, unit: Float) -> (Float, [Float]) {
        let b = z.count
        var y = [Float](repeating: 0, count: b), dy = y
        for k in 0..<b { (y[k], dy[k]) = output(z[k], config.shape.output) }
        var dz = [Float](repeating: 0, count: b)
        var loss: Float = 0
        var pairs = 0
        let margin = Float(config.margin ?? 0.1)
        for i in 0..<b {
            for j in (i + 1)..<max(i + 1, b) where t[i] != t[j] {
                // hi scores should exceed lo's.
                let (hi, lo) = t[i] > t[j] ? (i, j) : (j, i)
                let d = (y[hi] - y[lo]) * unit
                let l: Float, g: Float  // g = dl/dd
                switch config.loss {
                case .hinge:
                    l = max(0, margin - d); g = d < margin ? -1 : 0
                default:
                    // log(1 + e^−d), stable both ways; dl/dd = −σ(−d).
                    l = max(-d, 0) + logPortableF(1 + expf32(-abs(d))); g = -sigmoid(-d)
                }
                loss += l
                dz[hi] += g * unit * dy[hi]
                dz[lo] -= g * unit * dy[lo]
                pairs += 1
            }
        }
        guard pairs > 0 else { return (0, dz) }
        let scale = 1 / Float(pairs)
        return (loss * scale, dz.map { $0 * scale })
    }

    /// `lossAndGradient` for tests (loss unit 1).
    static func lossAndGradientForTesting(_ z: Float, target: Float, config: FitConfig) -> (Float, Float) {
        lossAndGradient(z, target: target, config: config)
    }

    /// The output for a raw z, in label units.
    @inline(__always)
    func read(_ z: Float) -> Double {
        if config.loss == .bce { return Double(sigmoid(z)) }
        // A pairwise fit's scores order candidates; their scale is not the labels'.
        switch config.shape.output {
        case .shifted: return Double(0.1 + 0.9 * sigmoid(z))
        case .sigmoid: return Double(sigmoid(z))
        case .linear: return Double(z) * labelScale + labelMean
        }
    }

    /// Predictions for `cells[indices]` that are each the cell's own: for a GCN the
    /// structured path whatever the count, so each has the bits `predict` gives that cell
    /// among `StructuredInference.minimumCells` or more; other kinds as `predict`.
    func predictEachAlone<T: GraphWritable & Sendable>(cells: [T], indices: [Int], threads: Int = defaultThreads) -> [Double] {
        guard config.shape.kind == .gcn, !indices.isEmpty else { return predict(cells: cells, indices: indices, threads: threads) }
        return StructuredInference.outputs(shape: config.shape, params: parameters, cells: cells, indices: indices, threads: threads)
            .map { read($0) }
    }

    /// Predictions for `cells[indices]`, streamed in batches over `threads` threads. Batch
    /// boundaries are fixed by position (batch k holds indices k·batchSize ..< (k+1)·batchSize)
    /// and batches are dealt to threads, so the result is bit-identical for any thread count.
    /// A GCN over at least `StructuredInference.minimumCells` cells multiplies each distinct
    /// row of a layer's input once across all of them instead (Inference.swift), just as
    /// independent of the thread count.
    public func predict<T: GraphWritable & Sendable>(cells: [T], indices: [Int], threads: Int = defaultThreads, batchSize: Int = 1024) -> [Double] {
        let n = indices.count
        if n == 0 { return [] }
        let batches = (n + batchSize - 1) / batchSize
        let workers = max(1, min(threads, batches))
        // Buffers for the largest batch this call has, not for batchSize: a deep network's
        // buffers for 1,024 graphs are hundreds of megabytes, zeroed on every call, which
        // dominated Table I's many small predictions. The arithmetic depends only on each
        // batch's own size, so the bits are the same.
        if config.shape.kind == .gcn && n >= StructuredInference.minimumCells {
            return predictEachAlone(cells: cells, indices: indices, threads: threads)
        }
        let capacity = min(batchSize, n)
        let parts: [[(Int, [Double])]] = parallelChunks(workers) { w in
            let net = Network(shape: self.config.shape, capacity: capacity)
            let batch = InputBatch(capacity: capacity, vertices: self.config.shape.vertices, opKinds: self.config.shape.opKinds)
            var rng = RandomStream(seed: 0)
            var out: [(Int, [Double])] = []
            self.parameters.withUnsafeBufferPointer { p in
                for k in stride(from: w, to: batches, by: workers) {
                    let start = k * batchSize, end = min(n, start + batchSize)
                    batch.fill(cells, indices[start..<end])
                    let z = net.forward(p.baseAddress!, batch, training: false, rng: &rng)
                    out.append((k, (0..<(end - start)).map { self.read(z[$0]) }))
                }
            }
            return out
        }
        var result = [Double](repeating: 0, count: n)
        for part in parts { for (k, values) in part { for (j, v) in values.enumerated() { result[k * batchSize + j] = v } } }
        return result
    }
}

/// The members of one step's batch (positions in the training set) and their losses. Raw
/// buffers, not arrays: the two halves write their own members' losses at the same time,
/// which an array property would see as overlapping modifications.
final class FitMembers: @unchecked Sendable {
    let items: UnsafeMutablePointer<Int>
    let losses: UnsafeMutablePointer<Float>
    init(capacity: Int) {
        items = .allocate(capacity: capacity)
        items.initialize(repeating: 0, count: capacity)
        losses = .allocate(capacity: capacity)
        losses.initialize(repeating: 0, count: capacity)
    }
    deinit {
        items.deallocate()
        losses.deallocate()
    }
}

/// One half of a training batch: its network, inputs, dL/dz and gradient, which the half
/// clears before each backward pass on the thread that runs it (the optimizer only reads
/// it: clearing the other half's gradient would move its lines to this core and back).
final class FitHalf: @unchecked Sendable {
    let net: Network
    let batch: InputBatch
    let dz: FloatBuffer
    let grads: FloatBuffer
    /// The parts of `grads` cleared before each backward pass: all of it, but for a GCN's
    /// weight matrices, whose gradients its backward stores.
    let cleared: [Range<Int>]

    init(shape: NetworkShape, capacity: Int) {
        net = Network(shape: shape, capacity: capacity)
        batch = InputBatch(capacity: capacity, vertices: shape.vertices, opKinds: shape.opKinds)
        dz = FloatBuffer(capacity)
        let count = net.layout.count
        grads = FloatBuffer(count)
        var stored: [Range<Int>] = []
        if let gcn = net.body as? GCNBody {
            gcn.storesWeightGradients = true
            stored = gcn.weights.indices.map(gcn.weightRange)  // in parameter order
        }
        var rest: [Range<Int>] = [], start = 0
        for r in stored {
            if r.lowerBound > start { rest.append(start..<r.lowerBound) }
            start = r.upperBound
        }
        if start < count { rest.append(start..<count) }
        cleared = rest
    }

    /// Clears the gradient's accumulated parts (see `cleared`), on the thread that runs the half.
    private func clearGradient() {
        for r in cleared { (grads.pointer + r.lowerBound).update(repeating: 0, count: r.count) }
    }

    /// Forward and backward over members[range]; gradients of the batch's mean loss (over
    /// `batchSize`) into `grads`, each member's loss into members.losses.
    func run<T: GraphWritable>(params: FloatBuffer, cells: [T], indices: [Int], targets: [Float], members: FitMembers, range: Range<Int>,
                               batchSize b: Int, config: FitConfig, unit: Float, dropout: RandomStream) {
        batch.fill(cells, ArraySlice(range.map { indices[members.items[$0]] }))
        var rng = dropout
        let z = net.forward(params.pointer, batch, training: true, rng: &rng)
        for (k, m) in range.enumerated() {
            let (l, g) = Predictor.lossAndGradient(z[k], target: targets[members.items[m]], config: config, unit: unit)
            members.losses[m] = l
            dz.pointer[k] = g / Float(b)
        }
        clearGradient()
        net.backward(params.pointer, grads.pointer, batch, dz: dz.pointer)
    }

    /// The forward half of a pairwise step: outputs in `net.output`.
    func forward<T: GraphWritable>(params: FloatBuffer, cells: [T], indices: [Int], members: FitMembers, range: Range<Int>, dropout: RandomStream) {
        batch.fill(cells, ArraySlice(range.map { indices[members.items[$0]] }))
        var rng = dropout
        _ = net.forward(params.pointer, batch, training: true, rng: &rng)
    }

    /// The backward half of a pairwise step, from `dz` (set by the caller) into `grads`.
    func backward(params: FloatBuffer) {
        clearGradient()
        net.backward(params.pointer, grads.pointer, batch, dz: dz.pointer)
    }
}

#if canImport(Glibc)
import Glibc
func logPortableF(_ x: Float) -> Float { Glibc.logf(x) }
#elseif canImport(Darwin)
import Darwin
func logPortableF(_ x: Float) -> Float { Darwin.logf(x) }
#endif
