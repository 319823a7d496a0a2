import Foundation
@testable import Runtime
import XCTest

final class NB101SpaceTests: XCTestCase {
    static let inceptionMatrix = [
        [0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0],
    ]
    static let inceptionOps = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"]

    func testInceptionCellHash() throws {
        let cell = try NB101Cell(matrix: Self.inceptionMatrix, ops: Self.inceptionOps)
        XCTAssertEqual(cell.hash.hex, "28cfc7874f6d200472e1a9dcd8650aa0")
        XCTAssertEqual(cell.matrix, Self.inceptionMatrix)
        XCTAssertEqual(cell.ops, Self.inceptionOps)
        XCTAssertEqual(cell.edgeCount, 9)
    }

    func testPruningRemovesVerticesOffTheInputOutputPath() throws {
        // Vertex 2 has no path to the output; vertex 3 none from the input.
        let m = [
            [0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0],
        ]
        let cell = try NB101Cell(matrix: m, ops: ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"])
        XCTAssertEqual(cell.vertices, 3)
        XCTAssertEqual(cell.matrix, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
        XCTAssertEqual(cell.ops, ["input", "conv3x3-bn-relu", "output"])
        let same = try NB101Cell(matrix: [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ops: ["input", "conv3x3-bn-relu", "output"])
        XCTAssertEqual(cell.hash, same.hash)
    }

    func testInvalidCellsGiveClearErrors() {
        let ops5 = ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"]
        func check(_ m: [[Int]], _ ops: [String], _ fragment: String, line: UInt = #line) {
            assertThrows(["invalid cell", fragment], line: line) { _ = try NB101Cell(matrix: m, ops: ops) }
        }
        let chain5 = [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
        var cycle = chain5
        cycle[3][1] = 1
        check(cycle, ops5, "cycle through vertices 1 and 3")
        // 0→2→1→3: acyclic, but vertex 2 comes before vertex 1.
        let below = [[0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]]
        check(below, ["input", "maxpool3x3", "maxpool3x3", "output"], "edge 2→1 is on or below the diagonal")
        var selfLoop = chain5
        selfLoop[2][2] = 1
        check(selfLoop, ops5, "cycle")
        let dense7 = (0..<7).map { r in (0..<7).map { c in c > r ? 1 : 0 } }
        check(dense7, ["input"] + Array(repeating: "conv3x3-bn-relu", count: 5) + ["output"], "at most 9 edges, got 21")
        let eight = (0..<8).map { r in (0..<8).map { c in c == r + 1 ? 1 : 0 } }
        check(eight, ["input"] + Array(repeating: "conv3x3-bn-relu", count: 6) + ["output"], "at most 7 vertices, got 8")
        var disconnected = chain5
        disconnected[3][4] = 0
        check(disconnected, ops5, "output is not reachable from the input")
        check(chain5, ["input", "conv3x3-bn-relu", "conv5x5", "conv3x3-bn-relu", "output"], "unknown op 'conv5x5' at vertex 2")
        check(chain5, ["input", "conv3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"], "did you mean 'conv3x3-bn-relu'")
        check(chain5, ["conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"], "first op must be 'input'")
        check(chain5, ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3"], "last op must be 'output'")
        check(chain5, ["input", "output"], "2 ops for 5 vertices")
        check([[0, 2], [0, 0]], ["input", "output"], "entries must be 0 or 1")
        check([[0, 1], [0]], ["input", "output"], "not square")
        check([[0]], ["input"], "at least 2 vertices")
    }

    func testEnumerationCountsMatchTheOfficialSpace() {
        let catalog = Space.catalog
        XCTAssertEqual(catalog.cells.count, 423_624)
        XCTAssertEqual(Array(catalog.countsByVertices[2...7]), [1, 6, 84, 2_441, 62_010, 359_082])
        XCTAssertEqual(Set(catalog.hashes).count, 423_624, "one cell per hash")
        XCTAssertEqual(catalog.hashes, catalog.hashes.sorted(), "sorted by hash")
        // Every enumerated cell obeys the rules and hashes to what is stored beside it.
        for i in stride(from: 0, to: catalog.cells.count, by: 997) {
            let c = catalog.cells[i]
            XCTAssertLessThanOrEqual(c.edgeCount, 9)
            let rebuilt = try? NB101Cell(matrix: c.matrix, ops: c.ops)
            XCTAssertEqual(rebuilt, c)
            XCTAssertEqual(c.hash, catalog.hashes[i])
        }
        let inception = Digest128(hex: "28cfc7874f6d200472e1a9dcd8650aa0")!
        XCTAssertNotNil(catalog.index(of: inception))
    }

    func testEveryLineOfThe20kFileHashesToItsHash() throws {
        let path = try SharedData.path("nb101/nb101-20k.jsonl")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 20_001)
        var cells: [NB101Cell] = []
        var expected: [String] = []
        for (i, line) in lines.enumerated() {
            let v = try JSONValue.parse(String(line))
            let matrix = v["matrix"]!.array!.map { $0.array!.map { Int($0.number!) } }
            let ops = v["ops"]!.array!.map { $0.string! }
            let cell = try NB101Cell(matrix: matrix, ops: ops, at: .line(path, i + 1))
            XCTAssertEqual(cell.matrix, matrix, "line \(i + 1) is already pruned")
            cells.append(cell)
            expected.append(v["hash"]!.string!)
        }
        let hashes = NB101Enumeration.hashAll(cells, threads: 2)
        var mismatches = 0
        for (i, h) in hashes.enumerated() where h.hex != expected[i] {
            mismatches += 1
            if mismatches < 5 { XCTFail("line \(i + 1): hash \(h.hex), file says \(expected[i])") }
        }
        XCTAssertEqual(mismatches, 0)
        // And every one of them is a cell of the enumerated space.
        XCTAssertTrue(hashes.allSatisfy { Space.catalog.index(of: $0) != nil })
    }

    /// What the predictor reads (the production `writeGraph`, through `Architecture`): padded
    /// one-hot ops and the adjacency, zero rows beyond the cell's vertices.
    func testEncodingIsPaddedOneHotAndAdjacency() throws {
        let cell = try NB101Cell(matrix: [[0, 1, 1], [0, 0, 1], [0, 0, 0]], ops: ["input", "maxpool3x3", "output"])
        var ops = [Float](repeating: 0, count: 7 * 5), adjacency = [Float](repeating: 0, count: 7 * 7)
        let vertices = ops.withUnsafeMutableBufferPointer { o in
            adjacency.withUnsafeMutableBufferPointer { a in Architecture.nb101(cell).writeGraph(ops: o.baseAddress!, adjacency: a.baseAddress!, vertices: 7, opKinds: 5) }
        }
        XCTAssertEqual(Array(ops[0..<5]), [1, 0, 0, 0, 0])   // input
        XCTAssertEqual(Array(ops[5..<10]), [0, 0, 0, 1, 0])  // maxpool3x3
        XCTAssertEqual(Array(ops[10..<15]), [0, 0, 0, 0, 1]) // output
        XCTAssertEqual(ops[15...].reduce(0, +), 0, "padding rows are zero")
        XCTAssertEqual(adjacency[0 * 7 + 1], 1)
        XCTAssertEqual(adjacency[0 * 7 + 2], 1)
        XCTAssertEqual(adjacency[1 * 7 + 2], 1)
        XCTAssertEqual(adjacency.reduce(0, +), 3)
        XCTAssertEqual(vertices, 3)
    }

    /// `SpaceGenerator.sample` (what draw, evolve and a trainer's sample use) is uniform over cells.
    func testUniformSamplingOfCells() throws {
        var rng = RandomStream(seed: 3)
        let catalog = Space.catalog
        var byVertices = [Int](repeating: 0, count: 8)
        let n = 20000
        for _ in 0..<n { byVertices[try SpaceGenerator.sample(.nb101, catalog: { catalog }, rng: &rng).0.vertices] += 1 }
        // Uniform over cells: 7-vertex cells are 359,082 / 423,624 = 84.8 % of the space.
        XCTAssertEqual(Double(byVertices[7]) / Double(n), 359_082.0 / 423_624.0, accuracy: 0.01)
        XCTAssertEqual(Double(byVertices[6]) / Double(n), 62_010.0 / 423_624.0, accuracy: 0.01)
    }
}
