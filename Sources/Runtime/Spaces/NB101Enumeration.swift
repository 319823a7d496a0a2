import Dispatch

// Enumeration of the whole NAS-Bench-101 space, as the official generate_graphs.py does:
// for every vertex count, every upper-triangular matrix that is a "full DAG" (every vertex
// but the output has an out-edge, every vertex but the input an in-edge; such a cell needs
// no pruning) with at most 9 edges, and every labelling of its interior vertices; keep one
// cell per module hash.
//
// Hashing every labelled graph (about 5.6 million) would cost minutes, so isomorphic
// duplicates are first removed with an exact canonical code: the minimum, over all
// relabellings of interior vertices that respect a vertex invariant, of the permuted
// adjacency and labels. Only the survivors are hashed, in parallel, and a final pass keeps
// one cell per hash — the official criterion — so a hash collision could never inflate
// the count.

/// The whole NAS-Bench-101 space: cells sorted by module hash.
public struct NB101Catalog: Sendable {
    public let cells: [NB101Cell]
    public let hashes: [Digest128]

    /// Counts by vertex count, index 0 ... 7.
    var countsByVertices: [Int] {
        var c = [Int](repeating: 0, count: 8)
        for cell in cells { c[cell.vertices] += 1 }
        return c
    }

    /// Index of a hash, by binary search.
    public func index(of hash: Digest128) -> Int? { sortedIndex(of: hash, in: hashes) }
}

enum NB101Enumeration {
    /// Every distinct cell of the space (423,624), sorted by hash.
    public static func enumerate(threads: Int = defaultThreads) -> NB101Catalog {
        let cells = distinctCells()
        let hashes = hashAll(cells, threads: threads)
        var order = Array(cells.indices)
        order.sort { hashes[$0] < hashes[$1] }
        var outCells: [NB101Cell] = []
        var outHashes: [Digest128] = []
        outCells.reserveCapacity(cells.count)
        outHashes.reserveCapacity(cells.count)
        for i in order where outHashes.last != hashes[i] {
            outCells.append(cells[i])
            outHashes.append(hashes[i])
        }
        return NB101Catalog(cells: outCells, hashes: outHashes)
    }

    /// Official hashes of `cells`, computed on `threads` threads.
    static func hashAll(_ cells: [NB101Cell], threads: Int) -> [Digest128] {
        var hashes = [Digest128](repeating: Digest128(hi: 0, lo: 0), count: cells.count)
        let chunks = max(1, threads) * 16
        hashes.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            let box = UncheckedSendable(base)
            cells.withUnsafeBufferPointer { src in
                let srcBox = UncheckedSendable(src)
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    let lo = cells.count * chunk / chunks, hi = cells.count * (chunk + 1) / chunks
                    for i in lo..<hi { box.value[i] = NB101Hash.hash(srcBox.value[i]) }
                }
            }
        }
        return hashes
    }

    /// One cell per isomorphism class, in enumeration order (vertex count, matrix bits,
    /// labelling), each as first met.
    static func distinctCells() -> [NB101Cell] {
        var seen = Set<UInt64>()
        seen.reserveCapacity(600_000)
        var cells: [NB101Cell] = []
        cells.reserveCapacity(430_000)
        for n in 2...NB101Cell.maxVertices {
            var pairs: [(Int, Int)] = []
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { pairs.append((i, j)) } }
            let interiorCount = n - 2
            var labelings = 1
            for _ in 0..<interiorCount { labelings *= 3 }
            for bits in 0..<(1 << pairs.count) {
                if bits.nonzeroBitCount > NB101Cell.maxEdges { continue }
                var adj: UInt64 = 0
                var hasOut: UInt8 = 0, hasIn: UInt8 = 0
                for (k, (i, j)) in pairs.enumerated() where bits & (1 << k) != 0 {
                    adj |= 1 << UInt64(i * 7 + j)
                    hasOut |= 1 << UInt8(i)
                    hasIn |= 1 << UInt8(j)
                }
                let needOut = UInt8((1 << (n - 1)) - 1), needIn = UInt8(((1 << n) - 1) & ~1)
                if hasOut & needOut != needOut || hasIn & needIn != needIn { continue }
                var inDeg = [Int](repeating: 0, count: 7), outDeg = [Int](repeating: 0, count: 7)
                for (i, j) in pairs where adj & (1 << UInt64(i * 7 + j)) != 0 { outDeg[i] += 1; inDeg[j] += 1 }
                for labeling in 0..<labelings {
                    var interior: UInt16 = 0
                    var rest = labeling
                    for v in 0..<interiorCount {
                        interior |= UInt16(rest % 3) << UInt16(2 * v)
                        rest /= 3
                    }
                    let cell = NB101Cell(uncheckedVertices: n, adjacency: adj, interior: interior)
                    let code = canonicalCode(cell, inDeg: inDeg, outDeg: outDeg)
                    if seen.insert(code).inserted { cells.append(cell) }
                }
            }
        }
        return cells
    }

    /// An exact canonical code of a labelled cell under relabelling of interior vertices.
    static func canonicalCode(_ cell: NB101Cell, inDeg: [Int], outDeg: [Int]) -> UInt64 {
        let n = cell.vertices
        let m = n - 2
        // Interior vertices sorted by invariant (label, in-degree, out-degree).
        var inv = [Int](repeating: 0, count: 7)
        var order: [Int] = []
        for v in 1..<(n - 1) {
            inv[v] = cell.label(v) * 64 + inDeg[v] * 8 + outDeg[v]
            order.append(v)
        }
        order.sort { inv[$0] < inv[$1] }
        var labelBits: UInt64 = 0
        for (k, v) in order.enumerated() { labelBits |= UInt64(cell.label(v)) << UInt64(2 * k) }
        var edges: [(Int, Int)] = []
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) where cell.edge(i, j) { edges.append((i, j)) } }
        // pos[v]: new index of v. Permute within runs of equal invariant.
        var pos = [Int](repeating: 0, count: 7)
        pos[0] = 0
        pos[n - 1] = n - 1
        var best = UInt64.max
        var slots = order  // vertex placed at new index k+1
        func evaluate() {
            for (k, v) in slots.enumerated() { pos[v] = k + 1 }
            var a: UInt64 = 0
            for (i, j) in edges { a |= 1 << UInt64(pos[i] * 7 + pos[j]) }
            let code = a | labelBits << 49 | UInt64(n) << 59
            if code < best { best = code }
        }
        // Run boundaries.
        var runs: [(Int, Int)] = []
        var s = 0
        while s < m {
            var e = s + 1
            while e < m && inv[order[e]] == inv[order[s]] { e += 1 }
            runs.append((s, e))
            s = e
        }
        func permuteRun(_ r: Int) {
            if r == runs.count { evaluate(); return }
            let (lo, hi) = runs[r]
            if hi - lo == 1 { permuteRun(r + 1); return }
            heap(lo, hi, hi - lo, r)
        }
        // Heap's algorithm over slots[lo..<hi].
        func heap(_ lo: Int, _ hi: Int, _ k: Int, _ r: Int) {
            if k == 1 { permuteRun(r + 1); return }
            for i in 0..<(k - 1) {
                heap(lo, hi, k - 1, r)
                if k % 2 == 0 { slots.swapAt(lo + i, lo + k - 1) } else { slots.swapAt(lo, lo + k - 1) }
            }
            heap(lo, hi, k - 1, r)
        }
        permuteRun(0)
        return best
    }
}
