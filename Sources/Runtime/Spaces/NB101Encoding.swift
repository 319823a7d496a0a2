// The predictor's view of a cell (Wen et al.): a 7×5 one-hot matrix of ops, in the order
// input, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, output, and the 7×7 adjacency;
// vertices beyond the cell's own are zero rows, and `vertices` says how many are real
// (the GCN averages over real vertices only).

public struct NB101Encoding: Equatable, Sendable {
    public static let maxVertices = 7
    public static let opKinds = 5
    /// Row-major 7×5, one 1 per real vertex.
    public var ops: [Float]
    /// Row-major 7×7, 1 for an edge i → j.
    public var adjacency: [Float]
    public var vertices: Int
}

extension NB101Cell {
    /// The one-hot op index of vertex v: 0 input, 1 conv3x3, 2 conv1x1, 3 maxpool, 4 output.
    public func opKind(_ v: Int) -> Int {
        v == 0 ? 0 : v == vertices - 1 ? 4 : 1 + Int(op(v).rawValue)
    }

    public var encoding: NB101Encoding {
        var ops = [Float](repeating: 0, count: 35)
        var adj = [Float](repeating: 0, count: 49)
        for v in 0..<vertices {
            ops[v * 5 + opKind(v)] = 1
            for w in 0..<vertices where edge(v, w) { adj[v * 7 + w] = 1 }
        }
        return NB101Encoding(ops: ops, adjacency: adj, vertices: vertices)
    }
}

/// The NAS-Bench-101 space as a whole.
public enum NB101Space {
    public static let size = 423_624

    /// A cell drawn uniformly from the whole space (every distinct cell equally likely).
    public static func sample(from catalog: NB101Catalog, rng: inout RandomStream) -> NB101Cell {
        catalog.cells[rng.int(below: catalog.cells.count)]
    }
}
