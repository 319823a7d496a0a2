// Making new architectures of a space: uniform draws (candidate pools for spaces too big
// to enumerate) and the one-step mutations regularised evolution uses (Search/Evolution.swift).

/// Drawing and mutating architectures of the spaces that can generate them.
public enum SpaceGenerator {
    /// Whether new architectures of this space can be made (NB101, ProxylessNAS, and user
    /// spaces whose header gives the rules; NLP and other user spaces only know the
    /// architectures of their benchmark).
    public static func canGenerate(_ space: SpaceInfo) -> Bool { space.kind == .nb101 || space.kind == .proxyless || space.rules != nil }

    static func unsupported(_ space: SpaceInfo) -> RuntimeError {
        .unusable(.cannotGenerate(space: space.name))
    }

    /// A random DAG of a user space: 2…max vertices, input first and output last, interior
    /// ops uniform, each forward edge with probability ½, then pruned to the vertices on an
    /// input → output path; drawn again until it has at most max_edges edges.
    static func randomGraph(_ space: SpaceInfo, _ rules: GraphRules, rng: inout RandomStream) throws -> (Architecture, Digest128) {
        let interior = (0..<space.opLabels.count).map(UInt8.init).filter { $0 != rules.input && $0 != rules.output }
        for _ in 0..<10_000 {
            let n = rules.maxVertices == 2 || interior.isEmpty ? 2 : 2 + rng.int(below: rules.maxVertices - 1)
            let ops = [rules.input] + (1..<max(1, n - 1)).map { _ in interior[rng.int(below: interior.count)] } + [rules.output]
            var rows = [UInt64](repeating: 0, count: n)
            for r in 0..<n { for c in (r + 1)..<max(r + 1, n) where rng.int(below: 2) == 1 { rows[r] |= 1 << UInt64(c) } }
            if let g = pruned(ops: Array(ops.prefix(n)), rows: rows), g.edgeCount <= rules.maxEdges {
                return (.graph(g), UserSpaceHeader.identity(space: space.name, labels: space.opLabels, g))
            }
        }
        throw RuntimeError.unusable(.noGraphWithin(space: space.name, maxEdges: rules.maxEdges))
    }

    /// The graph on the vertices that lie on an input → output path (the input is vertex 0,
    /// the output the last); nil when the output is not reachable.
    static func pruned(ops: [UInt8], rows: [UInt64]) -> LabeledGraph? {
        let n = ops.count
        var fromInput = [Bool](repeating: false, count: n), toOutput = [Bool](repeating: false, count: n)
        fromInput[0] = true
        for r in 0..<n where fromInput[r] { for c in (r + 1)..<max(r + 1, n) where rows[r] & (1 << UInt64(c)) != 0 { fromInput[c] = true } }
        toOutput[n - 1] = true
        for r in stride(from: n - 1, through: 0, by: -1) {
            for c in (r + 1)..<max(r + 1, n) where rows[r] & (1 << UInt64(c)) != 0 && toOutput[c] { toOutput[r] = true }
        }
        guard fromInput[n - 1] else { return nil }
        let keep = (0..<n).filter { fromInput[$0] && toOutput[$0] }
        var index = [Int](repeating: -1, count: n)
        for (k, v) in keep.enumerated() { index[v] = k }
        var out = [UInt64](repeating: 0, count: keep.count)
        for (k, v) in keep.enumerated() {
            for c in (v + 1)..<max(v + 1, n) where rows[v] & (1 << UInt64(c)) != 0 && index[c] >= 0 { out[k] |= 1 << UInt64(index[c]) }
        }
        return LabeledGraph(ops: keep.map { ops[$0] }, edges: out)
    }

    /// One random change of a user-space graph: an edge flipped or an interior op changed,
    /// pruned, within the rules, and a different architecture than the parent.
    static func mutateGraph(_ g: LabeledGraph, _ space: SpaceInfo, _ rules: GraphRules, rng: inout RandomStream) -> (Architecture, Digest128)? {
        let parent = UserSpaceHeader.identity(space: space.name, labels: space.opLabels, g)
        let interior = (0..<space.opLabels.count).map(UInt8.init).filter { $0 != rules.input && $0 != rules.output }
        let n = g.vertices
        for _ in 0..<100 {
            var ops = g.ops, rows = g.edges
            if n > 2 && !interior.isEmpty && rng.int(below: 2) == 0 {
                let v = 1 + rng.int(below: n - 2)
                ops[v] = interior[rng.int(below: interior.count)]
            } else {
                let r = rng.int(below: n - 1), c = r + 1 + rng.int(below: n - 1 - r)
                rows[r] ^= 1 << UInt64(c)
            }
            guard let child = pruned(ops: ops, rows: rows), child.edgeCount <= rules.maxEdges else { continue }
            let h = UserSpaceHeader.identity(space: space.name, labels: space.opLabels, child)
            if h != parent { return (.graph(child), h) }
        }
        return nil
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
        default:
            guard let rules = space.rules else { throw unsupported(space) }
            return try randomGraph(space, rules, rng: &rng)
        }
    }

    /// One random change: NB101 flips an edge or changes an interior op (retrying until
    /// the result is a valid cell different from the parent); ProxylessNAS changes a layer.
    static func mutate(_ a: Architecture, space: SpaceInfo, rng: inout RandomStream) -> (Architecture, Digest128)? {
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
        case .graph(let g):
            guard let rules = space.rules else { return nil }
            return mutateGraph(g, space, rules, rng: &rng)
        }
    }
}
