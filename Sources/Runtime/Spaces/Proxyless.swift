// The ProxylessNAS mobile space as the seed replication used it: 22 searchable layers, each
// an inverted-bottleneck block (MBConv) or skipped.
//
//   code 0 k3 e3 · 1 k5 e3 · 2 k7 e3 · 3 k3 e6 · 4 k5 e6 · 5 k7 e6 · 6 zero (layer skipped)
//
// Layer 0 has its expansion fixed to 1, so only codes 0–2 (the kernel) apply there; the
// first layer of each later block (positions 1, 5, 9, 13, 17, 21) changes resolution or
// width and is never skipped. Size: 3 · 6^6 · 7^15 = 664,506,689,423,701,824 ≈ 6.6 · 10^17.
//
// Encoding: a chain graph input → layer 0 → … → layer 21 → output (24 vertices), each layer
// vertex labelled with its code (skipped layers keep their vertex, labelled "zero").

public struct ProxylessArch: Hashable, Sendable, CustomStringConvertible {
    public static let layers = 22
    static let codeNames = ["k3e3", "k5e3", "k7e3", "k3e6", "k5e6", "k7e6", "zero"]
    static let blockStarts: Set<Int> = [1, 5, 9, 13, 17, 21]
    public static let graphVertices = layers + 2
    static let vertexLabels = ["input"] + codeNames + ["output"]
    /// 3 · 6^6 · 7^15.
    public static let sizeText = "664,506,689,423,701,824 (≈ 6.6·10^17)"

    public let codes: [UInt8]

    /// Validates 22 codes; the error says which layer breaks which rule.
    public init(codes: [Int], at place: DataPlace? = nil) throws {
        func fail(_ problem: ProxylessProblem) -> RuntimeError { .invalidProxyless(problem, at: place) }
        guard codes.count == Self.layers else { throw fail(.layerCount(codes.count)) }
        for (i, c) in codes.enumerated() {
            guard (0...6).contains(c) else { throw fail(.codeRange(layer: i, code: c)) }
            if i == 0 && c > 2 { throw fail(.firstLayer(code: c)) }
            if Self.blockStarts.contains(i) && c == 6 {
                throw fail(.blockStartZero(layer: i))
            }
        }
        self.codes = codes.map(UInt8.init)
    }

    /// The architecture of a JSON object's "arch" list (the seed's pairs, exported sets).
    public init(json v: JSONValue, at place: DataPlace) throws {
        guard let list = v["arch"]?.array else { throw RuntimeError.malformed(place, .missingField(.arch)) }
        let codes = try list.map { x -> Int in
            guard let n = x.number, n == n.rounded(), abs(n) < 1000 else { throw RuntimeError.malformed(place, .archNotInteger) }
            return Int(n)
        }
        try self.init(codes: codes, at: place)
    }

    init(unchecked codes: [UInt8]) { self.codes = codes }

    /// The codes allowed at layer i.
    public static func choices(at i: Int) -> Int { i == 0 ? 3 : blockStarts.contains(i) ? 6 : 7 }

    /// A uniformly drawn architecture (each layer independently over its allowed codes).
    public static func sample(_ rng: inout RandomStream) -> ProxylessArch {
        ProxylessArch(unchecked: (0..<layers).map { UInt8(rng.int(below: choices(at: $0))) })
    }

    /// One layer changed to another allowed code (regularised evolution's mutation).
    func mutated(_ rng: inout RandomStream) -> ProxylessArch {
        var c = codes
        let i = rng.int(below: Self.layers)
        let n = Self.choices(at: i)
        c[i] = UInt8((Int(c[i]) + 1 + rng.int(below: n - 1)) % n)
        return ProxylessArch(unchecked: c)
    }

    /// Identity: MD5 of "proxyless:" and the codes.
    public var hash: Digest128 { MD5.digest(Array(("proxyless:" + codes.map(String.init).joined(separator: ",")).utf8)) }

    public var description: String { codes.map(String.init).joined() }

    @inlinable
    public func writeGraph(ops o: UnsafeMutablePointer<Float>, adjacency a: UnsafeMutablePointer<Float>, vertices V: Int, opKinds F: Int) -> Int {
        let n = Self.graphVertices
        o[0] = 1
        for (i, c) in codes.enumerated() { o[(i + 1) * F + 1 + Int(c)] = 1 }
        o[(n - 1) * F + F - 1] = 1
        for v in 0..<(n - 1) { a[v * V + v + 1] = 1 }
        return n
    }

    /// The chain `writeGraph` writes, as edge rows (bit v + 1 of row v; rows from n − 1 on zero).
    @inlinable
    public func writeEdges(_ rows: UnsafeMutablePointer<UInt64>, vertices V: Int) -> Int {
        let n = Self.graphVertices
        for v in 0..<V { rows[v] = v < n - 1 ? 1 << UInt64(v + 1) : 0 }
        return n
    }
}
