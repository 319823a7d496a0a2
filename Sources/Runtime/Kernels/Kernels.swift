import CKernels
// Kernels: free functions over flat float32 buffers, forward beside backward, shapes in
// comments. Dense products go through `BLAS.sgemm` (Kernels/BLAS.swift); everything here is
// the small glue around them. Loops are written so the compiler vectorises them.

/// Row-normalised adjacency with self-loops on the real vertices, for the forward graph and
/// its transpose (the bidirectional GCN's two directions): af[i, j] = 1/|{j : edge i → j, or
/// j = i < n}| for each such j, else 0; ab the same over predecessors. Counts are exact
/// floats, so this is also what summing the row and dividing gives (the tests compare).
/// In C (npsh_normalized_adjacency): a scalar Swift loop with its overflow checks took about
/// a twentieth of a whole-space prediction.
///
///   adj: (B, V, V) 0/1     counts: (B)     af, ab: (B, V, V)     V ≤ 64
func normalizedAdjacency(
    _ adj: UnsafePointer<Float>, _ counts: UnsafePointer<Int32>, batch B: Int, vertices V: Int,
    forward af: UnsafeMutablePointer<Float>, backward ab: UnsafeMutablePointer<Float>
) {
    precondition(V <= 64)
    npsh_normalized_adjacency(adj, counts, B, V, af, ab)
}

/// `normalizedAdjacency` from edge rows (bit c of edges[b·V + i] for an edge i → c, the rows
/// of vertices past counts[b] zero): the last pass of a whole-space prediction, which needs
/// no op rows, builds these without filling dense matrices.
func normalizedAdjacency(
    edges: UnsafePointer<UInt64>, _ counts: UnsafePointer<Int32>, batch B: Int, vertices V: Int,
    forward af: UnsafeMutablePointer<Float>, backward ab: UnsafeMutablePointer<Float>
) {
    precondition(V <= 64)
    npsh_normalized_adjacency_edges(edges, counts, B, V, af, ab)
}

/// Column sums into a bias gradient: db (cols) += Σ_rows dz (rows, stride ld).
@inline(__always)
func accumulateBiasGradient(_ dz: UnsafePointer<Float>, ld: Int, rows: Int, _ db: UnsafeMutablePointer<Float>, cols: Int) {
    for r in 0..<rows {
        let z = dz + r * ld
        for c in 0..<cols { db[c] += z[c] }
    }
}

/// In-place ReLU; backward masks by the stored output.
@inline(__always)
func reluInPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { x[i] = max(x[i], 0) }
}

@inline(__always)
func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n where y[i] <= 0 { dy[i] = 0 }
}

/// Inverted dropout: x *= mask, where mask is 0 or 1/(1-p), drawn from `rng`.
func dropoutForward(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count n: Int, rate p: Float, rng: inout RandomStream) {
    let (threshold, keep) = dropoutConstants(p)
    rng.withState { npsh_dropout(x, mask, n, threshold, keep, $0) }
}

/// dropoutForward's draws alone: the masks (the same values, the same stream state after),
/// for a caller that multiplies by them itself (a GCN layer's fused pass).
func dropoutMask(_ mask: UnsafeMutablePointer<Float>, count n: Int, rate p: Float, rng: inout RandomStream) {
    let (threshold, keep) = dropoutConstants(p)
    rng.withState { npsh_dropout_mask(mask, n, threshold, keep, $0) }
}

/// The C dropout's arguments for rate p: the drop threshold (p × 2⁶⁴) and the kept values' scale.
private func dropoutConstants(_ p: Float) -> (threshold: UInt64, keep: Float) {
    (UInt64(Double(p) * 18_446_744_073_709_551_616.0), 1 / (1 - p))
}

