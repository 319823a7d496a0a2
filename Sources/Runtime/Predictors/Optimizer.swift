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
    /// (the two halves of a batch); both are left zero for the next step's accumulation.
    /// CKernels' npsh_adam_update does the formula above element by element, vectorised, once
    /// per run of parameters with one decay factor; with `threads` ≥ 2 the two halves of the
    /// parameters are updated on two threads — elementwise, so the same bits.
    public func update(_ params: UnsafeMutablePointer<Float>, _ grads: UnsafeMutablePointer<Float>, plus: UnsafeMutablePointer<Float>? = nil,
                       count n: Int, lr: Float, threads: Int = 1) {
        step += 1
        let bc1 = 1 - powPortable(beta1, Float(step)), bc2 = 1 - powPortable(beta2, Float(step))
        let c = UncheckedSendable((params, grads, plus, m.pointer, v.pointer, runs))
        let (b1, b2, eps, wd, kind) = (beta1, beta2, eps, weightDecay, kind)
        let chunk: @Sendable (Range<Int>) -> Void = { part in
            let (p, g, g2, m, v, runs) = c.value
            for run in runs where run.range.overlaps(part) {
                let r = run.range.clamped(to: part)
                npsh_adam_update(p + r.lowerBound, g + r.lowerBound, g2.map { $0 + r.lowerBound }, m + r.lowerBound, v + r.lowerBound,
                                 run.decay, r.count, b1, 1 - b1, b2, 1 - b2, lr / bc1, bc2.squareRoot(), eps, wd, lr * wd,
                                 kind == .adamw ? 1 : 0)
            }
        }
        if threads >= 2 && n >= 4096 {
            concurrently(2) { h in chunk(chunkRange(h, of: 2, count: n)) }
        } else {
            chunk(0..<n)
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
