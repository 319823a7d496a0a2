// Architectures of every space, as one type. A predictor sees each as a labelled DAG in
// topological order: a one-hot op per vertex (over its space's op vocabulary) and an
// adjacency matrix, padded to the space's largest graph. `GraphWritable` is that view.

/// What a predictor reads from one architecture.
public protocol GraphWritable {
    /// Writes the one-hot ops (V×F) and adjacency (V×V) into zeroed buffers; returns the
    /// number of real vertices.
    func writeGraph(ops: UnsafeMutablePointer<Float>, adjacency: UnsafeMutablePointer<Float>, vertices V: Int, opKinds F: Int) -> Int
    /// Writes the adjacency that `writeGraph` writes as V edge rows (bit c of rows[v] for an
    /// edge v → c; rows past the real vertices zero); returns the number of real vertices.
    func writeEdges(_ rows: UnsafeMutablePointer<UInt64>, vertices V: Int) -> Int
}

extension NB101Cell: GraphWritable {
    @inlinable
    public func writeGraph(ops o: UnsafeMutablePointer<Float>, adjacency a: UnsafeMutablePointer<Float>, vertices V: Int, opKinds F: Int) -> Int {
        for v in 0..<vertices {
            o[v * F + opKind(v)] = 1
            for w in (v + 1)..<max(v + 1, vertices) where edge(v, w) { a[v * V + w] = 1 }
        }
        return vertices
    }

    @inlinable
    public func writeEdges(_ rows: UnsafeMutablePointer<UInt64>, vertices V: Int) -> Int {
        for v in 0..<V { rows[v] = v < vertices ? (adjacency >> UInt64(v * 7)) & 0x7F : 0 }
        return vertices
    }
}

/// A DAG whose vertices are in topological order (every edge goes from a lower to a higher
/// index), each labelled with an index into its space's op vocabulary. At most 64 vertices.
public struct LabeledGraph: Hashable, Sendable {
    public static let maxVertices = 64
    public let ops: [UInt8]
    /// Row r has bit c set for an edge r → c (c > r).
    public let edges: [UInt64]

    public init(ops: [UInt8], edges: [UInt64]) {
        precondition(ops.count == edges.count && ops.count <= Self.maxVertices)
        self.ops = ops
        self.edges = edges
    }

    public var vertices: Int { ops.count }
    public var edgeCount: Int { edges.reduce(0) { $0 + $1.nonzeroBitCount } }
    public func edge(_ r: Int, _ c: Int) -> Bool { edges[r] & (1 << UInt64(c)) != 0 }

    /// A stable text form (ops, then each row's targets), the input of `hash`.
    var canonicalText: String {
        ops.map(String.init).joined(separator: ",") + "|"
            + edges.map { row in (0..<64).filter { row & (1 << UInt64($0)) != 0 }.map(String.init).joined(separator: " ") }
            .joined(separator: ";")
    }

    /// The graph up to isomorphism, as text: NAS-Bench-101's hashing scheme (vertex hashes
    /// from (out-degree, in-degree, label), refined `vertices` times by the sorted hashes of
    /// in- and out-neighbours; the sorted final hashes), with the ops' names as labels. Two
    /// vertex orders of one graph give the same text.
    func isomorphismText(labels: [String]) -> String {
        let n = vertices
        var h = (0..<n).map { v -> String in
            let outDeg = edges[v].nonzeroBitCount
            let inDeg = (0..<n).filter { edge($0, v) }.count
            let label = Int(ops[v]) < labels.count ? labels[Int(ops[v])] : String(ops[v])
            return MD5.digest("(\(outDeg), \(inDeg), \(label))").hex
        }
        for _ in 0..<n {
            h = (0..<n).map { v in
                let ins = (0..<n).filter { edge($0, v) }.map { h[$0] }.sorted().joined()
                let outs = (0..<n).filter { edge(v, $0) }.map { h[$0] }.sorted().joined()
                return MD5.digest(ins + "|" + outs + "|" + h[v]).hex
            }
        }
        return h.sorted().joined(separator: ",")
    }
}

/// One architecture of any space.
public enum Architecture: Hashable, Sendable, GraphWritable {
    case nb101(NB101Cell)
    case proxyless(ProxylessArch)
    case graph(LabeledGraph)

    public var vertices: Int {
        switch self {
        case .nb101(let c): return c.vertices
        case .proxyless: return ProxylessArch.graphVertices
        case .graph(let g): return g.vertices
        }
    }

    public var edgeCount: Int {
        switch self {
        case .nb101(let c): return c.edgeCount
        case .proxyless: return ProxylessArch.graphVertices - 1
        case .graph(let g): return g.edgeCount
        }
    }

    public var nb101: NB101Cell? {
        if case .nb101(let c) = self { return c }
        return nil
    }

