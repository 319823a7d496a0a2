// Graph spaces read from data: NAS-Bench-NLP recurrent cells and spaces a user defines.
// Both become `LabeledGraph`s in topological order; names in errors are the file's own.

/// Builds a topologically ordered graph from named vertices and edges, rejecting cycles.
enum GraphBuilder {
    /// `labels[v]` indexes the vocabulary; `edges` are (from, to) over the given order.
    /// Vertices are re-ordered topologically, ties kept in the given order.
    static func make(labels: [UInt8], names: [String], edges: [(Int, Int)], at place: DataPlace) throws -> LabeledGraph {
        let n = labels.count
        guard n >= 1 else { throw RuntimeError.malformed(place, .noVertices) }
        guard n <= LabeledGraph.maxVertices else {
            throw RuntimeError.malformed(place, .tooManyVertices(n, max: LabeledGraph.maxVertices))
        }
        var indegree = [Int](repeating: 0, count: n)
        var out = [[Int]](repeating: [], count: n)
        for (a, b) in edges {
            if a == b { throw RuntimeError.malformed(place, .feedsItself(names[a])) }
            out[a].append(b)
            indegree[b] += 1
        }
        var order: [Int] = []
        var ready = (0..<n).filter { indegree[$0] == 0 }
        while !ready.isEmpty {
            ready.sort()
            let v = ready.removeFirst()
            order.append(v)
            for w in out[v] {
                indegree[w] -= 1
                if indegree[w] == 0 { ready.append(w) }
            }
        }
        if order.count < n {
            let stuck = (0..<n).filter { indegree[$0] > 0 }.map { names[$0] }.sorted()
            throw RuntimeError.malformed(place, .cycle(stuck))
        }
        var position = [Int](repeating: 0, count: n)
        for (p, v) in order.enumerated() { position[v] = p }
        var rows = [UInt64](repeating: 0, count: n)
        for (a, b) in edges { rows[position[a]] |= 1 << UInt64(position[b]) }
        return LabeledGraph(ops: order.map { labels[$0] }, edges: rows)
    }

    /// A graph written as {"ops": [labels], "edges": [[from, to], …]} (user spaces and
    /// exported sets), vertex indices as given, ordered topologically here.
    static func graph(json v: JSONValue, vocabulary: [String], at place: DataPlace) throws -> LabeledGraph {
        guard let opList = v["ops"]?.array, !opList.isEmpty else { throw RuntimeError.malformed(place, .missingField(.vertexLabels)) }
        let names = try opList.enumerated().map { k, o -> String in
            guard let s = o.string else { throw RuntimeError.malformed(place, .opNotString(k)) }
            return s
        }
        let labels = try names.enumerated().map { k, s in try label(s, in: vocabulary, what: "op of vertex \(k)", at: place) }
        guard let edgeList = v["edges"]?.array else { throw RuntimeError.malformed(place, .missingField(.edges)) }
        let edges = try edgeList.map { e -> (Int, Int) in
            guard let p = e.array, p.count == 2, let a = p[0].number, let b = p[1].number, a == a.rounded(), b == b.rounded(),
                  a >= 0, b >= 0, Int(a) < names.count, Int(b) < names.count else {
                throw RuntimeError.malformed(place, .edgePairs(lastIndex: names.count - 1))
            }
            return (Int(a), Int(b))
        }
        return try make(labels: labels, names: names.enumerated().map { "vertex \($0) (\($1))" }, edges: edges, at: place)
    }

    /// The label index of `name` in `vocabulary`, or an error suggesting the nearest.
    static func label(_ name: String, in vocabulary: [String], what: String, at place: DataPlace) throws -> UInt8 {
        guard let i = vocabulary.firstIndex(of: name) else {
            throw RuntimeError.malformed(place, .unknownLabel(what: what, name: name, suggestion: suggestion(for: name, among: vocabulary),
                                                              known: vocabulary))
        }
        return UInt8(i)
    }
}

/// NAS-Bench-NLP recurrent cells (Klyuchnikov et al. 2020). A recipe maps node names to
/// {"op", "input": [names]}; inputs are `x` and `h_prev_0..2`, outputs the nodes named
/// `h_new_*`. The graph has one vertex per used input (labelled by its name) and one per node
/// (labelled by its op), edges from each input to its consumer.
public enum NLPSpace {
    static let inputs = ["x", "h_prev_0", "h_prev_1", "h_prev_2"]
    public static let ops = ["linear", "blend", "elementwise_prod", "elementwise_sum",
                             "activation_tanh", "activation_sigm", "activation_leaky_relu"]
    public static let vocabulary = inputs + ops

    /// The space, its encodings padded to `maxVertices` (the largest cell of the bench).
    public static func info(maxVertices: Int) -> SpaceInfo {
        SpaceInfo(name: "nlp", kind: .nlp, opLabels: vocabulary, maxVertices: maxVertices, lowerIsBetter: true, metricName: "val loss", metric: .loss)
    }

