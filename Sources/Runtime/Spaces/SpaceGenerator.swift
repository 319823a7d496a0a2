// Making new architectures of a space: uniform draws (candidate pools for spaces too big
// to enumerate) and the one-step mutations regularised evolution uses (Search/Evolution.swift).

/// Drawing and mutating architectures of the spaces that can generate them.
public enum SpaceGenerator {
    /// Whether new architectures of this space can be made (NB101 and ProxylessNAS can; NLP
    /// and user spaces only know the architectures of their benchmark).
    public static func canGenerate(_ space: SpaceInfo) -> Bool { space.kind == .nb101 || space.kind == .proxyless }

    static func unsupported(_ space: SpaceInfo) -> RuntimeError {
        .invalidArgument("space \(space.name) cannot generate new architectures (only its benchmark's); use nb101 or proxyless, or draw from all")
    }

    /// A uniform draw: NB101 from the enumerated catalog, ProxylessNAS layer by layer.
    public static func sample(_ space: SpaceInfo, catalog: () throws -> NB101Catalog, rng: inout RandomStream) throws -> (Architecture, Digest128) {
        switch space.kind {
        case .nb101:
            let c = try catalog()
            let i = rng.int(below: c.cells.count)
            return (.nb101(c.cells[i]), c.hashes[i])
        case .proxyless:
            let a = ProxylessArch.sample(&rng)
            return (.proxyless(a), a.hash)
        default: throw unsupported(space)
        }
    }

    /// One random change: NB101 flips an edge or changes an interior op (retrying until
    /// the result is a valid cell different from the parent); ProxylessNAS changes a layer.
    public static func mutate(_ a: Architecture, rng: inout RandomStream) -> (Architecture, Digest128)? {
        switch a {
        case .proxyless(let p):
            let m = p.mutated(&rng)
            return (.proxyless(m), m.hash)
        case .nb101(let c):
            let parentHash = c.hash
            for _ in 0..<100 {
                var matrix = c.matrix, ops = c.ops
                // Pad to 7 vertices so mutations can add a vertex back.
                let n = NB101Cell.maxVertices
                if matrix.count < n {
                    let k = matrix.count
                    var m = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
                    for r in 0..<k { for col in 0..<k { m[r < k - 1 ? r : n - 1][col < k - 1 ? col : n - 1] = matrix[r][col] } }
                    matrix = m
                    ops = Array(ops.prefix(k - 1)) + [String](repeating: "conv3x3-bn-relu", count: n - k) + ["output"]
                }
                if rng.int(below: 2) == 0 {
                    let r = rng.int(below: n - 1), col = r + 1 + rng.int(below: n - 1 - r)
                    matrix[r][col] ^= 1
                } else {
                    let v = 1 + rng.int(below: n - 2)
                    let others = NB101Op.allCases.map(\.name).filter { $0 != ops[v] }
                    ops[v] = others[rng.int(below: others.count)]
                }
                guard let cell = try? NB101Cell(matrix: matrix, ops: ops) else { continue }
                let h = cell.hash
                if h != parentHash { return (.nb101(cell), h) }
            }
            return nil
        case .graph:
            return nil
        }
    }
}