/// The scalar form of dropoutForward (npsh_dropout in C), for tests: one 64-bit draw gives
/// four 16-bit uniforms; p is compared at 16-bit resolution. The masks are drawn first, then
/// x is multiplied by them.
func dropoutReference(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count n: Int, rate p: Float, rng: inout RandomStream) {
    let keep = 1 / (1 - p)
    let threshold = UInt64(Double(p) * 18_446_744_073_709_551_616.0)
    for i in stride(from: 0, to: n, by: 4) {
        let r = rng.next()
        for k in 0..<min(4, n - i) { mask[i + k] = (((r >> (16 * UInt64(k))) & 0xffff) << 48) < threshold ? 0 : keep }
    }
    multiplyInPlace(x, by: mask, count: n)
}

@inline(__always)
func multiplyInPlace(_ x: UnsafeMutablePointer<Float>, by m: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n { x[i] *= m[i] }
}

/// Mean over each graph's real vertices.
///
///   h: (B, V, D)   counts: (B)   g: (B, D)
func meanPool(_ h: UnsafePointer<Float>, counts: UnsafePointer<Int32>, _ g: UnsafeMutablePointer<Float>, batch B: Int, vertices V: Int, dim D: Int) {
    for b in 0..<B {
        let n = Int(counts[b])
        let o = g + b * D
        for d in 0..<D { o[d] = 0 }
        for v in 0..<n {
            let hr = h + (b * V + v) * D
            for d in 0..<D { o[d] += hr[d] }
        }
        let inv = n > 0 ? 1 / Float(n) : 0
        for d in 0..<D { o[d] *= inv }
    }
}

/// Backward of `meanPool`: dh[b, v] = dg[b] / n_b for real vertices, 0 for padding.
func meanPoolBackward(_ dg: UnsafePointer<Float>, counts: UnsafePointer<Int32>, _ dh: UnsafeMutablePointer<Float>, batch B: Int, vertices V: Int, dim D: Int) {
    for b in 0..<B {
        let n = Int(counts[b])
        let inv = n > 0 ? 1 / Float(n) : 0
        for v in 0..<V {
            let o = dh + (b * V + v) * D
            let g = dg + b * D
            if v < n { for d in 0..<D { o[d] = g[d] * inv } } else { o.update(repeating: 0, count: D) }
        }
    }
}

@inline(__always) public func sigmoid(_ z: Float) -> Float { z >= 0 ? 1 / (1 + expf32(-z)) : expf32(z) / (1 + expf32(z)) }

