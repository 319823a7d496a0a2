import Foundation
@testable import Runtime
import XCTest

/// ProxylessNAS, NAS-Bench-NLP and user-defined spaces.
final class ProxylessTests: XCTestCase {
    func testRulesEachWithItsOwnError() {
        assertThrows(["22 layer codes, got 3"]) { _ = try ProxylessArch(codes: [0, 1, 2]) }
        var codes = [Int](repeating: 0, count: 22)
        codes[7] = 9
        assertThrows(["layer 7", "code 9", "0–6"]) { _ = try ProxylessArch(codes: codes) }
        codes[7] = 0
        codes[0] = 3
        assertThrows(["layer 0", "expansion is fixed to 1", "0–2"]) { _ = try ProxylessArch(codes: codes) }
        codes[0] = 2
        for start in [1, 5, 9, 13, 17, 21] {
            var c = codes
            c[start] = 6
            assertThrows(["layer \(start)", "first layer of a block", "cannot be zero"]) { _ = try ProxylessArch(codes: c) }
        }
        var fine = codes
        fine[2] = 6  // other layers may be skipped
        XCTAssertNoThrow(try ProxylessArch(codes: fine))
    }

    func testSizeAndUniformSamplingRespectTheRules() throws {
        // 3 · 6^6 · 7^15, stated in the space's description.
        var size: UInt64 = 3
        for i in 1..<22 { size *= UInt64(ProxylessArch.choices(at: i)) }
        XCTAssertEqual(size, 664_506_689_423_701_824)
        XCTAssertTrue(ProxylessArch.sizeText.hasPrefix("664,506,689,423,701,824"))
        var rng = RandomStream(seed: 4, path: ["t"])
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 7), count: 22)
        for _ in 0..<21_000 {
            let a = ProxylessArch.sample(&rng)
            XCTAssertNoThrow(try ProxylessArch(codes: a.codes.map(Int.init)))
            for (i, c) in a.codes.enumerated() { counts[i][Int(c)] += 1 }
            let m = a.mutated(&rng)
            XCTAssertNoThrow(try ProxylessArch(codes: m.codes.map(Int.init)))
            XCTAssertEqual(zip(a.codes, m.codes).filter { $0 != $1 }.count, 1, "a mutation changes exactly one layer")
        }
        // Each allowed code about equally often (7,000 / 3,500 / 3,000 expected).
        for i in 0..<22 {
            let k = ProxylessArch.choices(at: i)
            for c in 0..<7 {
                if c < k { XCTAssertEqual(Double(counts[i][c]), 21_000 / Double(k), accuracy: 21_000 / Double(k) * 0.12) } else { XCTAssertEqual(counts[i][c], 0) }
            }
        }
    }

    func testChainEncoding() throws {
        let a = try ProxylessArch(codes: [2] + [Int](repeating: 4, count: 20) + [6].map { _ in 5 })
        let batch = InputBatch(capacity: 1, vertices: 24, opKinds: 9)
        batch.fill([Architecture.proxyless(a)], [0][...])
        XCTAssertEqual(batch.counts[0], 24)
        let ops = batch.ops.array, adj = batch.adjacency.array
        XCTAssertEqual(ops[0], 1, "vertex 0 is the input")
        XCTAssertEqual(ops[1 * 9 + 1 + 2], 1, "layer 0 holds code 2")
        XCTAssertEqual(ops[23 * 9 + 8], 1, "the last vertex is the output")
        XCTAssertEqual(ops.reduce(0, +), 24)
        XCTAssertEqual(adj.reduce(0, +), 23)
        for v in 0..<23 { XCTAssertEqual(adj[v * 24 + v + 1], 1) }
    }

    func testSeedPairsLoadWithTheirCounts() throws {
        for (file, n) in [("pairs-cifar100", 86), ("pairs-caltech101", 288), ("pairs-oxford-pet", 232)] {
            let b = try GraphBenchmark.loadProxyless(try SharedData.path("proxylessnas/\(file).jsonl"))
            XCTAssertEqual(b.runs.reduce(0) { $0 + $1.count }, n, file)
            XCTAssertEqual(b.space, .proxyless)
        }
    }

    func testBadPairsNameFileAndLine() throws {
        let dir = temporaryFolder(self)
        let good = "{\"arch\": [0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3], \"val_acc\": 0.12}"
        let cases: [(String, [String])] = [
            (good + "\n{\"arch\": [3,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3], \"val_acc\": 0.1}\n", ["bad.jsonl: line 2", "layer 0"]),
            (good + "\n{\"arch\": [0,6,2,3,4,5,0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3], \"val_acc\": 0.1}\n", ["line 2", "layer 1", "cannot be zero"]),
            (good + "\n\n{\"arch\": [0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3]}\n", ["line 3", "missing the metric 'val_acc'"]),
            (good + "\n{\"arch\": [0,1,2]", ["line 2", "invalid JSON"]),
            ("{\"arch\": [0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3,4,5,0,1,2,3], \"val_acc\": 12}\n", ["line 1", "fractions"]),
        ]
        for (text, fragments) in cases {
            let p = dir + "/bad.jsonl"
            try FileWriter.write(text, to: p)
            assertThrows(fragments) { _ = try GraphBenchmark.loadProxyless(p) }
        }
    }
}