    /// A recipe's identity: its nodes sorted by name, each with its op and ordered inputs
    /// (the graph alone loses input order, which `blend` depends on).
    static func canonicalText(recipe: JSONValue) -> String {
        guard case .object(let members) = recipe else { return "" }
        return members.sorted { $0.0 < $1.0 }.map { name, node in
            "\(name)=\(node["op"]?.string ?? "")(" + (node["input"]?.array ?? []).map { $0.string ?? "" }.joined(separator: ",") + ")"
        }.joined(separator: ";")
    }

    /// The graph of a recipe; unknown ops or inputs, cycles and nodes that reach no output
    /// are errors naming the node.
    public static func graph(recipe: JSONValue, at place: DataPlace) throws -> LabeledGraph {
        guard case .object(let members) = recipe, !members.isEmpty else {
            throw RuntimeError.malformed(place, .emptyRecipe)
        }
        var names: [String] = [], labels: [UInt8] = [], index: [String: Int] = [:]
        for (name, _) in members where index[name] == nil {
            if inputs.contains(name) { throw RuntimeError.malformed(place, .nodeReusesInput(name)) }
            index[name] = names.count
            names.append(name)
        }
        for (name, node) in members {
            guard let op = node["op"]?.string else { throw RuntimeError.malformed(place, .nodeWithoutOp(name)) }
            labels.append(try GraphBuilder.label(op, in: vocabulary, what: "op of node '\(name)'", at: place))
            if labels.last! < UInt8(inputs.count) { throw RuntimeError.malformed(place, .inputAsOp(node: name, op: op)) }
        }
        var usedInputs: [String: Int] = [:]
        var edges: [(Int, Int)] = []
        var pendingInputs: [(String, Int)] = []
        for (name, node) in members {
            guard let list = node["input"]?.array, !list.isEmpty else {
                throw RuntimeError.malformed(place, .nodeWithoutInputs(name))
            }
            for item in list {
                guard let src = item.string else { throw RuntimeError.malformed(place, .inputNotName(node: name)) }
                if let j = index[src] {
                    edges.append((j, index[name]!))
                } else if inputs.contains(src) {
                    pendingInputs.append((src, index[name]!))
                } else {
                    throw RuntimeError.malformed(place, .dangling(node: name, reads: src,
                                                                  suggestion: suggestion(for: src, among: names + inputs)))
                }
            }
        }
        let outputs = names.indices.filter { names[$0].hasPrefix("h_new_") }
        guard !outputs.isEmpty else { throw RuntimeError.malformed(place, .noOutputNode) }
        // Every node must feed an output.
        var feeds = Set(outputs)
        var changed = true
        while changed {
            changed = false
            for (a, b) in edges where feeds.contains(b) && !feeds.contains(a) { feeds.insert(a); changed = true }
        }
        if let dead = names.indices.first(where: { !feeds.contains($0) }) {
            throw RuntimeError.malformed(place, .feedsNoOutput(names[dead]))
        }
        // Input vertices in fixed order, then nodes.
        for inp in inputs where pendingInputs.contains(where: { $0.0 == inp }) {
            usedInputs[inp] = names.count + usedInputs.count
        }
        var allLabels = labels, allNames = names
        for inp in inputs where usedInputs[inp] != nil {
            allLabels.append(UInt8(inputs.firstIndex(of: inp)!))
            allNames.append(inp)
        }
        for (src, dst) in pendingInputs { edges.append((usedInputs[src]!, dst)) }
        // Inputs first: rotate so input vertices lead (GraphBuilder keeps the given order on ties).
        let k = names.count
        let rotate = { (v: Int) in v >= k ? v - k : v + (allNames.count - k) }
        var rl = [UInt8](repeating: 0, count: allLabels.count), rn = [String](repeating: "", count: allNames.count)
        for v in allLabels.indices { rl[rotate(v)] = allLabels[v]; rn[rotate(v)] = allNames[v] }
        return try GraphBuilder.make(labels: rl, names: rn, edges: edges.map { (rotate($0.0), rotate($0.1)) }, at: place)
    }
}

