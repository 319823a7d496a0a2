import CKernels
@testable import Runtime
import XCTest

/// The GCN's own products and transposes (CKernels/gemm.c): the vector copies give the bits
/// of the scalar definition for every shape, edges included. (That these are the bits of
/// OpenBLAS's FMA kernels, which fitted every predictor before them, the interpreter's
/// goldens pin: a test process runs OpenBLAS's baseline kernel, which rounds differently.)
final class ProductKernelTests: XCTestCase {
    /// How many elements differ in their bits (0: identical), not the arrays themselves.
    func differing(_ a: [Float], _ b: [Float]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
    }

    func values(_ n: Int, _ rng: inout RandomStream) -> [Float] {
        (0..<n).map { _ in Float(rng.uniform() * 2 - 1) }
    }

    /// The normalised adjacency as the GCN defines it: each row's entries summed as floats,
    /// then each entry times the reciprocal of the sum (the Swift loop the C kernels replaced).
    func referenceAdjacency(_ a: [Float], _ counts: [Int32], V: Int) -> (f: [Float], b: [Float]) {
        var f = [Float](repeating: .nan, count: a.count), r = f
        for b in 0..<counts.count {
            let o = b * V * V, n = Int(counts[b])
            for i in 0..<V {
                var sf: Float = 0, sb: Float = 0
                for j in 0..<V {
                    let vf = (i < n && i == j) ? 1 : a[o + i * V + j], vb = (i < n && i == j) ? 1 : a[o + j * V + i]
                    f[o + i * V + j] = vf; r[o + i * V + j] = vb
                    sf += vf; sb += vb
                }
                let inf: Float = sf > 0 ? 1 / sf : 0, inb: Float = sb > 0 ? 1 / sb : 0
                for j in 0..<V { f[o + i * V + j] *= inf; r[o + i * V + j] *= inb }
            }
        }
        return (f, r)
    }

