import Foundation
@testable import Runtime
import XCTest

/// A small benchmark where validation and test disagree on purpose.
func toyBenchmark(lowerIsBetter: Bool = false, count: Int = 300, seed: UInt64 = 5) -> GraphBenchmark {
    var rng = RandomStream(seed: seed, path: ["toy"])
    let space = SpaceInfo(name: "toy", opLabels: ["in", "a", "b", "out"], maxVertices: 8, lowerIsBetter: lowerIsBetter, metricName: lowerIsBetter ? "loss" : "val acc")
    var rows: [(Architecture, Digest128, GraphRun)] = []
    for i in 0..<count {
        let n = 3 + rng.int(below: 6)
        let ops = [UInt8(0)] + (1..<(n - 1)).map { _ in UInt8(1 + rng.int(below: 2)) } + [3]
        let edges = (0..<n).map { v in v + 1 < n ? UInt64(1) << UInt64(v + 1) : 0 }
        let g = LabeledGraph(ops: ops, edges: edges)
        let a = Double(ops.filter { $0 == 1 }.count) / 8
        let val = (lowerIsBetter ? 1 - a : a) + rng.uniform() * 0.05
        let test = val + rng.uniform() * 0.2 - 0.1
        rows.append((.graph(g), MD5.digest("toy\(i)"), GraphRun(validation: val, test: test, time: 10 + Double(i % 7))))
    }
    return GraphBenchmark(space: space, label: "toy", rows: rows)
}

final class SearchTests: XCTestCase {
    func config(_ space: SpaceInfo) -> FitConfig {
        FitConfig(shape: NetworkShape(kind: .gcn, layers: 2, dim: 12, fc: [12], dropout: 0.1, output: .linear,
                                      vertices: space.maxVertices, opKinds: space.opLabels.count),
                  learningRate: 2e-3, weightDecay: 1e-4, epochs: 20, batch: 10)
    }

    func testOraclePicksTheBestByValidationNotTest() throws {
        // Three architectures: the best by validation is not the best by test.
        let g = LabeledGraph(ops: [0, 1, 3], edges: [2, 4, 0])
        let runs = [GraphRun(validation: 0.90, test: 0.80, time: 1), GraphRun(validation: 0.85, test: 0.95, time: 1), GraphRun(validation: 0.70, test: 0.70, time: 1)]
        let b = GraphBenchmark(space: toyBenchmark(count: 1).space, label: "three",
                               rows: runs.enumerated().map { (.graph(g), MD5.digest("three\($0.offset)"), $0.element) })
        let problem = SearchProblem(candidates: try b.architectures(), trainer: b)
        let c = try Search.run(.oracle, on: problem, runs: 1, seed: 1, name: "oracle")
        XCTAssertEqual(c.validationMean, [0.90])
        XCTAssertEqual(c.testMean, [0.80], "the oracle reports the test value of the best-by-validation architecture, not the maximum test (0.95)")
        let r = try Search.run(.random(budget: 3), on: problem, runs: 1, seed: 1, name: "random")
        XCTAssertEqual(r.testMean[2], 0.80, "after training all three, random search's pick is the best by validation too")
    }

    func testRandomSearchTracksTheBestByValidationAndNeverWorsens() throws {
        for lower in [false, true] {
            let b = toyBenchmark(lowerIsBetter: lower)
            let problem = SearchProblem(candidates: try b.architectures(), trainer: b)
            let c = try Search.run(.random(budget: 50), on: problem, runs: 1, seed: 3, name: "random")
            XCTAssertEqual(c.budgets, 50)
            for j in 1..<50 {
                if lower { XCTAssertLessThanOrEqual(c.validationMean[j], c.validationMean[j - 1]) } else { XCTAssertGreaterThanOrEqual(c.validationMean[j], c.validationMean[j - 1]) }
                if c.validationMean[j] == c.validationMean[j - 1] { XCTAssertEqual(c.testMean[j], c.testMean[j - 1], "the pick only changes with validation") }
            }
            XCTAssertTrue(c.timeMean[49] > c.timeMean[0], "time accumulates")
        }
    }

    func testCurvesAreIdenticalForAnyThreadCountAndBeatRandom() throws {
        let b = toyBenchmark()
        let problem = SearchProblem(candidates: try b.architectures(), trainer: b)
        let m = SearchMethod.predictor(PredictorSearchConfig(n: 40, k: 20, regressor: config(b.space)))
        let serial = try Search.run(m, on: problem, runs: 4, seed: 11, name: "p", threads: 1)
        let parallel = try Search.run(m, on: problem, runs: 4, seed: 11, name: "p", threads: 2)
        XCTAssertEqual(serial, parallel)
        XCTAssertEqual(serial.trainedBeforePrediction, 40)
        let random = try Search.run(.random(budget: 60), on: problem, runs: 4, seed: 11, name: "r", threads: 2)
        XCTAssertGreaterThan(serial.validationMean[59], random.validationMean[59], "the predictor finds better architectures than random")
    }

    func testLossModePicksLowest() throws {
        let b = toyBenchmark(lowerIsBetter: true)
        let problem = SearchProblem(candidates: try b.architectures(), trainer: b)
        let m = SearchMethod.predictor(PredictorSearchConfig(n: 40, k: 20, regressor: config(b.space)))
        let p = try Search.run(m, on: problem, runs: 3, seed: 2, name: "p")
        let r = try Search.run(.random(budget: 60), on: problem, runs: 3, seed: 2, name: "r")
        XCTAssertLessThan(p.validationMean[59], r.validationMean[59], "lower is better: the predictor's pick has the lower loss")
    }