final class NLPSpaceTests: XCTestCase {
    func testLogsLoadSkippingFailedRunsAndCountingThem() throws {
        let b = try GraphBenchmark.loadNLP(try SharedData.path("nasbench-nlp/wikitext2-logs.jsonl"))
        XCTAssertEqual(b.skipped.count, 4, "the 4 runs whose status is 'loss is nan!'")
        XCTAssertTrue(b.skipped.allSatisfy { $0.contains("loss is nan!") })
        XCTAssertEqual(b.runs.reduce(0) { $0 + $1.count }, 341)
        XCTAssertEqual(b.count, 289, "341 runs of 289 distinct recipes")
        XCTAssertTrue(b.space.lowerIsBetter)
        XCTAssertEqual(b.space.maxVertices, b.archs.map(\.vertices).max())
        let set = try b.architectures()
        let best = try XCTUnwrap(set.best())
        XCTAssertEqual(best.validation, set.entries.map(\.validation).min()!, "lower is better: best is the lowest loss")
    }

    func testRecipeToGraph() throws {
        let r = try JSONValue.parse(#"{"h_new_0": {"op": "activation_tanh", "input": ["f"]}, "f": {"op": "linear", "input": ["x", "h_prev_0"]}}"#)
        let g = try NLPSpace.graph(recipe: r, at: DataPlace(file: "t"))
        // x, h_prev_0, f (linear), h_new_0 (tanh), in topological order.
        XCTAssertEqual(g.vertices, 4)
        XCTAssertEqual(g.ops.map { NLPSpace.vocabulary[Int($0)] }, ["x", "h_prev_0", "linear", "activation_tanh"])
        XCTAssertTrue(g.edge(0, 2) && g.edge(1, 2) && g.edge(2, 3))
        XCTAssertEqual(g.edgeCount, 3)
    }

    func testBadRecipes() throws {
        func graph(_ text: String) throws { _ = try NLPSpace.graph(recipe: try JSONValue.parse(text), at: .line("logs.jsonl", 7)) }
        assertThrows(["logs.jsonl: line 7", "unknown op of node 'h_new_0' 'activation_tahn'", "did you mean 'activation_tanh'"]) {
            try graph(#"{"h_new_0": {"op": "activation_tahn", "input": ["x"]}}"#)
        }
        assertThrows(["line 7", "cycle", "a", "b"]) {
            try graph(#"{"a": {"op": "linear", "input": ["b"]}, "b": {"op": "linear", "input": ["a"]}, "h_new_0": {"op": "blend", "input": ["a", "x"]}}"#)
        }
        assertThrows(["reads 'q'", "dangling"]) { try graph(#"{"h_new_0": {"op": "linear", "input": ["q"]}}"#) }
        assertThrows(["node 'z' feeds no output", "dangling"]) {
            try graph(#"{"z": {"op": "linear", "input": ["x"]}, "h_new_0": {"op": "linear", "input": ["x"]}}"#)
        }
        assertThrows(["no output node"]) { try graph(#"{"a": {"op": "linear", "input": ["x"]}}"#) }
    }
}

final class UserSpaceTests: XCTestCase {
    static let header = #"{"npsh_space": "toy", "ops": ["in", "conv", "pool", "out"], "metric": "val_loss", "test_metric": "test_loss", "lower_is_better": true}"#

    /// The toy space of `header` with these architecture lines, loaded from a file in `dir`.
    func toySpace(_ lines: [String], in dir: String) throws -> GraphBenchmark {
        let p = dir + "/toy.jsonl"
        try FileWriter.write(([Self.header] + lines).joined(separator: "\n") + "\n", to: p)
        return try GraphBenchmark.loadUser(p)
    }

    func testLoadsAndOrdersVerticesTopologically() throws {
        let b = try toySpace([#"{"ops": ["out", "in", "conv"], "edges": [[1, 2], [2, 0]], "val_loss": 0.5, "test_loss": 0.6}"#,
                              #"{"ops": ["in", "pool", "out"], "edges": [[0, 1], [1, 2]], "val_loss": 0.4}"#], in: temporaryFolder(self))
        XCTAssertEqual(b.space.name, "toy")
        XCTAssertTrue(b.space.lowerIsBetter)
        XCTAssertEqual(b.count, 2)
        guard case .graph(let g) = b.archs[0] else { return XCTFail("a graph") }
        XCTAssertEqual(g.ops, [0, 1, 3], "in → conv → out after ordering")
        XCTAssertTrue(g.edge(0, 1) && g.edge(1, 2))
        let set = try b.architectures()
        XCTAssertEqual(set.best()?.validation, 0.4)
        XCTAssertTrue(set.entries[1].test.isNaN)
    }

    func testExportedSetsLoadBackInTheirSpace() throws {
        let dir = temporaryFolder(self)
        let b = try toySpace([#"{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "val_loss": 0.5, "test_loss": 0.6}"#,
                              #"{"ops": ["in", "pool", "out"], "edges": [[0, 1], [1, 2], [0, 2]], "val_loss": 0.4}"#], in: dir)
        let set = try b.architectures()
        let out = dir + "/set.json"
        try FileWriter.write(set.json(), to: out)
        let back = try ArchSet.load(path: out, store: BenchmarkStore(cacheDirectory: dir), space: b.space)
        XCTAssertEqual(back.entries, set.entries)
        var rng = RandomStream(seed: 1, path: ["px"])
        let px = ArchSet(entries: (0..<3).map { _ in let a = ProxylessArch.sample(&rng); return ArchEntry(arch: .proxyless(a), hash: a.hash, validation: 0.12, test: .nan) },
                         label: "px", space: .proxyless)
        try FileWriter.write(px.json(), to: out)
        XCTAssertEqual(try ArchSet.load(path: out, store: BenchmarkStore(cacheDirectory: dir), space: .proxyless).entries, px.entries)
        // A user space's identity comes from the graph: an item without a hash loads with it,
        // one whose hash names another graph is refused.
        try FileWriter.write(#"[{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "val": 0.5}]"#, to: out)
        XCTAssertEqual(try ArchSet.load(path: out, store: BenchmarkStore(cacheDirectory: dir), space: b.space).entries.map(\.hash), [set.entries[0].hash])
        try FileWriter.write(#"[{"hash": ""# + set.entries[1].hash.hex + #"", "ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "val": 0.5}]"#, to: out)
        assertThrows(["set.json: item 0", "is not this graph's identity in space toy"]) { _ = try ArchSet.load(path: out, store: BenchmarkStore(cacheDirectory: dir), space: b.space) }
        // NAS-Bench-NLP keeps the exported hash (a recipe's identity is not its graph's).
        let nlp = NLPSpace.info(maxVertices: 19)
        try FileWriter.write(#"[{"ops": ["x", "linear"], "edges": [[0, 1]], "val": 1}]"#, to: out)
        assertThrows(["set.json: item 0", "missing 'hash'"]) { _ = try ArchSet.load(path: out, store: BenchmarkStore(cacheDirectory: dir), space: nlp) }
    }

    /// A user space's identity is the graph up to isomorphism: another vertex order of the
    /// same graph is the same architecture; a different graph is not.
    func testUserIdentityIgnoresVertexOrder() {
        let labels = ["in", "conv", "pool", "out"]
        // in → conv → out, in → pool → out, in → out; then with conv and pool swapped in the order.
        let a = LabeledGraph(ops: [0, 1, 2, 3], edges: [0b1110, 0b1000, 0b1000, 0])
        let b = LabeledGraph(ops: [0, 2, 1, 3], edges: [0b1110, 0b1000, 0b1000, 0])
        XCTAssertEqual(UserSpaceHeader.identity(space: "toy", labels: labels, a), UserSpaceHeader.identity(space: "toy", labels: labels, b))
        let c = LabeledGraph(ops: [0, 1, 2, 3], edges: [0b0110, 0b1000, 0b1000, 0])  // no in → out
        XCTAssertNotEqual(UserSpaceHeader.identity(space: "toy", labels: labels, a), UserSpaceHeader.identity(space: "toy", labels: labels, c))
        XCTAssertNotEqual(UserSpaceHeader.identity(space: "toy", labels: labels, a), UserSpaceHeader.identity(space: "other", labels: labels, a))
    }

    /// A header with rules makes new architectures: valid DAGs within the limits, distinct
    /// mutations; a file of lines without the metric is a pool of untrained candidates.
    func testUserSpaceRulesGenerateAndPoolsLoadUntrained() throws {
        let dir = temporaryFolder(self)
        let p = dir + "/g.jsonl"
        try FileWriter.write(#"{"npsh_space": "g", "ops": ["in", "conv", "pool", "out"], "metric": "val_acc", "unit": "fraction", "input": "in", "output": "out", "max_vertices": 6, "max_edges": 7}"# + "\n", to: p)
        let b = try GraphBenchmark.loadUser(p)
        XCTAssertEqual(b.count, 0)
        XCTAssertEqual(b.space.rules, GraphRules(input: 0, output: 3, maxVertices: 6, maxEdges: 7))
        XCTAssertTrue(SpaceGenerator.canGenerate(b.space))
        var rng = RandomStream(seed: 3, path: ["gen"])
        var seen = Set<Digest128>()
        for _ in 0..<300 {
            let (a, h) = try SpaceGenerator.sample(b.space, catalog: { throw RuntimeError.unusable(.noCatalog) }, rng: &rng)
            guard case .graph(let g) = a else { return XCTFail("not a graph") }
            XCTAssertTrue(g.vertices >= 2 && g.vertices <= 6 && g.edgeCount <= 7)
            XCTAssertEqual(g.ops.first, 0)
            XCTAssertEqual(g.ops.last, 3)
            XCTAssertFalse(g.ops.dropFirst().dropLast().contains { $0 == 0 || $0 == 3 })
            XCTAssertEqual(h, UserSpaceHeader.identity(space: "g", labels: b.space.opLabels, g))
            seen.insert(h)
            if let (m, mh) = SpaceGenerator.mutate(a, space: b.space, rng: &rng) {
                XCTAssertNotEqual(mh, h)
                guard case .graph(let mg) = m else { return XCTFail("not a graph") }
                XCTAssertTrue(mg.edgeCount <= 7 && mg.vertices <= 6)
            }
        }
        XCTAssertGreaterThan(seen.count, 40, "draws are varied (56 distinct of 300 with seed 3)")
        // A pool: lines without the metric, untrained.
        try FileWriter.write(#"{"npsh_space": "g", "ops": ["in", "conv", "pool", "out"], "metric": "val_acc", "unit": "fraction"}"# + "\n"
                             + #"{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]]}"# + "\n" + #"{"ops": ["in", "pool", "out"], "edges": [[0, 1], [1, 2]]}"# + "\n", to: p)
        let pool = try GraphBenchmark.loadUser(p).architectures()
        XCTAssertEqual(pool.count, 2)
        XCTAssertTrue(pool.entries.allSatisfy { $0.validation.isNaN })
    }

    func testBadLinesNameFileAndLine() throws {
        let dir = temporaryFolder(self)
        let p = dir + "/u.jsonl"
        let cases: [(String, [String])] = [
            (#"{"ops": ["in"], "edges": [], "val": 1}"#, ["u.jsonl: line 1", "must declare the space"]),
            (Self.header + "\n" + #"{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2], [2, 1]], "val_loss": 1}"#, ["line 2", "cycle"]),
            (Self.header + "\n" + #"{"ops": ["in", "convv", "out"], "edges": [[0, 1]], "val_loss": 1}"#, ["line 2", "unknown op of vertex 1 'convv'", "did you mean 'conv'"]),
            (Self.header + "\n" + #"{"ops": ["in", "out"], "edges": [[0, 5]], "val_loss": 1}"#, ["line 2", "vertex indices 0…1"]),
            (Self.header + "\n" + #"{"ops": ["in", "out"], "edges": [[0, 1]], "val_loss": 1}"#
                + "\n\n" + #"{"ops": ["in", "conv", "out"], "edges": [[0, 1], [1, 2]], "test_loss": 1}"#, ["line 4", "missing the metric 'val_loss'"]),
            (Self.header + "\n", ["no architectures", "max_vertices"]),
            (#"{"npsh_space": "g", "ops": ["in", "out"], "input": "in", "output": "out", "max_vertices": 5}"#, ["line 1", "missing max_edges"]),
            (#"{"npsh_space": "g", "ops": ["in", "out"], "input": "inn", "output": "out", "max_vertices": 5, "max_edges": 4}"#, ["'input' must be one of 'ops'"]),
            (#"{"npsh_space": "g", "ops": ["in", "c", "out"], "input": "in", "output": "out", "max_vertices": 99, "max_edges": 4}"#, ["'max_vertices' must be a whole number in 2…64"]),
            (#"{"npsh_space": "nlp", "ops": ["a"]}"#, ["built-in space"]),
        ]
        for (text, fragments) in cases {
            try FileWriter.write(text, to: p)
            assertThrows(fragments) { _ = try GraphBenchmark.loadUser(p) }
        }
    }

    func testPredictorsWorkOnUserGraphsUnchanged() throws {
        // A toy space where the metric is the number of "conv" vertices: every body learns it.
        var rng = RandomStream(seed: 9, path: ["toy"])
        var lines = [#"{"npsh_space": "chains", "ops": ["in", "conv", "pool", "out"], "metric": "score"}"#]
        for _ in 0..<200 {
            let n = 2 + rng.int(below: 7)
            let ops = ["in"] + (0..<n).map { _ in rng.int(below: 2) == 0 ? "conv" : "pool" } + ["out"]
            let edges = (0..<(ops.count - 1)).map { "[\($0), \($0 + 1)]" }.joined(separator: ", ")
            let score = Double(ops.filter { $0 == "conv" }.count)
            lines.append("{\"ops\": [" + ops.map { "\"\($0)\"" }.joined(separator: ", ") + "], \"edges\": [\(edges)], \"score\": \(score)}")
        }
        let dir = temporaryFolder(self)
        let p = dir + "/chains.jsonl"
        try FileWriter.write(lines.joined(separator: "\n") + "\n", to: p)
        let b = try GraphBenchmark.loadUser(p)
        let set = try b.architectures()
        let archs = set.architectures, labels = set.entries.map(\.validation)
        // Identical graphs merge into one architecture with several runs.
        XCTAssertGreaterThan(set.count, 40)
        let cut = set.count * 2 / 3
        let train = Array(0..<cut), test = Array(cut..<set.count)
        for kind in ModelKind.allCases {
            let shape = NetworkShape(kind: kind, layers: 2, dim: 16, fc: [16], dropout: 0, output: .linear,
                                     vertices: b.space.maxVertices, opKinds: b.space.opLabels.count)
            let p = try Predictor.fit(FitConfig(shape: shape, learningRate: 3e-3, weightDecay: 0, epochs: 60, batch: 8, seed: 1),
                                      cells: archs, indices: train, labels: train.map { labels[$0] })
            let pred = p.predict(cells: archs, indices: test, threads: 2)
            let tau = Metrics.kendallTau(pred, test.map { labels[$0] })
            XCTAssertGreaterThan(tau, 0.6, "\(kind) on a user space")
        }
    }
}
