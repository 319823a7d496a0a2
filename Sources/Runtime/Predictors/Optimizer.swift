/// Which optimizer: Adam with L2 weight decay added to the gradient, or AdamW with
/// decoupled decay. Decay applies to weights, not biases.
public enum OptimizerKind: String, Sendable, CaseIterable, Codable {
    case adam, adamw
}

/// Cosine decay from `base` to 0 over `total` steps: a function of the step (0-based).
public func cosineLearningRate(base: Double, step: Int, total: Int) -> Double {
    guard total > 0 else { return base }
    return base * 0.5 * (1 + cosPortable(Double.pi * Double(step) / Double(total)))
}

/// Adam state plus its update (β1 0.9, β2 0.999, ε 1e-8, as PyTorch's defaults).
public final class AdamOptimizer {
    public let kind: OptimizerKind
    public let weightDecay: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
    let m: FloatBuffer, v: FloatBuffer
    let decay: FloatBuffer
    public private(set) var step = 0

    public init(kind: OptimizerKind, count: Int, weightDecay: Float, decayMask: [Float]) {
        self.kind = kind
        self.weightDecay = weightDecay
        m = FloatBuffer(count)
        v = FloatBuffer(count)
        decay = FloatBuffer(decayMask)
    }

    /// θ ← update(θ, g) at learning rate `lr`; g is modified (L2 term added).
    public func update(_ params: UnsafeMutablePointer<Float>, _ grads: UnsafeMutablePointer<Float>, count n: Int, lr: Float) {
        step += 1
        let wd = weightDecay, dm = decay.pointer, mp = m.pointer, vp = v.pointer
        let b1 = beta1, b2 = beta2
        let bc1 = 1 - powPortable(b1, Float(step)), bc2 = 1 - powPortable(b2, Float(step))
        let stepSize = lr / bc1
        let sqrtBc2 = bc2.squareRoot()
        switch kind {
        case .adam:
            for i in 0..<n { grads[i] += wd * dm[i] * params[i] }
        case .adamw:
            for i in 0..<n { params[i] -= lr * wd * dm[i] * params[i] }
        }
        for i in 0..<n {
            let g = grads[i]
            mp[i] = b1 * mp[i] + (1 - b1) * g
            vp[i] = b2 * vp[i] + (1 - b2) * g * g
            let denom = vp[i].squareRoot() / sqrtBc2 + eps
            params[i] -= stepSize * mp[i] / denom
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
