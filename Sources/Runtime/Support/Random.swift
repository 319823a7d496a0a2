// Randomness in npsh is explicit and named.
//
// Every random draw comes from a `RandomStream`, and every stream is derived from the
// session seed by folding in a path of names and numbers: `(seed, "statement", 4, "sample")`.
// Two streams with different paths are independent; a new consumer (a `show`, a `plot`)
// gets a stream of its own and therefore never shifts what later statements draw. The
// generator is xoshiro256** seeded through SplitMix64, so streams are cheap to create and
// identical on every platform.

/// SplitMix64 finaliser: a bijective 64-bit mixer.
@inlinable
func mix64(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// FNV-1a over the UTF-8 bytes of a name, used to fold names into stream keys.
@inlinable
func fnv1a64(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        h ^= UInt64(byte)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// A component of a stream's derivation path.
public enum StreamKey: Sendable, Hashable {
    case name(String)
    case index(UInt64)

    var word: UInt64 {
        switch self {
        case .name(let s): return fnv1a64(s)
        case .index(let i): return mix64(i ^ 0x5851_F42D_4C95_7F2D)
        }
    }
}

extension StreamKey: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .name(value) }
    public init(integerLiteral value: UInt64) { self = .index(value) }
}

/// A seeded, named random stream (xoshiro256**).
///
/// ```swift
/// var rng = RandomStream(seed: 42, path: ["statement", .index(3), "sample"])
/// let k = rng.int(below: 10)
/// ```
public struct RandomStream: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// The key that identifies this stream; children derive from it.
    public let key: UInt64

    /// Creates the stream at `path` below `seed`.
    public init(seed: UInt64, path: [StreamKey] = []) {
        var k = mix64(seed)
        for part in path { k = mix64(k ^ part.word) }
        self.init(key: k)
    }

    private init(key: UInt64) {
        self.key = key
        var x = key
        func next() -> UInt64 { x = x &+ 0x9E37_79B9_7F4A_7C15; return mix64(x &- 0x9E37_79B9_7F4A_7C15) }
        s0 = next(); s1 = next(); s2 = next(); s3 = next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A child stream, independent of this one and of its other children.
    func child(_ parts: StreamKey...) -> RandomStream {
        var k = key
        for part in parts { k = mix64(k ^ part.word) }
        return RandomStream(key: k)
    }

    /// Runs `body` on the generator's state (s0…s3, in place), for C kernels that draw in
    /// bulk with the same xoshiro256** step as `next()`.
    mutating func withState<R>(_ body: (UnsafeMutablePointer<UInt64>) -> R) -> R {
        var s = (s0, s1, s2, s3)
        let r = withUnsafeMutablePointer(to: &s) { $0.withMemoryRebound(to: UInt64.self, capacity: 4, body) }
        (s0, s1, s2, s3) = s
        return r
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 { nextRaw() }

    @usableFromInline
    mutating func nextRaw() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform integer in 0..<bound, without modulo bias (Lemire's method).
    mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Standard normal deviate (Box–Muller; one value per call, deterministic).
    mutating func normal() -> Double {
        var u = uniform()
        while u <= 0 { u = uniform() }
        let v = uniform()
        return (-2 * _log(u)).squareRoot() * _cos(2 * Double.pi * v)
    }

    /// Fisher–Yates shuffle in place.
    mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// `count` distinct indices from 0..<population, in draw order (Floyd's algorithm order
    /// is not used: a partial Fisher–Yates keeps the draw order uniform as well).
    public mutating func distinct(_ count: Int, from population: Int) -> [Int] {
        precondition(count <= population)
        if count * 4 >= population {
            var all = Array(0..<population)
            for i in 0..<count {
                let j = i + int(below: population - i)
                all.swapAt(i, j)
            }
            return Array(all[0..<count])
        }
        // Sparse Fisher–Yates: the same draws without materialising the population.
        var swapped: [Int: Int] = [:]
        var out: [Int] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let j = i + int(below: population - i)
            let vj = swapped[j] ?? j
            let vi = swapped[i] ?? i
            swapped[j] = vi
            out.append(vj)
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _log(_ x: Double) -> Double { Darwin.log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