/// Spaces users define in JSONL. The first line declares the space:
///
///   {"npsh_space": "NAME", "ops": ["in", "conv", …, "out"],
///    "metric": "val_loss", "test_metric": "test_loss", "lower_is_better": true}
///
/// (`test_metric` and `time` — a field with training seconds — are optional; `metric`
/// defaults to "val", `lower_is_better` to false.) Every further line is one architecture:
///
///   {"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "val_loss": 4.31, "test_loss": 4.35}
///
/// vertices in any order (npsh orders them topologically), edges as [from, to] pairs over
/// the line's own vertex indices. A cycle, an unknown op, an edge out of range or a missing
/// metric is an error with the file and line.
struct UserSpaceHeader: Sendable, Equatable {
    public var name: String
    public var ops: [String]
    public var metric: String
    var testMetric: String?
    var timeField: String?
    /// Seconds per unit of the time field ("time_unit": seconds, minutes or hours).
    var timeScale: Double = 1
    public var lowerIsBetter: Bool
    /// An accuracy's unit in the file ("unit": "fraction" or "percent"); nil for other metrics.
    public var unit: String?
    /// How new architectures are made ("input", "output", "max_vertices", "max_edges").
    var rules: GraphRules?

    /// What the metric is: an accuracy when the header gives its unit (or, in older files,
    /// when its name ends in "acc"), a loss when lower is better, else a score.
    var metricKind: MetricKind {
        if unit != nil { return .accuracy }
        return lowerIsBetter ? .loss : metric.hasSuffix("acc") ? .accuracy : .score
    }

    /// An architecture's identity in a user space: the space's name and the graph up to
    /// isomorphism (`LabeledGraph.isomorphismText`, with the ops' names), hashed — the same
    /// graph written in another vertex order is the same architecture.
    public static func identity(space: String, labels: [String], _ g: LabeledGraph) -> Digest128 {
        MD5.digest(space + ":" + g.isomorphismText(labels: labels))
    }

    static func parse(_ v: JSONValue, at place: DataPlace) throws -> UserSpaceHeader {
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(place, problem) }
        guard let name = v["npsh_space"]?.string, !name.isEmpty else { throw bad(.missingField(.spaceDeclaration)) }
        guard ["nb101", "proxyless", "nlp"].contains(name) == false else { throw bad(.builtinSpaceName(name)) }
        guard let list = v["ops"]?.array, !list.isEmpty else { throw bad(.missingField(.headerOps)) }
        let ops = try list.map { o -> String in
            guard let s = o.string else { throw bad(.opsNotStrings) }
            return s
        }
        guard Set(ops).count == ops.count else { throw bad(.duplicateLabel) }
        guard ops.count <= 255 else { throw bad(.tooManyLabels) }
        var lower = false
        if let l = v["lower_is_better"] {
            guard case .bool(let b) = l else { throw bad(.lowerIsBetterNotBool) }
            lower = b
        }
        var header = UserSpaceHeader(name: name, ops: ops, metric: v["metric"]?.string ?? "val",
                                     testMetric: v["test_metric"]?.string, timeField: v["time"]?.string, lowerIsBetter: lower)
        if let u = v["unit"] {
            guard let s = u.string, s == "fraction" || s == "percent" else {
                throw bad(.unitValue)
            }
            guard !lower else { throw bad(.unitWithLoss) }
            header.unit = s
        }
        let generation = ["input", "output", "max_vertices", "max_edges"]
        let given = generation.filter { v[$0] != nil }
        if !given.isEmpty {
            guard given.count == generation.count else {
                throw bad(.generationFields(missing: generation.filter { v[$0] == nil }))
            }
            func label(_ key: String) throws -> UInt8 {
                guard let s = v[key]?.string, let i = ops.firstIndex(of: s) else { throw bad(.notAnOp(key)) }
                return UInt8(i)
            }
            func count(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
                guard let x = v[key]?.number, x == x.rounded(), range.contains(Int(x)) else {
                    throw bad(.notWhole(key, range))
                }
                return Int(x)
            }
            let rules = GraphRules(input: try label("input"), output: try label("output"), maxVertices: try count("max_vertices", 2...LabeledGraph.maxVertices),
                                   maxEdges: try count("max_edges", 1...4096))
            guard rules.input != rules.output else { throw bad(.sameInputOutput) }
            guard ops.count > 2 || rules.maxVertices == 2 else { throw bad(.noInteriorOp) }
            header.rules = rules
        }
        if let t = v["time_unit"] {
            let scales = ["seconds": 1.0, "minutes": 60.0, "hours": 3600.0]
            guard let s = t.string, let scale = scales[s] else { throw bad(.timeUnit) }
            header.timeScale = scale
        }
        return header
    }

    /// A metric value from a line, as a fraction for accuracies: a value that looks like a
    /// percentage in a space of fractions is refused rather than shown as 8507 %.
    func metricValue(_ x: Double, field: String, at place: DataPlace) throws -> Double {
        guard metricKind == .accuracy, !x.isNaN else { return x }
        if unit == "percent" {
            guard x >= 0 && x <= 100 else { throw RuntimeError.malformed(place, .notPercent(field, x)) }
            return x / 100
        }
        guard x >= 0 && x <= 1 else {
            throw RuntimeError.malformed(place, .notFractionInUserSpace(field, x))
        }
        return x
    }
}
