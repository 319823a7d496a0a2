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

    /// θ ← update(θ, g) at learning rate `lr`. Eight lanes at a time: the same IEEE
    /// operations in the same order per element as the scalar tail, so the same bits.
    public func update(_ params: UnsafeMutablePointer<Float>, _ grads: UnsafePointer<Float>, count n: Int, lr: Float) {
        step += 1
        let wd = weightDecay, dm = decay.pointer, mp = m.pointer, vp = v.pointer
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, eps = self.eps
        let bc1 = 1 - powPortable(b1, Float(step)), bc2 = 1 - powPortable(b2, Float(step))
        let stepSize = lr / bc1
        let sqrtBc2 = bc2.squareRoot()
        let decoupled = kind == .adamw
        let lrwd = lr * wd
        typealias F8 = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
        @inline(__always) func store(_ x: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: x, as: F8.self) }
        var i = 0
        while i + 8 <= n {
            var p = load(params + i), g = load(grads + i)
            // Adam adds the L2 term to the gradient; AdamW shrinks the weight first.
            if decoupled { p -= lrwd * load(dm + i) * p } else { g += wd * load(dm + i) * p }
            let m1 = b1 * load(mp + i) + c1 * g
            let v1 = b2 * load(vp + i) + c2 * g * g
            let denom = v1.squareRoot() / sqrtBc2 + eps
            p -= stepSize * m1 / denom
            store(m1, mp + i)
            store(v1, vp + i)
            store(p, params + i)
            i += 8
        }
        while i < n {
            var p = params[i], g = grads[i]
            if decoupled { p -= lrwd * dm[i] * p } else { g += wd * dm[i] * p }
            mp[i] = b1 * mp[i] + c1 * g
            vp[i] = b2 * vp[i] + c2 * g * g
            let denom = vp[i].squareRoot() / sqrtBc2 + eps
            params[i] = p - stepSize * mp[i] / denom
            i += 1
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