#if canImport(Glibc)
import Glibc
@inline(__always) func expf32(_ x: Float) -> Float { Glibc.expf(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func expf32(_ x: Float) -> Float { Darwin.expf(x) }
#endif

/// Finds identical rows of a matrix, so a product with them can be computed once per
/// distinct row. Inference uses it before the GCN's dense products: a vertex's
/// representation after one layer depends only on its op and its neighbours' ops, so a
/// batch of 1,024 cells holds few distinct rows, and the product of those is exact.
final class RowDeduplicator {
    private var slots: [Int32] = []
    /// For each row, the index of its distinct row.
    public private(set) var map: [Int32] = []

    public init() {}

    /// Copies the distinct rows of x (rows × width), in order of first occurrence, into
    /// `unique` and returns how many there are. Rows are equal when their bits are.
    public func run(_ x: UnsafePointer<Float>, rows: Int, width: Int, unique: UnsafeMutablePointer<Float>) -> Int {
        var size = 1
        while size < 2 * rows { size <<= 1 }
        if slots.count != size { slots = [Int32](repeating: -1, count: size) } else { slots.withUnsafeMutableBufferPointer { $0.update(repeating: -1) } }
        if map.count < rows { map = [Int32](repeating: 0, count: rows) }
        var count = 0
        x.withMemoryRebound(to: UInt32.self, capacity: rows * width) { bits in
            unique.withMemoryRebound(to: UInt32.self, capacity: rows * width) { ubits in
                slots.withUnsafeMutableBufferPointer { table in
                    map.withUnsafeMutableBufferPointer { m in
                        for r in 0..<rows {
                            let row = bits + r * width
                            // Four interleaved FNV-1a lanes (independent multiplies), folded.
                            var h0: UInt64 = 0xcbf2_9ce4_8422_2325, h1 = h0 &+ 1, h2 = h0 &+ 2, h3 = h0 &+ 3
                            let prime: UInt64 = 0x0000_0100_0000_01b3
                            var k = 0
                            while k &+ 4 <= width {
                                h0 = (h0 ^ UInt64(row[k])) &* prime
                                h1 = (h1 ^ UInt64(row[k &+ 1])) &* prime
                                h2 = (h2 ^ UInt64(row[k &+ 2])) &* prime
                                h3 = (h3 ^ UInt64(row[k &+ 3])) &* prime
                                k &+= 4
                            }
                            while k < width { h0 = (h0 ^ UInt64(row[k])) &* prime; k &+= 1 }
                            var h = ((h0 ^ (h1 &* 31)) &* prime ^ (h2 &* 131)) &* prime ^ (h3 &* 1031)
                            h = h &* 0x9e37_79b9_7f4a_7c15
                            var s = Int(truncatingIfNeeded: h ^ (h >> 29)) & (size - 1)
                            while true {
                                let u = Int(table[s])
                                if u < 0 {
                                    table[s] = Int32(count)
                                    (ubits + count * width).update(from: row, count: width)
                                    m[r] = Int32(count)
                                    count += 1
                                    break
                                }
                                let candidate = ubits + u * width
                                var same = true
                                for k in 0..<width where candidate[k] != row[k] { same = false; break }
                                if same { m[r] = Int32(u); break }
                                s = (s + 1) & (size - 1)
                            }
                        }
                    }
                }
            }
        }
        return count
    }
}

/// y (rows, out) = x (rows, in) · W (in, out) + b
@inline(__always)
func dense(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, outDim: Int, _ y: UnsafeMutablePointer<Float>) {
    for r in 0..<rows { (y + r * outDim).update(from: b, count: outDim) }
    BLAS.sgemm(transA: false, transB: false, m: rows, n: outDim, k: inDim, alpha: 1, a: x, lda: inDim, b: w, ldb: outDim, beta: 1, c: y, ldc: outDim)
}

/// dW += xᵀ·dy, db += Σ dy, dx = dy·Wᵀ.
@inline(__always)
func denseBackward(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, _ w: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                   _ db: UnsafeMutablePointer<Float>, outDim: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
    BLAS.sgemm(transA: true, transB: false, m: inDim, n: outDim, k: rows, alpha: 1, a: x, lda: inDim, b: dy, ldb: outDim, beta: 1, c: dw, ldc: outDim)
    accumulateBiasGradient(dy, ld: outDim, rows: rows, db, cols: outDim)
    if let dx {
        BLAS.sgemm(transA: false, transB: true, m: rows, n: inDim, k: outDim, alpha: 1, a: dy, lda: outDim, b: w, ldb: outDim, beta: 0, c: dx, ldc: inDim)
    }
}

/// 1-D im2col with kernel 3 and zero padding 1: x (B, L, C) → cols (B·L, 3·C).
func im2col(_ x: UnsafePointer<Float>, batch B: Int, length L: Int, channels C: Int, _ cols: UnsafeMutablePointer<Float>) {
    for b in 0..<B {
        for t in 0..<L {
            let o = cols + (b * L + t) * 3 * C
            for k in 0..<3 {
                let s = t + k - 1
                if s < 0 || s >= L { for c in 0..<C { o[k * C + c] = 0 } } else {
                    let src = x + (b * L + s) * C
                    for c in 0..<C { o[k * C + c] = src[c] }
                }
            }
        }
    }
}

/// Adjoint of `im2col`: dx (B, L, C) = Σ over the windows that read each position.
func col2im(_ cols: UnsafePointer<Float>, batch B: Int, length L: Int, channels C: Int, _ dx: UnsafeMutablePointer<Float>) {
    dx.update(repeating: 0, count: B * L * C)
    for b in 0..<B {
        for t in 0..<L {
            let o = cols + (b * L + t) * 3 * C
            for k in 0..<3 {
                let s = t + k - 1
                if s < 0 || s >= L { continue }
                let d = dx + (b * L + s) * C
                for c in 0..<C { d[c] += o[k * C + c] }
            }
        }
    }
}
