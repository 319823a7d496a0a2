// The predictor's view of a cell (Wen et al.): a 7×5 one-hot matrix of ops, in the order
// input, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, output, and the 7×7 adjacency;
// vertices beyond the cell's own are zero rows (the GCN averages over real vertices only).
// `writeGraph` (Architecture.swift) writes it into the predictor's batch buffers.

extension NB101Cell {
    /// The one-hot op index of vertex v: 0 input, 1 conv3x3, 2 conv1x1, 3 maxpool, 4 output.
    public func opKind(_ v: Int) -> Int {
        v == 0 ? 0 : v == vertices - 1 ? 4 : 1 + Int(op(v).rawValue)
    }
}

/// The NAS-Bench-101 space as a whole.
enum NB101Space {
    public static let size = 423_624
}
