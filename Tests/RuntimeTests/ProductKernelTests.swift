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

    func testProductsMatchTheScalarDefinitionForEveryShape() {
        var rng = RandomStream(seed: 11, path: ["gemm"])
        for (m, n, k) in [(1, 1, 1), (35, 288, 144), (35, 288, 5), (144, 288, 35), (35, 144, 288), (9, 17, 3), (13, 40, 7), (8, 33, 64),
                          (17, 15, 2), (70, 96, 48)] {
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
}
