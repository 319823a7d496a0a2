import CKernels
import Dispatch

/// Which optimizer: Adam with L2 weight decay added to the gradient, or AdamW with
/// decoupled decay. Decay applies to weights, not biases.
public enum OptimizerKind: String, Sendable, CaseIterable, Codable {
    case adam, adamw
}

/// Cosine decay from `base` to 0 over `total` steps: a function of the step (0-based).
func cosineLearningRate(base: Double, step: Int, total: Int) -> Double {
    guard total > 0 else { return base }
    return base * 0.5 * (1 + cosPortable(Double.pi * Double(step) / Double(total)))
}

/// Adam state plus its update (β1 0.9, β2 0.999, ε 1e-8, as PyTorch's defaults).
final class AdamOptimizer {
    public let kind: OptimizerKind
    public let weightDecay: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    let m: FloatBuffer, v: FloatBuffer
    /// Runs of parameters with one decay factor (the mask's value): a tensor's weights or its
    /// biases, so the update reads no per-parameter mask.
    let runs: [(range: Range<Int>, decay: Float)]
    public private(set) var step = 0

    public init(kind: OptimizerKind, count: Int, weightDecay: Float, decayMask: [Float]) {
        self.kind = kind
        self.weightDecay = weightDecay
        m = FloatBuffer(count)
        v = FloatBuffer(count)
        var runs: [(range: Range<Int>, decay: Float)] = []
        var start = 0
        for i in 0..<count where decayMask[i] != decayMask[start] {
            runs.append((start..<i, decayMask[start]))
            start = i
        }
        if count > 0 { runs.append((start..<count, decayMask[start])) }
        self.runs = runs
    }

    /// θ ← update(θ, g) at learning rate `lr`, where g is `grads`, plus `plus` when given
    /// (the two halves of a batch); both are only read (each half clears its own, FitHalf).
    /// CKernels' npsh_adam_update does the formula above element by element, vectorised, once
    /// per run of parameters with one decay factor; with `threads` ≥ 2 the two halves of the
    /// parameters are updated on two threads — elementwise, so the same bits.
    public func update(_ params: UnsafeMutablePointer<Float>, _ grads: UnsafeMutablePointer<Float>, plus: UnsafeMutablePointer<Float>? = nil,
                       count n: Int, lr: Float, threads: Int = 1) {
        advance()
        let c = UncheckedSendable((self, params, grads, plus))
        if threads >= 2 && n >= 4096 {
            let parts = split(2, count: n)
            concurrently(2) { h in c.value.0.apply(c.value.1, c.value.2, plus: c.value.3, part: parts[h], lr: lr) }
        } else {
            apply(params, grads, plus: plus, part: 0..<n, lr: lr)
        }
    }

    /// The bias corrections of the current step, set by `advance`.
    private var corrections: (bc1: Float, bc2: Float) = (1, 1)

    /// Starts the next step: `apply` then updates parts of the parameters with its corrections.
    func advance() {
        step += 1
        corrections = (1 - powPortable(beta1, Float(step)), 1 - powPortable(beta2, Float(step)))
    }

    /// Weight matrices whose transposes the update also writes (training's backward multiplies
    /// by them): parameters `range`, `rows` × `cols` row-major, transposed into `destination`.
    var transposing: [(range: Range<Int>, rows: Int, cols: Int, destination: UnsafeMutablePointer<Float>)] = []

    /// `parts` ranges covering count parameters, about equal, each boundary inside a matrix
    /// of `transposing` moved to the nearest whole row (a row's transpose is one column).
    func split(_ parts: Int, count n: Int) -> [Range<Int>] {
        var bounds = (0...parts).map { n * $0 / parts }
        for k in 1..<parts {
            for t in transposing where t.range.lowerBound < bounds[k] && bounds[k] < t.range.upperBound {
                let row = ((bounds[k] - t.range.lowerBound) * 2 + t.cols) / (2 * t.cols)
                bounds[k] = t.range.lowerBound + row * t.cols
            }
        }
        return (0..<parts).map { bounds[$0]..<max(bounds[$0], bounds[$0 + 1]) }
    }

    /// The current step's update of parameters `part` (see `update`); parts of one step may
    /// run on different threads. A part must hold whole rows of each `transposing` matrix.
    func apply(_ params: UnsafeMutablePointer<Float>, _ grads: UnsafeMutablePointer<Float>, plus: UnsafeMutablePointer<Float>?,
               part: Range<Int>, lr: Float) {
        let (bc1, bc2) = corrections
        for run in runs where run.range.overlaps(part) {
            let r = run.range.clamped(to: part)
            if let t = transposing.first(where: { $0.range == run.range }) {
                precondition((r.lowerBound - t.range.lowerBound) % t.cols == 0 && r.count % t.cols == 0, "a part splits a row")
                let row = (r.lowerBound - t.range.lowerBound) / t.cols
                npsh_adam_update_transposing(params + r.lowerBound, grads + r.lowerBound, plus.map { $0 + r.lowerBound }, m.pointer + r.lowerBound,
                                             v.pointer + r.lowerBound, run.decay, r.count / t.cols, t.cols, beta1, 1 - beta1, beta2, 1 - beta2,
                                             lr / bc1, bc2.squareRoot(), eps, weightDecay, lr * weightDecay, kind == .adamw ? 1 : 0,
                                             t.destination + row, t.rows)
                continue
            }
            npsh_adam_update(params + r.lowerBound, grads + r.lowerBound, plus.map { $0 + r.lowerBound }, m.pointer + r.lowerBound,
                             v.pointer + r.lowerBound, run.decay, r.count, beta1, 1 - beta1, beta2, 1 - beta2, lr / bc1, bc2.squareRoot(), eps,
                             weightDecay, lr * weightDecay, kind == .adamw ? 1 : 0)
        }
    }
}

#if canImport(Glibc)
import Glibc
func cosPortable(_ x: Double) -> Double { Glibc.cos(x) }
func powPortable(_ a: Float, _ b: Float) -> Float { Glibc.powf(a, b) }
#elseif canImport(Darwin)
import Darwin
func cosPortable(_ x: Double) -> Double { Darwin.cos(x) }
func powPortable(_ a: Float, _ b: Float) -> Float { Darwin.powf(a, b) }
#endif
