// The NAS-Bench-101 cell space (Ying et al., ICML 2019), with the official rules:
// an upper-triangular DAG of 2–7 vertices, input first and output last, interior ops from
// {conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3}, at most 9 edges after pruning vertices
// that are not on an input→output path.

/// An interior NAS-Bench-101 operation. Raw values are the official label indices.
public enum NB101Op: UInt8, CaseIterable, Sendable {
    case conv3x3 = 0
    case conv1x1 = 1
    case maxpool3x3 = 2

    /// The official op name.
    public var name: String {
        switch self {
        case .conv3x3: return "conv3x3-bn-relu"
        case .conv1x1: return "conv1x1-bn-relu"
        case .maxpool3x3: return "maxpool3x3"
        }
    }

    public init?(name: String) {
        switch name {
        case "conv3x3-bn-relu": self = .conv3x3
        case "conv1x1-bn-relu": self = .conv1x1
        case "maxpool3x3": self = .maxpool3x3
        default: return nil
        }
    }
}

/// A valid, pruned NAS-Bench-101 cell, stored in 12 bytes.
///
/// `adjacency` has bit `i * 7 + j` set for an edge i → j; `interior` holds two bits per
/// interior vertex v (1 ... vertices-2) at bit `2 * (v - 1)`, the op's raw value.
public struct NB101Cell: Hashable, Sendable {
    public static let maxVertices = 7
    static let maxEdges = 9
    static let opNames = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]

    public let vertices: Int
    public let adjacency: UInt64
    public let interior: UInt16

    /// Wraps already-validated parts; used by enumeration and storage.
    public init(uncheckedVertices vertices: Int, adjacency: UInt64, interior: UInt16) {
        self.vertices = vertices
        self.adjacency = adjacency
        self.interior = interior
    }

    /// Validates a cell given as a 0/1 matrix and op names, then prunes it the way the
    /// official `ModelSpec` does. Throws `RuntimeError.invalidCell` naming the problem.
    public init(matrix: [[Int]], ops: [String], at place: DataPlace? = nil) throws {
        func fail(_ p: CellProblem) -> RuntimeError { .invalidCell(p, at: place) }
        let n = matrix.count
        if n < 2 { throw fail(.tooFewVertices(n)) }
        if n > Self.maxVertices { throw fail(.tooManyVertices(n)) }
        for (r, row) in matrix.enumerated() where row.count != n {
            throw fail(.notSquare(rows: n, row: r, columns: row.count))
        }
        if ops.count != n { throw fail(.opCount(ops: ops.count, vertices: n)) }
        if ops[0] != "input" { throw fail(.firstNotInput(ops[0])) }
        if ops[n - 1] != "output" { throw fail(.lastNotOutput(ops[n - 1])) }
        var labels = [UInt8](repeating: 0, count: n)
        for v in 1..<(n - 1) {
            guard let op = NB101Op(name: ops[v]) else {
                let s = suggestion(for: ops[v], among: NB101Op.allCases.map(\.name))
                throw fail(.unknownOp(index: v, name: ops[v], suggestion: s))
            }
            labels[v] = op.rawValue
        }
        var adj: UInt64 = 0
        for r in 0..<n {
            for c in 0..<n {
                let e = matrix[r][c]
                if e != 0 && e != 1 { throw fail(.badEntry(row: r, column: c, value: e)) }
                if e == 1 { adj |= 1 << UInt64(r * 7 + c) }
            }
        }
        // A back edge: report a cycle if there is one, else the first below-diagonal entry.
        for r in 0..<n {
            for c in 0...r where adj & (1 << UInt64(r * 7 + c)) != 0 {
                if c == r || Self.reaches(adj, n, from: c, to: r) { throw fail(.cycle(c, r)) }
                throw fail(.notUpperTriangular(row: r, column: c))
            }
        }
        guard let pruned = Self.prune(vertices: n, adjacency: adj, labels: labels) else {
            throw fail(.disconnected)
        }
        self = pruned
        let edges = adjacency.nonzeroBitCount
        if edges > Self.maxEdges { throw fail(.tooManyEdges(edges)) }
    }

    /// Whether `to` is reachable from `from` along edges of `adj`.
    private static func reaches(_ adj: UInt64, _ n: Int, from: Int, to: Int) -> Bool {
        var seen: UInt8 = 1 << UInt8(from)
        var stack = [from]
        while let v = stack.popLast() {
            if v == to { return true }
            for w in 0..<n where adj & (1 << UInt64(v * 7 + w)) != 0 && seen & (1 << UInt8(w)) == 0 {
                seen |= 1 << UInt8(w)
                stack.append(w)
            }
        }
        return false
    }

    /// Removes vertices not on an input→output path (official `ModelSpec._prune`).
    /// Returns nil when the output is unreachable from the input.
    static func prune(vertices n: Int, adjacency adj: UInt64, labels: [UInt8]) -> NB101Cell? {
        // Forward reachability from input (vertex order is topological).
        var fromInput: UInt8 = 1
        for v in 0..<n where fromInput & (1 << UInt8(v)) != 0 {
            for w in (v + 1)..<max(v + 1, n) where adj & (1 << UInt64(v * 7 + w)) != 0 { fromInput |= 1 << UInt8(w) }
        }
        var toOutput: UInt8 = 1 << UInt8(n - 1)
        for v in stride(from: n - 1, through: 0, by: -1) {
            for w in (v + 1)..<max(v + 1, n)
            where adj & (1 << UInt64(v * 7 + w)) != 0 && toOutput & (1 << UInt8(w)) != 0 {
                toOutput |= 1 << UInt8(v)
            }
        }
        let keep = fromInput & toOutput
        if keep & 1 == 0 || keep & (1 << UInt8(n - 1)) == 0 { return nil }
        var index = [Int](repeating: -1, count: n)
        var m = 0
        for v in 0..<n where keep & (1 << UInt8(v)) != 0 { index[v] = m; m += 1 }
        var newAdj: UInt64 = 0
        var interior: UInt16 = 0
        for v in 0..<n where index[v] >= 0 {
            for w in 0..<n where index[w] >= 0 && adj & (1 << UInt64(v * 7 + w)) != 0 {
                newAdj |= 1 << UInt64(index[v] * 7 + index[w])
            }
            if index[v] > 0 && index[v] < m - 1 {
                interior |= UInt16(labels[v]) << UInt16(2 * (index[v] - 1))
            }
        }
        return NB101Cell(uncheckedVertices: m, adjacency: newAdj, interior: interior)
    }

    /// Whether there is an edge i → j.
    @inlinable public func edge(_ i: Int, _ j: Int) -> Bool { adjacency & (1 << UInt64(i * 7 + j)) != 0 }

    /// The number of edges.
    public var edgeCount: Int { adjacency.nonzeroBitCount }

    /// The op of interior vertex v (1 ... vertices-2).
    @inlinable public func op(_ v: Int) -> NB101Op {
        NB101Op(rawValue: UInt8((interior >> UInt16(2 * (v - 1))) & 3))!
    }

    /// The official label of vertex v: -1 input, -2 output, else the op index.
    @inlinable public func label(_ v: Int) -> Int {
        v == 0 ? -1 : v == vertices - 1 ? -2 : Int((interior >> UInt16(2 * (v - 1))) & 3)
    }

    /// The adjacency as rows of 0/1.
    public var matrix: [[Int]] {
        (0..<vertices).map { i in (0..<vertices).map { j in edge(i, j) ? 1 : 0 } }
    }

    /// The op names, input first and output last.
    public var ops: [String] {
        (0..<vertices).map { v in v == 0 ? "input" : v == vertices - 1 ? "output" : op(v).name }
    }

    /// The official module hash, as the benchmark's 32 hex digits.
    public var hash: Digest128 { NB101Hash.hash(self) }

    /// Row-major adjacency string, as in the official tfrecord ("0100…").
    var adjacencyString: String {
        String(decoding: (0..<vertices * vertices).map { edge($0 / vertices, $0 % vertices) ? UInt8(49) : 48 },
               as: UTF8.self)
    }
}

extension NB101Cell: CustomStringConvertible {
    public var description: String {
        let rows = (0..<vertices).map { i in String((0..<vertices).map { edge(i, $0) ? "1" : "0" }) }
        return "cell(\(rows.joined(separator: "/")); \(ops.joined(separator: ",")))"
    }
}
