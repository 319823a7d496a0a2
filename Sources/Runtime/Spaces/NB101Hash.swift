// The official NAS-Bench-101 module hash (nasbench/lib/graph_util.py `hash_module`):
//
//   hashes[v] = md5(str((out_degree, in_degree, label)))
//   repeat `vertices` times:
//     hashes[v] = md5(''.join(sorted(in-neighbour hashes)) + '|' +
//                     ''.join(sorted(out-neighbour hashes)) + '|' + hashes[v])
//   fingerprint = md5(str(sorted(hashes)))      # Python list repr: "['…', '…']"
//
// Hashes are 32-character lower-case hex strings; sorting them as strings equals sorting
// the digests as big-endian words, which is what `Digest128` compares.

enum NB101Hash {
    /// The official hash of a (pruned) cell.
    public static func hash(_ cell: NB101Cell) -> Digest128 {
        let n = cell.vertices
        return withUnsafeTemporaryAllocation(of: Digest128.self, capacity: 14) { h in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buf in
                let cur = h.baseAddress!, next = h.baseAddress! + 7
                let p = buf.baseAddress!
                // Initial: str((out, in, label)).
                for v in 0..<n {
                    var outDeg = 0, inDeg = 0
                    for w in 0..<n {
                        if cell.edge(v, w) { outDeg += 1 }
                        if cell.edge(w, v) { inDeg += 1 }
                    }
                    var len = 0
                    p[len] = 40; len += 1  // (
                    len += writeInt(outDeg, p + len)
                    p[len] = 44; p[len + 1] = 32; len += 2  // ", "
                    len += writeInt(inDeg, p + len)
                    p[len] = 44; p[len + 1] = 32; len += 2
                    len += writeInt(cell.label(v), p + len)
                    p[len] = 41; len += 1  // )
                    cur[v] = MD5.digest(p, count: len)
                }
                var src = cur, dst = next
                var neigh = (Digest128(hi: 0, lo: 0), Digest128(hi: 0, lo: 0), Digest128(hi: 0, lo: 0),
                             Digest128(hi: 0, lo: 0), Digest128(hi: 0, lo: 0), Digest128(hi: 0, lo: 0),
                             Digest128(hi: 0, lo: 0))
                withUnsafeMutableBytes(of: &neigh) { raw in
                    let nb = raw.bindMemory(to: Digest128.self).baseAddress!
                    for _ in 0..<n {
                        for v in 0..<n {
                            var len = 0
                            // In-neighbours, sorted.
                            var k = 0
                            for w in 0..<n where cell.edge(w, v) { nb[k] = src[w]; k += 1 }
                            sortSmall(nb, k)
                            for i in 0..<k { nb[i].writeHex(into: p + len); len += 32 }
                            p[len] = 124; len += 1  // |
                            k = 0
                            for w in 0..<n where cell.edge(v, w) { nb[k] = src[w]; k += 1 }
                            sortSmall(nb, k)
                            for i in 0..<k { nb[i].writeHex(into: p + len); len += 32 }
                            p[len] = 124; len += 1
                            src[v].writeHex(into: p + len); len += 32
                            dst[v] = MD5.digest(p, count: len)
                        }
                        swap(&src, &dst)
                    }
                    // Fingerprint over the sorted list's Python repr.
                    for v in 0..<n { nb[v] = src[v] }
                    sortSmall(nb, n)
                    var len = 0
                    p[len] = 91; len += 1  // [
                    for v in 0..<n {
                        if v > 0 { p[len] = 44; p[len + 1] = 32; len += 2 }
                        p[len] = 39; len += 1  // '
                        nb[v].writeHex(into: p + len); len += 32
                        p[len] = 39; len += 1
                    }
                    p[len] = 93; len += 1  // ]
                    src[0] = MD5.digest(p, count: len)
                }
                return src[0]
            }
        }
    }

    /// Writes a small signed integer in decimal; returns the number of bytes.
    @inline(__always)
    private static func writeInt(_ value: Int, _ p: UnsafeMutablePointer<UInt8>) -> Int {
        var len = 0
        var v = value
        if v < 0 { p[0] = 45; len = 1; v = -v }
        if v >= 10 { p[len] = UInt8(48 + v / 10); len += 1 }
        p[len] = UInt8(48 + v % 10)
        return len + 1
    }

    /// Insertion sort of at most 7 digests.
    @inline(__always)
    private static func sortSmall(_ a: UnsafeMutablePointer<Digest128>, _ n: Int) {
        if n < 2 { return }
        for i in 1..<n {
            let x = a[i]
            var j = i - 1
            while j >= 0 && x < a[j] { a[j + 1] = a[j]; j -= 1 }
            a[j + 1] = x
        }
    }
}