    func testBadSearchArguments() throws {
        let b = toyBenchmark()
        let problem = SearchProblem(candidates: try b.architectures(), trainer: b)
        assertThrows(["budget=301"]) { _ = try Search.run(.random(budget: 301), on: problem, runs: 1, seed: 1, name: "r") }
        assertThrows(["n + k = 400"]) {
            _ = try Search.run(.predictor(PredictorSearchConfig(n: 200, k: 200, regressor: self.config(b.space))), on: problem, runs: 1, seed: 1, name: "p")
        }
        assertThrows(["smaller than one batch"]) {
            _ = try Search.run(.predictor(PredictorSearchConfig(n: 5, k: 10, regressor: self.config(b.space))), on: problem, runs: 1, seed: 1, name: "p")
        }
        assertThrows(["runs must be at least 1"]) { _ = try Search.run(.random(budget: 3), on: problem, runs: 0, seed: 1, name: "r") }
    }

    func testEvolutionIsDeterministicAndProposesUnseenArchitectures() throws {
        // A ProxylessNAS predictor fitted on random labels; evolution must return k distinct
        // valid architectures, the best-scored first, the same for the same seed.
        var rng = RandomStream(seed: 3, path: ["evo"])
        let archs = (0..<40).map { _ in Architecture.proxyless(ProxylessArch.sample(&rng)) }
        let labels = archs.map { a -> Double in
            guard case .proxyless(let p) = a else { return 0 }
            return Double(p.codes.filter { $0 == 5 }.count) / 22 * 0.5 + 0.2
        }
        let shape = NetworkShape(kind: .gcn, layers: 2, dim: 8, fc: [8], output: .shifted, vertices: 24, opKinds: 9)
        let model = try Predictor.fit(FitConfig(shape: shape, learningRate: 3e-3, epochs: 15, batch: 10, seed: 2), cells: archs, indices: Array(0..<40), labels: labels)
        let evo = Evolution(population: 20, tournament: 5, cycles: 200, batch: 20)
        let noCatalog: () throws -> NB101Catalog = { throw RuntimeError.unusable(.noCatalog) }
        let a = try evo.run(space: .proxyless, predictor: .single(model), k: 8, seed: 4, exclude: [], catalog: noCatalog)
        let b = try evo.run(space: .proxyless, predictor: .single(model), k: 8, seed: 4, exclude: [], catalog: noCatalog)
        XCTAssertEqual(a.map(\.1), b.map(\.1))
        XCTAssertEqual(Set(a.map(\.1)).count, 8)
        XCTAssertEqual(a.map(\.2), a.map(\.2).sorted(by: >))
        for (arch, _, _) in a {
            guard case .proxyless(let p) = arch else { return XCTFail("proxyless") }
            XCTAssertNoThrow(try ProxylessArch(codes: p.codes.map(Int.init)))
        }
        let excluded = try evo.run(space: .proxyless, predictor: .single(model), k: 8, seed: 4, exclude: [a[0].1], catalog: noCatalog)
        XCTAssertFalse(excluded.map(\.1).contains(a[0].1))
        assertThrows(["cannot generate"]) {
            _ = try evo.run(space: NLPSpace.info(maxVertices: 19), predictor: .single(model), k: 2, seed: 1, catalog: noCatalog)
        }
    }

    func testNB101MutationsAreValidAndDifferent() throws {
        var rng = RandomStream(seed: 8, path: ["mut"])
        let cell = Space.catalog.cells[12345]
        for _ in 0..<300 {
            guard let (m, h) = SpaceGenerator.mutate(.nb101(cell), space: .nb101, rng: &rng), case .nb101(let c) = m else { return XCTFail("no mutation") }
            XCTAssertNotEqual(h, cell.hash)
            XCTAssertEqual(h, c.hash)
            XCTAssertNotNil(sortedIndex(of: h, in: Space.catalog.hashes), "a mutation is a cell of the space")
        }
    }

    func testSplitStudyIsDeterministicAndSizesAreStated() throws {
        let b = toyBenchmark()
        let set = try b.architectures()
        let study = SplitStudy(fractions: [0.6, 0.2, 0.2], seeds: [1, 2], config: config(b.space))
        XCTAssertEqual(study.sizes(300), [180, 60, 60])
        let x = try study.run(set, threads: 1), y = try study.run(set, threads: 2)
        XCTAssertEqual(x, y)
        XCTAssertEqual(x.count, 2)
        XCTAssertEqual(x[0].map(\.n), [180, 60, 60])
        assertThrows(["summing to 1"]) { _ = try SplitStudy(fractions: [0.6, 0.6, 0.2], seeds: [1], config: self.config(b.space)).run(set) }
    }

    func testTopIndicesEqualsAFullSort() {
        var rng = RandomStream(seed: 1, path: ["top"])
        let scores = (0..<5000).map { _ in Double(rng.int(below: 300)) }
        let key: (Int) -> Digest128 = { Digest128(hi: 0, lo: UInt64(5000 - $0)) }
        for lower in [false, true] {
            let full = scores.indices.sorted { scores[$0] != scores[$1] ? (lower ? scores[$0] < scores[$1] : scores[$0] > scores[$1]) : key($0) < key($1) }
            XCTAssertEqual(Search.topIndicesForTesting(scores, k: 37, lowerIsBetter: lower, key: key), Array(full.prefix(37)))
        }
    }
}