    /// Both C kernels (from dense matrices, and from the edge rows `writeEdges` gives, which
    /// whole-space prediction uses) give the reference's bits for NAS-Bench-101 cells of
    /// every size, ProxylessNAS chains, and user graphs with padding or cut to V vertices;
    /// and the edge rows are the dense matrix's.
    func testNormalizedAdjacencyFromMatricesAndEdgeRowsMatchesTheDefinition() throws {
        var rng = RandomStream(seed: 5, path: ["adjacency"])
        let catalog = Space.catalog
        // A sample, and the first cell of each size (small cells are rare).
        let sizes = (2...7).compactMap { n in catalog.cells.first { $0.vertices == n } }
        let nb = (rng.distinct(3000, from: catalog.cells.count).map { catalog.cells[$0] } + sizes).map(Architecture.nb101)
        XCTAssertEqual(Set(nb.map(\.vertices)).count, 6, "cells of 2 to 7 vertices")
        let chain = try ProxylessArch(codes: [2] + [Int](repeating: 4, count: 20) + [5])
        func graph(_ n: Int) -> Architecture {
            let ops = (0..<n).map { _ in UInt8(rng.int(below: 4)) }
            let edges = (0..<n).map { r -> UInt64 in
                var e: UInt64 = 0
                for c in (r + 1)..<max(r + 1, n) where rng.uniform() < 0.3 { e |= 1 << UInt64(c) }
                return e
            }
            return .graph(LabeledGraph(ops: ops, edges: edges))
        }
        let cases: [(name: String, archs: [Architecture], V: Int, F: Int)] = [
            ("nb101", nb, 7, 5), ("proxyless", [.proxyless(chain)], 26, 9),
            ("graphs", (0..<200).map { graph(2 + $0 % 11) }, 9, 4),
            ("graphs at 64", (0..<20).map { _ in graph(64) } + [graph(3)], 64, 4)]
        for (name, archs, V, F) in cases {
            let batch = InputBatch(capacity: archs.count, vertices: V, opKinds: F)
            batch.fill(archs, ArraySlice(archs.indices), flat: false)
            let dense = batch.adjacency.array, counts = Array(UnsafeBufferPointer(start: batch.counts, count: archs.count))
            XCTAssertTrue(counts.contains { Int($0) < V }, "\(name): some graphs have padding vertices")
            let (f, b) = referenceAdjacency(dense, counts, V: V)
            let af = FloatBuffer(archs.count * V * V), ab = FloatBuffer(archs.count * V * V)
            normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: archs.count, vertices: V, forward: af.pointer, backward: ab.pointer)
            XCTAssertEqual(differing(af.array, f), 0, "\(name): forward from matrices")
            XCTAssertEqual(differing(ab.array, b), 0, "\(name): backward from matrices")
            var edges = [UInt64](repeating: 0xDEAD, count: archs.count * V), edgeCounts = [Int32](repeating: -1, count: archs.count)
            for (k, a) in archs.enumerated() { edgeCounts[k] = edges.withUnsafeMutableBufferPointer { Int32(a.writeEdges($0.baseAddress! + k * V, vertices: V)) } }
            XCTAssertEqual(edgeCounts, counts, name)
            var mismatches = 0
            for k in archs.indices {
                for e in 0..<(V * V) {
                    let bit: UInt64 = (edges[k * V + e / V] >> UInt64(e % V)) & 1
                    if bit != UInt64(dense[k * V * V + e]) { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(name): edge rows against the matrices")
            af.zero(); ab.zero()
            normalizedAdjacency(edges: edges, edgeCounts, batch: archs.count, vertices: V, forward: af.pointer, backward: ab.pointer)
            XCTAssertEqual(differing(af.array, f), 0, "\(name): forward from edge rows")
            XCTAssertEqual(differing(ab.array, b), 0, "\(name): backward from edge rows")
        }
    }

    func testProductsMatchTheScalarDefinitionForEveryShape() {
        var rng = RandomStream(seed: 11, path: ["gemm"])
        for (m, n, k) in [(1, 1, 1), (35, 288, 144), (35, 288, 5), (144, 288, 35), (35, 144, 288), (9, 17, 3), (13, 40, 7), (8, 33, 64),
                          (17, 15, 2), (70, 96, 48), (300, 70, 19), (257, 288, 144), (64, 33, 0), (5, 50, 9), (3, 64, 4),
                          (66, 128, 10), (80, 113, 6)] {
            for transposedA in [false, true] {
                let a = values(m * k, &rng), b = values(k * n, &rng), c0 = values(m * n, &rng)
                // A(i, k) at i·ais + k·aks: row-major m × k, or stored k × m.
                let (ais, aks) = transposedA ? (1, m) : (k, 1)
                for accumulate: Int32 in [0, 1] {
                    var fast = c0, slow = c0
                    npsh_gemm(m, n, k, a, ais, aks, b, n, &fast, n, accumulate)
                    npsh_gemm_reference(m, n, k, a, ais, aks, b, n, &slow, n, accumulate)
                    XCTAssertEqual(differing(fast, slow), 0, "\(m)×\(n)×\(k) transposed \(transposedA) accumulate \(accumulate)")
                }
            }
        }
    }

    func testTransposeMatchesTheScalarFormAtEveryEdge() {
        var rng = RandomStream(seed: 13, path: ["transpose"])
        for (rows, cols) in [(1, 1), (5, 288), (144, 288), (16, 16), (17, 31), (33, 15), (72, 144), (3, 40)] {
            let lds = cols + 3, ldd = rows + 2
            let src = values(rows * lds, &rng)
            var fast = [Float](repeating: -7, count: cols * ldd), slow = fast
            npsh_transpose(src, rows, cols, lds, &fast, ldd)
            npsh_transpose_reference(src, rows, cols, lds, &slow, ldd)
            XCTAssertEqual(differing(fast, slow), 0, "\(rows)×\(cols)")
            XCTAssertEqual(fast[0], src[0])
            if rows > 1 && cols > 2 { XCTAssertEqual(fast[2 * ldd + 1], src[1 * lds + 2]) }
        }
    }

    /// The optimizer step that also writes the weights' transpose gives npsh_adam_update's
    /// bits (params, moments, gradients left as they were) and the transpose of the result, for Adam and
    /// AdamW, one gradient or two, at every tile edge.
    func testAdamThatTransposesMatchesAdamThenTranspose() {
        var rng = RandomStream(seed: 14, path: ["adam"])
        for (rows, cols) in [(144, 288), (5, 288), (17, 40), (16, 16), (33, 7)] {
            for (decoupled, two) in [(Int32(0), true), (1, false)] {
                let n = rows * cols
                let p0 = values(n, &rng), g0 = values(n, &rng), h0 = values(n, &rng), m0 = values(n, &rng).map { $0 * 0.01 }
                let v0 = values(n, &rng).map { abs($0) * 1e-4 }
                var (p1, g1, h1, m1, v1) = (p0, g0, h0, m0, v0)
                var (p2, g2, h2, m2, v2) = (p0, g0, h0, m0, v0)
                var t1 = [Float](repeating: 0, count: n), t2 = t1
                let args: (Float, Float, Float, Float, Float, Float, Float, Float, Float) = (0.9, 0.1, 0.999, 0.001, 3e-4, 0.03, 1e-8, 1e-3, 3e-7)
                h1.withUnsafeMutableBufferPointer { hb in
                    npsh_adam_update(&p1, &g1, two ? hb.baseAddress : nil, &m1, &v1, 1, n, args.0, args.1, args.2, args.3, args.4, args.5, args.6,
                                     args.7, args.8, decoupled)
                }
                npsh_transpose(p1, rows, cols, cols, &t1, rows)
                h2.withUnsafeMutableBufferPointer { hb in
                    npsh_adam_update_transposing(&p2, &g2, two ? hb.baseAddress : nil, &m2, &v2, 1, rows, cols, args.0, args.1, args.2, args.3,
                                                 args.4, args.5, args.6, args.7, args.8, decoupled, &t2, rows)
                }
                let label = "\(rows)×\(cols) decoupled \(decoupled)"
                XCTAssertEqual(differing(p1, p2), 0, label)
                XCTAssertEqual(differing(m1, m2), 0, label)
                XCTAssertEqual(differing(v1, v2), 0, label)
                XCTAssertEqual(differing(t1, t2), 0, label)
                XCTAssertEqual(differing(g0, g2), 0, label)
                XCTAssertEqual(differing(h0, h2), 0, label)
                XCTAssertEqual(differing(g1, g2), 0, label)
                XCTAssertEqual(differing(h1, h2), 0, label)
                XCTAssertNotEqual(differing(p0, p2), 0, label)
            }
        }
    }

    /// The optimizer's parts for two threads keep each transposed matrix's rows whole and
    /// cover every parameter once; the update through them gives the one-part bits.
    func testOptimizerPartsKeepRowsWhole() {
        let shape = NetworkShape(kind: .gcn, layers: 3, dim: 144)
        let net = Network(shape: shape, capacity: 5)
        let body = net.body as! GCNBody
        let transposes = TransposedWeights(body)
        let n = net.layout.count
        func optimizer() -> AdamOptimizer {
            let o = AdamOptimizer(kind: .adam, count: n, weightDecay: 1e-3, decayMask: net.layout.decayMask)
            o.transposing = transposes.matrices
            return o
        }
        let parts = optimizer().split(2, count: n)
        XCTAssertEqual(parts[0].lowerBound, 0)
        XCTAssertEqual(parts[0].upperBound, parts[1].lowerBound)
        XCTAssertEqual(parts[1].upperBound, n)
        for t in transposes.matrices where t.range.contains(parts[0].upperBound) {
            XCTAssertEqual((parts[0].upperBound - t.range.lowerBound) % t.cols, 0, "the split falls between rows")
        }
        XCTAssertLessThan(abs(parts[0].count - parts[1].count), 2 * 288 + 2)
        var rng = RandomStream(seed: 15)
        let p0 = values(n, &rng), g0 = values(n, &rng)
        var results: [[Float]] = []
        for split in [false, true] {
            let o = optimizer()
            var p = p0, g = g0
            o.advance()
            for part in split ? parts : [0..<n] { o.apply(&p, &g, plus: nil, part: part, lr: 1e-3) }
            results.append(p)
        }
        XCTAssertEqual(differing(results[0], results[1]), 0)
    }
}