    @inlinable
    public func writeGraph(ops o: UnsafeMutablePointer<Float>, adjacency a: UnsafeMutablePointer<Float>, vertices V: Int, opKinds F: Int) -> Int {
        switch self {
        case .nb101(let c):
            return c.writeGraph(ops: o, adjacency: a, vertices: V, opKinds: F)
        case .proxyless(let p):
            return p.writeGraph(ops: o, adjacency: a, vertices: V, opKinds: F)
        case .graph(let g):
            let n = min(g.vertices, V)
            for v in 0..<n {
                o[v * F + min(Int(g.ops[v]), F - 1)] = 1
                var row = g.edges[v]
                while row != 0 {
                    let c = row.trailingZeroBitCount
                    if c < n { a[v * V + c] = 1 }
                    row &= row - 1
                }
            }
            return n
        }
    }

    @inlinable
    public func writeEdges(_ rows: UnsafeMutablePointer<UInt64>, vertices V: Int) -> Int {
        switch self {
        case .nb101(let c):
            return c.writeEdges(rows, vertices: V)
        case .proxyless(let p):
            return p.writeEdges(rows, vertices: V)
        case .graph(let g):
            let n = min(g.vertices, V)
            let keep: UInt64 = n == 64 ? ~0 : (1 << UInt64(n)) - 1
            for v in 0..<V { rows[v] = v < n ? g.edges[v] & keep : 0 }
            return n
        }
    }
}

/// The kinds of search space npsh knows.
public enum SpaceKind: String, Sendable, Codable {
    case nb101, proxyless, nlp
    /// A space declared by a JSONL file's header.
    case user
}

/// What a space's metric is.
public enum MetricKind: String, Sendable, Codable {
    /// An accuracy, held as a fraction in [0, 1] and shown in percent (MSE in %²).
    case accuracy
    /// A loss, lower is better, shown as recorded.
    case loss
    /// Any other number, shown as recorded; its direction is `lowerIsBetter`.
    case score
}

/// How a user space makes new architectures (its header's "input", "output",
/// "max_vertices" and "max_edges"): DAGs from its input label to its output label, interior
/// vertices labelled with the other ops.
struct GraphRules: Sendable, Equatable, Codable {
    public var input: UInt8
    public var output: UInt8
    public var maxVertices: Int
    var maxEdges: Int

    public init(input: UInt8, output: UInt8, maxVertices: Int, maxEdges: Int) {
        self.input = input
        self.output = output
        self.maxVertices = maxVertices
        self.maxEdges = maxEdges
    }
}

/// The search spaces npsh knows, as the predictor and the commands need them.
public struct SpaceInfo: Sendable, Equatable, Codable {
    /// "nb101", "proxyless", "nlp", or a user space's name.
    public var name: String
    public var kind: SpaceKind
    /// The one-hot vocabulary of vertex labels.
    public var opLabels: [String]
    /// The largest graph; encodings are padded to it.
    public var maxVertices: Int
    /// Lower metric values are better (a loss).
    public var lowerIsBetter: Bool
    /// What the metric is called in output ("val acc", "val loss", a user's name).
    public var metricName: String
    public var metric: MetricKind
    /// A user space's rules for new architectures; nil where it has none (it then knows only
    /// its file's architectures). NB101 and ProxylessNAS generate by their own rules.
    var rules: GraphRules?
    /// A user space whose accuracies are written in percent (its header's "unit"); trainers
    /// report in that unit too.
    public var percent: Bool?

    public init(name: String, kind: SpaceKind = .user, opLabels: [String], maxVertices: Int, lowerIsBetter: Bool, metricName: String,
                metric: MetricKind? = nil) {
        self.name = name
        self.kind = kind
        self.opLabels = opLabels
        self.maxVertices = maxVertices
        self.lowerIsBetter = lowerIsBetter
        self.metricName = metricName
        // Without an explicit kind: a loss when lower is better, an accuracy when the name
        // says so ("val_acc"), else a plain score.
        self.metric = metric ?? (lowerIsBetter ? .loss : metricName.hasSuffix("acc") ? .accuracy : .score)
    }

    /// Whether the metric is an accuracy fraction, printed in percent.
    public var isAccuracy: Bool { metric == .accuracy }

    /// A metric value as shown and exported: accuracies in percent, anything else as is.
    public func display(_ x: Double) -> Double { isAccuracy ? x * 100 : x }

    public static let nb101 = SpaceInfo(name: "nb101", kind: .nb101, opLabels: NB101Cell.opNames, maxVertices: 7,
                                        lowerIsBetter: false, metricName: "val acc", metric: .accuracy)
    public static let proxyless = SpaceInfo(name: "proxyless", kind: .proxyless, opLabels: ProxylessArch.vertexLabels,
                                            maxVertices: ProxylessArch.graphVertices, lowerIsBetter: false, metricName: "val acc", metric: .accuracy)

    /// True when `a` is a better metric value than `b` in this space (NaN is never better).
    @inlinable public func better(_ a: Double, than b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        return lowerIsBetter ? a < b : a > b
    }
}
