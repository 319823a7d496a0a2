import CKernels

// Structured inference for the GCN over many architectures (a whole search space): each
// layer's product is taken once per distinct row of its input across all the cells, not
// once per row of a batch.
//
// A vertex's row after layer l is a function of its neighbourhood: after layer 1, of its
// op and its neighbours' ops with the normalised adjacency's weights; after layer 2, of
// those weights and its neighbours' layer-1 rows; and so on. So rows get ids level by
// level from keys of small integers — level 0: the op row's bits; level l: the forward and
// backward (weight bits, level l−1 id of the neighbour) pairs in vertex order — without
// looking at a float of the layer's output. Equal keys mean equal rows: each distinct row
// is computed once from its key (the arithmetic of the batched kernel, in the same order)
// and multiplied once. The last layer's rows that two or more vertices share go to a table;
// a row only one vertex has is multiplied in that vertex's batch of the last pass, which
// propagates every cell's vertices from both, pooling as it goes, and runs the head.
//
// Over NAS-Bench-101's 423,624 cells, 4,382 distinct keys enter layer 2 and 1,051,650
// layer 3 (35 % of 2,965,368 vertex rows; 335,953 of them shared): 120 GFLOP in all, where
// per-batch distinct rows took 314. The last level's distinct rows are capped at
// `tableBytes` worth of products (NAS-Bench-101's whole space fits at D = 144); past it the
// cells are taken in consecutive chunks, each with its own tables. Everything is fixed by
// the cells and the shape — the chunks, the ids (first appearance), the row blocks of each
// product, the batches of the last pass — so the bits are the same for any thread count.
// They may differ from a batch's forward in the last bits of some outputs (a few ulps;
// tested).
enum StructuredInference {
    /// The most last-level distinct rows a chunk may have, as bytes of their products
    /// (1.25 GiB: NAS-Bench-101's 1,051,650 at D = 144 take 1.21 GB; the table itself holds
    /// only the shared ones).
    static let tableBytes = 5 << 28
    /// Fewer cells than this go through the batched forward instead.
    static let minimumCells = 4096
    /// Rows per block of a table's product, and cells per batch of the last pass (256: a
    /// batch's own rows, about 435 at D = 144, and their products, 0.5 MB, stay in a core's L2
    /// until the batch's propagation reads them; with 1,024 they did not, and two-thread
    /// predictions took about a tenth longer). Each row's product and each cell's pass are
    /// their own arithmetic, so the batch size does not change a bit.
    static let rowBlock = 4096, cellBatch = 256

    /// The raw outputs z of `shape`'s GCN with `params` for `cells[indices]`.
    static func outputs<T: GraphWritable & Sendable>(shape: NetworkShape, params: [Float], cells: [T], indices: [Int],
                                                    threads: Int, tableBytes: Int = tableBytes) -> [Float] {
        precondition(shape.kind == .gcn)
        let n = indices.count, V = shape.vertices, D = shape.dim
        // At most 2²⁴ rows a chunk whatever D: ids and key offsets stay far inside 32 bits.
        let maxRows = min(max(tableBytes / (2 * D * 4), 256 * V), 1 << 24)
        // At least an eighth of the cells: the analysis of all of them, kept for the next call
        // (it does not depend on the weights: a search predicts the same space run after run,
        // a two-stage search the accepted part of it too). Fewer: the analysis of these alone.
        // The choice depends on the counts only, never on what an earlier call left, so a
        // prediction's bits do not depend on the session's history.
        let whole = 8 * n >= cells.count
        let chunks = whole
            ? StructureCache.shared.analysis(of: cells, shape: shape, maxRows: maxRows) {
                analyse(cells, Array(cells.indices), shape: shape, maxRows: maxRows)
            }
            : analyse(cells, indices, shape: shape, maxRows: maxRows)
        var z = [Float](repeating: 0, count: n)
        for chunk in chunks {
            // The requested cells in this chunk: where each result goes, its cell, its row of ids.
            var positions: [Int] = [], members: [Int] = [], rows: [Int] = []
            if whole {
                for (k, c) in indices.enumerated() where chunk.range.contains(c) {
                    positions.append(k); members.append(c); rows.append(c - chunk.range.lowerBound)
                }
            } else {
                positions = Array(chunk.range)
                members = Array(indices[chunk.range])
                rows = chunk.range.map { $0 - chunk.range.lowerBound }
            }
            if members.isEmpty { continue }
            let tables = chunk.keys.products(params: params, threads: threads)
            let part = lastPass(shape: shape, params: params, cells: cells, members: members, rows: rows, keys: chunk.keys,
                                tables: tables, threads: threads)
            for (k, v) in part.enumerated() { z[positions[k]] = v }
        }
        return z
    }

    /// One run of analysed cells (positions in the analysed list) and their ids.
    struct Chunk: @unchecked Sendable {
        let range: Range<Int>
        let keys: KeyedLevels
    }

    /// The ids of `cells[list]`'s rows, in consecutive chunks whose last-level tables stay
    /// within `maxRows` rows.
    static func analyse<T: GraphWritable>(_ cells: [T], _ list: [Int], shape: NetworkShape, maxRows: Int) -> [Chunk] {
        var chunks: [Chunk] = [], start = 0
        while start < list.count {
            let keys = KeyedLevels(shape: shape)
            let end = keys.scan(cells, list, from: start, maxLastRows: maxRows)
            chunks.append(Chunk(range: start..<end, keys: keys))
            start = end
        }
        return chunks
    }

    /// The last GCN layer, pooled, then the head, for cells[members[k]] whose rows are row
    /// rows[k] of the analysis's lastIDs, over fixed batches of `cellBatch` cells dealt to
    /// the threads: each batch multiplies the rows only its own vertices have, then
    /// propagates every vertex from those and from the table of shared rows.
    static func lastPass<T: GraphWritable & Sendable>(shape: NetworkShape, params: [Float], cells: [T], members: [Int], rows: [Int],
                                                     keys: KeyedLevels, tables: KeyedLevels.Tables, threads: Int) -> [Float] {
        let n = members.count, V = shape.vertices, D = shape.dim, L = shape.layers
        let din = L == 1 ? shape.opKinds : D
        let batches = (n + cellBatch - 1) / cellBatch
        let workers = max(1, min(threads, batches))
        let context = UncheckedSendable((keys, tables))
        let parts: [[(Int, [Float])]] = parallelChunks(workers) { w in
            let (keys, tables) = context.value
            let capacity = min(cellBatch, n)
            // The head's buffers for the batch; the body's only for one graph (its weights'
            // offsets), the propagation reading the tables.
            let net = Network(shape: shape, capacity: capacity, bodyCapacity: 1)
            let body = net.body as! GCNBody
            let af = FloatBuffer(capacity * V * V), ab = FloatBuffer(capacity * V * V)
            let pointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: capacity * V)
            let own = UnsafeMutablePointer<Int32>.allocate(capacity: capacity * V)
            defer { pointers.deallocate(); own.deallocate() }
            let h = FloatBuffer(capacity * V * din), product = FloatBuffer(capacity * V * 2 * D)
            // Each batch's edge rows and vertex counts (its op rows are not needed: the ids say
            // which product row each vertex reads).
            let edges = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * V)
            let counts = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
            defer { edges.deallocate(); counts.deallocate() }
            let scratch = FloatBuffer(2 * D)
            let table = UnsafePointer(tables.shared.pointer), ownRows = UnsafePointer(product.pointer)
            var out: [(Int, [Float])] = []
            params.withUnsafeBufferPointer { p in
                keys.lastIDs.withUnsafeBufferPointer { ids in
                    for k in stride(from: w, to: batches, by: workers) {
                        let lo = k * cellBatch, hi = min(n, lo + cellBatch), B = hi - lo
                        for b in 0..<B { counts[b] = Int32(cells[members[lo + b]].writeEdges(edges + b * V, vertices: V)) }
                        var u = 0
                        for b in 0..<B {
                            let row = ids.baseAddress! + rows[lo + b] * V
                            for j in 0..<V {
                                let v = row[j]
                                if v >= 0 {
                                    pointers[b * V + j] = table + Int(v) * 2 * D
                                } else {
                                    own[u] = -v - 1
                                    pointers[b * V + j] = ownRows + u * 2 * D
                                    u += 1
                                }
                            }
                        }
                        keys.multiply(level: L - 1, which: own, 0, u, below: tables.below.map { UnsafePointer($0.pointer) },
                                      params: p.baseAddress!, weights: body.weights, biases: body.biases, h: h.pointer, s: scratch.pointer,
                                      out: product.pointer)
                        normalizedAdjacency(edges: edges, counts, batch: B, vertices: V, forward: af.pointer, backward: ab.pointer)
                        npsh_bidirectional_layer_pooled_rows(af.pointer, ab.pointer, pointers, p.baseAddress! + body.biases[L - 1], B, V, D,
                                                             net.pooled.pointer, counts, scratch.pointer)
                        let zs = net.head(p.baseAddress!, rows: B)
                        out.append((k, Array(UnsafeBufferPointer(start: zs, count: B))))
                    }
                }
            }
            return out
        }
        var z = [Float](repeating: 0, count: n)
        for part in parts { for (k, values) in part { for (j, v) in values.enumerated() { z[k * cellBatch + j] = v } } }
        return z
    }
}

/// The analysis of the last whole space predicted — its cells (a copy, compared element by
/// element with the next call's when they are Equatable, as every space's are; by storage
/// otherwise) and the shape's vertices, op kinds, layers and table cap — for the calls
/// after it; computed once when two threads ask at once. With a `directory` (the program's
/// cache folder), analyses are also kept on disk, one file per space's graphs and shape,
/// so that the next session's first prediction reads it instead of analysing again.
final class StructureCache: @unchecked Sendable {
    static let shared = StructureCache()
    private let lock = Mutex()
    private var cells: Any?
    private var identity: (base: UnsafeRawPointer?, count: Int, vertices: Int, opKinds: Int, layers: Int, maxRows: Int)?
    private var chunks: [StructuredInference.Chunk] = []
    private var folder: String?
    /// How the last analysis was had: "computed", "read" (from disk) or "kept" (in memory).
    private(set) var lastSource = ""

    /// The folder for analyses on disk (nil: memory only).
    var directory: String? {
        get { lock.sync { folder } }
        set { lock.sync { folder = newValue } }
    }

    /// Whether the kept analysis is of these cells for this shape (call with the lock held).
    private func matches<T>(_ cells: [T], shape: NetworkShape, maxRows: Int) -> Bool {
        let base = cells.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        guard let id = identity, let kept = self.cells as? [T], id.count == cells.count, id.vertices == shape.vertices,
              id.opKinds == shape.opKinds, id.layers == shape.layers, id.maxRows == maxRows else { return false }
        return id.base == base || StructureCache.equal(kept, cells)
    }

    func analysis<T: GraphWritable & Sendable>(of cells: [T], shape: NetworkShape, maxRows: Int,
                                    compute: () -> [StructuredInference.Chunk]) -> [StructuredInference.Chunk] {
        let base = cells.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        return lock.sync {
            if matches(cells, shape: shape, maxRows: maxRows) {
                lastSource = "kept"
                return chunks
            }
            // Release the old analysis before making the new one.
            self.cells = nil
            chunks = []
            identity = nil
            var fresh: [StructuredInference.Chunk]
            if let folder {
                let file = "\(folder)/" + StructureFile.name(cells, shape: shape, maxRows: maxRows)
                if let read = StructureFile.read(file, shape: shape, cells: cells.count, maxRows: maxRows) {
                    fresh = read
                    lastSource = "read"
                } else {
                    fresh = compute()
                    lastSource = "computed"
                    try? makeDirectory(folder)
                    try? StructureFile.write(fresh, shape: shape, cells: cells.count, maxRows: maxRows, to: file)
                    StructureFile.removeOlderVersions(in: folder)
                }
            } else {
                fresh = compute()
                lastSource = "computed"
            }
            self.cells = cells
            identity = (base, cells.count, shape.vertices, shape.opKinds, shape.layers, maxRows)
            chunks = fresh
            return fresh
        }
    }

    /// Whether two arrays are equal element by element (false when T is not Equatable).
    private static func equal<T>(_ a: [T], _ b: [T]) -> Bool {
        let boxed: Any = a
        guard let a = boxed as? any Equatable else { return false }
        return a.isEqual(to: b)
    }

    /// The distinct rows of each level (the rows each layer's product takes) summed over the
    /// kept analysis's chunks, and the cells it covers (the benchmark).
    func keptLevelRows() -> (rows: [Int], cells: Int)? {
        lock.sync {
            guard let id = identity, let first = chunks.first else { return nil }
            var rows = [Int](repeating: 0, count: first.keys.levels.count)
            for c in chunks { for (l, level) in c.keys.levels.enumerated() { rows[l] += level.count } }
            return (rows, id.count)
        }
    }

    /// The last level's shared rows (the table's) summed over the kept analysis's chunks.
    func keptSharedRows() -> Int? {
        lock.sync { identity == nil ? nil : chunks.map(\.keys.sharedIDs.count).reduce(0, +) }
    }

    /// Whether an analysis of `count` cells is kept (tests).
    func holds(count: Int) -> Bool { lock.sync { identity?.count == count } }

    /// Forgets the kept analysis (tests).
    func clear() { lock.sync { cells = nil; chunks = []; identity = nil } }
}

extension Predictor {
    /// The folder where whole-space analyses of structured inference are kept between
    /// sessions (nil, the default: kept in memory only). The program sets its cache folder.
    public static var analysisDirectory: String? {
        get { StructureCache.shared.directory }
        set { StructureCache.shared.directory = newValue }
    }
}

/// An analysis on disk: "NPSHSTRC", then 64-bit little-endian words — the format version,
/// vertices, op kinds, layers, table cap, cells, chunks; per chunk its range, per level the
/// key count, arena words, offsets (count + 1) and arena, then the shared ids and the cells'
/// last-level rows (32-bit, each list padded to 8 bytes) — and last the CRC-32C of all that.
/// The name carries a 128-bit digest of the cells' graphs (ops, adjacency, vertex counts),
/// so a file is only ever read for the graphs it was made from; one that fails any check
/// (size, header, CRC) is not used (and is rewritten).
enum StructureFile {
    /// 2: the name's digest from eight chains per half of the cells (version 1's, two serial
    /// chains, took 0.12–0.15 s for NAS-Bench-101 where this takes 0.04–0.06 s).
    static let version: UInt64 = 2
    static let magic = Array("NPSHSTRC".utf8)

    /// The file's name: the digest of the graphs and the shape's parts the analysis depends on.
    /// The cells go in two fixed halves (whole blocks of 1,024, one per thread); each half's
    /// words — each block's vertex counts, op rows and adjacency, as their bits — go to eight
    /// independent chains (npsh_digest_words), and the sixteen are folded into 128 bits. The
    /// split does not depend on the thread count, so neither does the name.
    static func name<T: GraphWritable & Sendable>(_ cells: [T], shape: NetworkShape, maxRows: Int) -> String {
        let V = shape.vertices, F = shape.opKinds, block = 1024
        let blocks = (cells.count + block - 1) / block, middle = (blocks + 1) / 2 * block
        let halves: [[UInt64]] = parallelChunks(2) { h in
            let batch = InputBatch(capacity: block, vertices: V, opKinds: F)
            var lanes = (0..<8).map { UInt64(8 * h + $0) &* 0x9E37_79B9_7F4A_7C15 ^ 0x243F_6A88_85A3_08D3 }
            var start = h == 0 ? 0 : min(middle, cells.count)
            let end = h == 0 ? min(middle, cells.count) : cells.count
            lanes.withUnsafeMutableBufferPointer { l in
                while start < end {
                    let m = min(block, end - start)
                    batch.fill(cells, ArraySlice(start..<(start + m)), flat: false)
                    batch.counts.withMemoryRebound(to: UInt32.self, capacity: m) { npsh_digest_words(l.baseAddress!, $0, m) }
                    batch.ops.pointer.withMemoryRebound(to: UInt32.self, capacity: m * V * F) { npsh_digest_words(l.baseAddress!, $0, m * V * F) }
                    batch.adjacency.pointer.withMemoryRebound(to: UInt32.self, capacity: m * V * V) {
                        npsh_digest_words(l.baseAddress!, $0, m * V * V)
                    }
                    start += m
                }
            }
            return lanes
        }
        var a: UInt64 = 0x243F_6A88_85A3_08D3, b: UInt64 = 0x1319_8A2E_0370_7344
        for x in halves[0] + halves[1] {
            a = (a ^ x) &* 0xff51_afd7_ed55_8ccd; a ^= a >> 31
            b = (b &+ x) &* 0xc4ce_b9fe_1a85_ec53; b ^= b >> 29
        }
        func hex(_ x: UInt64) -> String { let h = String(x, radix: 16); return String(repeating: "0", count: 16 - h.count) + h }
        return "structure-v\(version)-\(hex(a))\(hex(b))-n\(cells.count)-L\(shape.layers)-V\(V)-F\(F)-R\(maxRows).bin"
    }

    /// Deletes analyses an earlier version of npsh wrote to `folder` (this version never reads
    /// them; NAS-Bench-101's is 74 MB).
    static func removeOlderVersions(in folder: String) {
        for name in directoryEntries(folder) where name.hasPrefix("structure-v") && name.hasSuffix(".bin") {
            let digits = name.dropFirst("structure-v".count).prefix { $0.isNumber }
            if let v = UInt64(digits), v < version { try? removeTree("\(folder)/\(name)") }
        }
    }

    static func write(_ chunks: [StructuredInference.Chunk], shape: NetworkShape, cells: Int, maxRows: Int, to path: String) throws {
        var bytes: [UInt8] = magic
        func word(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
        func raw<E>(_ p: UnsafePointer<E>, _ n: Int) {
            bytes += UnsafeRawBufferPointer(start: p, count: n * MemoryLayout<E>.stride)
            while bytes.count % 8 != 0 { bytes.append(0) }
        }
        for x in [version, UInt64(shape.vertices), UInt64(shape.opKinds), UInt64(shape.layers), UInt64(maxRows), UInt64(cells),
                  UInt64(chunks.count)] { word(x) }
        for c in chunks {
            word(UInt64(c.range.lowerBound)); word(UInt64(c.range.upperBound))
            for level in c.keys.levels {
                word(UInt64(level.count)); word(UInt64(level.words))
                raw(level.offsets, level.count + 1)
                raw(level.arena, level.words)
            }
            for list in [c.keys.sharedIDs, c.keys.lastIDs] {
                word(UInt64(list.count))
                list.withUnsafeBufferPointer { if let p = $0.baseAddress { raw(p, list.count) } }
            }
        }
        word(UInt64(CRC32C.checksum(bytes)))
        let w = try FileWriter(path: path)
        try bytes.withUnsafeBytes { try w.write($0) }
        try w.close(durable: false)
    }

    /// The analysis in `path`, or nil when there is none or it fails a check.
    static func read(_ path: String, shape: NetworkShape, cells: Int, maxRows: Int) -> [StructuredInference.Chunk]? {
        #if _endian(big)
        return nil
        #else
        guard fileStatus(path) != nil, let file = try? MappedFile(path: path) else { return nil }
        let b = file.bytes
        guard b.count >= 8 * 9, b.count % 8 == 0, Array(b[0..<8]) == magic else { return nil }
        let stored = b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self)
        guard UInt64(CRC32C.checksum(b.baseAddress!, count: b.count - 8)) == stored else { return nil }
        var at = 8
        let end = b.count - 8
        func word() -> Int? {
            guard at + 8 <= end else { return nil }
            let x = b.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            at += 8
            return x <= UInt64(Int.max) ? Int(x) : nil
        }
        /// n elements of E at the cursor (padded to 8 bytes), or nil past the end.
        func span<E>(_ n: Int, _ type: E.Type) -> UnsafePointer<E>? {
            let size = n * MemoryLayout<E>.stride, padded = (size + 7) / 8 * 8
            guard n >= 0, at + padded <= end else { return nil }
            defer { at += padded }
            return (b.baseAddress! + at).assumingMemoryBound(to: E.self)
        }
        guard word() == Int(version), word() == shape.vertices, word() == shape.opKinds, word() == shape.layers, word() == maxRows,
              word() == cells, let count = word(), count >= 1, count <= cells else { return nil }
        var chunks: [StructuredInference.Chunk] = []
        var previous = 0
        for _ in 0..<count {
            guard let lo = word(), let hi = word(), lo == previous, hi > lo, hi <= cells else { return nil }
            previous = hi
            var levels: [KeyInterner] = []
            for _ in 0..<shape.layers {
                guard let keys = word(), let words = word(), let offsets = span(keys + 1, Int64.self), let arena = span(words, UInt64.self),
                      offsets[0] == 0, offsets[keys] == Int64(words) else { return nil }
                for k in 0..<keys where offsets[k] > offsets[k + 1] { return nil }
                levels.append(KeyInterner(arena: arena, words: words, offsets: offsets, count: keys))
            }
            guard let sharedCount = word(), let shared = span(sharedCount, Int32.self), let lastCount = word(),
                  lastCount == (hi - lo) * shape.vertices, let last = span(lastCount, Int32.self) else { return nil }
            let sharedIDs = Array(UnsafeBufferPointer(start: shared, count: sharedCount))
            let lastIDs = Array(UnsafeBufferPointer(start: last, count: lastCount))
            let top = levels[shape.layers - 1].count
            guard sharedIDs.allSatisfy({ $0 >= 0 && Int($0) < top }),
                  lastIDs.allSatisfy({ $0 >= 0 ? Int($0) < max(sharedCount, 1) : Int(-$0 - 1) < top }) else { return nil }
            chunks.append(StructuredInference.Chunk(range: lo..<hi, keys: KeyedLevels(shape: shape, levels: levels, sharedIDs: sharedIDs,
                                                                                      lastIDs: lastIDs)))
        }
        guard previous == cells, at == end else { return nil }
        return chunks
        #endif
    }
}

extension Equatable {
    fileprivate func isEqual(to other: Any) -> Bool { (other as? Self).map { $0 == self } ?? false }
}

/// A table of floats in huge pages (npsh_large_alloc), not cleared: every element is written
/// before it is read.
final class LargeFloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let block: LargeBlocks.Block

    init(_ count: Int) {
        self.count = count
        block = LargeBlocks.shared.take(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        pointer = block.base.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { LargeBlocks.shared.give(block) }
}

/// The blocks behind large tables, kept for reuse: the kernel clears every page a process
/// touches first, and for a search's predictions — a 387 MB table per run — that clearing
/// took a twentieth of the time. Up to `kept` blocks of `minimumBytes` or more wait here
/// (one per thread of a search); others are freed at once.
final class LargeBlocks: @unchecked Sendable {
    struct Block {
        let base: UnsafeMutableRawPointer
        let bytes: Int
    }

    static let shared = LargeBlocks()
    static let minimumBytes = 64 << 20
    let kept = defaultThreads
    private var free: [Block] = []
    private let lock = Mutex()

    /// A block of at least `bytes`: the smallest kept one that is large enough, or a new one.
    func take(bytes: Int) -> Block {
        if bytes >= LargeBlocks.minimumBytes {
            let reused: Block? = lock.sync {
                guard let i = free.indices.filter({ free[$0].bytes >= bytes }).min(by: { free[$0].bytes < free[$1].bytes }) else { return nil }
                return free.remove(at: i)
            }
            if let reused { return reused }
        }
        return Block(base: npsh_large_alloc(bytes), bytes: bytes)
    }

    /// Returns a block: kept when large and there is room (replacing a smaller one), else freed.
    func give(_ block: Block) {
        let freed: [Block] = lock.sync {
            guard block.bytes >= LargeBlocks.minimumBytes else { return [block] }
            free.append(block)
            free.sort { $0.bytes > $1.bytes }
            let extra = Array(free.dropFirst(kept))
            free.removeLast(extra.count)
            return extra
        }
        for b in freed { npsh_large_free(b.base) }
    }

    /// Frees every kept block.
    func clear() {
        let all: [Block] = lock.sync { defer { free = [] }; return free }
        for b in all { npsh_large_free(b.base) }
    }

    /// Bytes held for reuse.
    var keptBytes: Int { lock.sync { free.map(\.bytes).reduce(0, +) } }
}

/// The ids of every level's rows for a run of cells, and the interned keys behind them.
final class KeyedLevels {
    let shape: NetworkShape
    let levels: [KeyInterner]
    /// Each cell's last-level rows, V per cell: s ≥ 0, the row's place in the table of rows
    /// two or more vertices share (`sharedIDs[s]` is its id); −(id + 1) for a row only this
    /// vertex has; 0 for a padding vertex, which no weight reads.
    var lastIDs: [Int32] = []
    /// The last level's ids used by two or more vertices, in id order.
    var sharedIDs: [Int32] = []
    /// During the scan: how many vertices use each last-level id.
    private var uses: [Int32] = []

    init(shape: NetworkShape) {
        self.shape = shape
        levels = (0..<shape.layers).map { _ in KeyInterner() }
    }

    /// An analysis read back (StructureCache's file).
    init(shape: NetworkShape, levels: [KeyInterner], sharedIDs: [Int32], lastIDs: [Int32]) {
        self.shape = shape
        self.levels = levels
        self.sharedIDs = sharedIDs
        self.lastIDs = lastIDs
    }

    /// Gives ids to the vertices of cells[indices[start...]] until the last level would pass
    /// `maxLastRows` distinct rows (checked before each block of 256 cells; the first block
    /// always goes in); returns the end of the run.
    func scan<T: GraphWritable>(_ cells: [T], _ indices: [Int], from start: Int, maxLastRows: Int) -> Int {
        let V = shape.vertices, F = shape.opKinds, L = shape.layers
        let block = 256, width = max(F, 1 + 2 * V)
        let batch = InputBatch(capacity: block, vertices: V, opKinds: F)
        let af = FloatBuffer(block * V * V), ab = FloatBuffer(block * V * V)
        // Per level, each vertex's id in the block (−1: padding); the block's keys, their
        // starts, the interned ids and the vertex each key belongs to.
        let ids = UnsafeMutablePointer<Int32>.allocate(capacity: L * block * V)
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: block * V * width)
        let starts = UnsafeMutablePointer<Int64>.allocate(capacity: block * V + 1)
        let keyIDs = UnsafeMutablePointer<Int32>.allocate(capacity: block * V)
        let owner = UnsafeMutablePointer<Int>.allocate(capacity: block * V)
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: block * V)
        defer { ids.deallocate(); words.deallocate(); starts.deallocate(); keyIDs.deallocate(); owner.deallocate(); hashes.deallocate() }
        var out = [Int32](repeating: 0, count: (indices.count - start) * V)
        var end = start
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            while end < indices.count {
                let m = min(block, indices.count - end)
                if end > start && levels[L - 1].count + m * V > maxLastRows { break }
                batch.fill(cells, indices[end..<(end + m)], flat: false)
                normalizedAdjacency(batch.adjacency.pointer, batch.counts, batch: m, vertices: V, forward: af.pointer, backward: ab.pointer)
                for l in 0..<L {
                    let here = ids + l * block * V, below = ids + (l - 1) * block * V
                    var keys = 0, t = 0
                    starts[0] = 0
                    for b in 0..<m {
                        let count = Int(batch.counts[b])
                        for i in 0..<V {
                            here[b * V + i] = -1
                            guard i < count else { continue }
                            if l == 0 {
                                let x = batch.ops.pointer + (b * V + i) * F
                                for c in 0..<F { words[t + c] = UInt64(x[c].bitPattern) }
                                t += F
                            } else {
                                let f = af.pointer + (b * V + i) * V, r = ab.pointer + (b * V + i) * V, nbr = below + b * V
                                let head = t
                                t += 1
                                var nf: UInt64 = 0, nb: UInt64 = 0
                                for j in 0..<V where f[j] != 0 {
                                    words[t] = UInt64(f[j].bitPattern) << 32 | UInt64(UInt32(bitPattern: nbr[j])); t += 1; nf += 1
                                }
                                for j in 0..<V where r[j] != 0 {
                                    words[t] = UInt64(r[j].bitPattern) << 32 | UInt64(UInt32(bitPattern: nbr[j])); t += 1; nb += 1
                                }
                                words[head] = nf << 32 | nb
                            }
                            owner[keys] = b * V + i
                            keys += 1
                            starts[keys] = Int64(t)
                        }
                    }
                    levels[l].intern(words, starts, keys, ids: keyIDs, hashes: hashes)
                    for q in 0..<keys { here[owner[q]] = keyIDs[q] }
                    if l == L - 1 {
                        while uses.count < levels[l].count { uses.append(0) }
                        for q in 0..<keys { uses[Int(keyIDs[q])] &+= 1 }
                    }
                }
                let top = ids + (L - 1) * block * V, row = o + (end - start) * V
                for q in 0..<(m * V) { row[q] = top[q] }
                end += m
            }
        }
        out.removeLast((indices.count - end) * V)
        // Rows two or more vertices use go to the table; a row one vertex uses is multiplied
        // in that vertex's batch of the last pass (no more work, and a smaller table).
        var shared = [Int32](repeating: -1, count: uses.count)
        for (id, u) in uses.enumerated() where u >= 2 {
            shared[id] = Int32(sharedIDs.count)
            sharedIDs.append(Int32(id))
        }
        uses = []
        for q in out.indices {
            let id = Int(out[q])
            out[q] = id < 0 ? 0 : shared[id] >= 0 ? shared[id] : -Int32(id) - 1
        }
        lastIDs = out
        for level in levels { level.seal() }
        return end
    }

    /// The products a last pass reads: the level below the last's full table (for the rows
    /// a batch multiplies itself; nil for one layer) and the last level's shared rows.
    struct Tables: @unchecked Sendable {
        let below: LargeFloatBuffer?
        let shared: LargeFloatBuffer
    }

    /// Rows `which[lo..<hi]` (or lo..<hi) of level l's input multiplied by layer l's weights
    /// into out (hi − lo rows of 2D): level 0's rows are the op rows themselves, each later
    /// level's come from its keys over `below`, the level before's products. h: (hi − lo)
    /// rows of the layer's input width; s: 2D.
    func multiply(level l: Int, which: UnsafePointer<Int32>?, _ lo: Int, _ hi: Int, below: UnsafePointer<Float>?,
                  params p: UnsafePointer<Float>, weights: [Int], biases: [Int], h: UnsafeMutablePointer<Float>,
                  s: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let D = shape.dim, F = shape.opKinds, din = l == 0 ? F : D
        guard hi > lo else { return }
        let level = levels[l]
        if l == 0 {
            for r in lo..<hi {
                let k = level.key(which.map { Int($0[r]) } ?? r)
                for j in 0..<F { h[(r - lo) * F + j] = Float(bitPattern: UInt32(truncatingIfNeeded: k[j])) }
            }
        } else {
            npsh_gcn_rows_from_keys(level.arena, level.offsets, which, lo, hi, below!, 2 * D, p + biases[l - 1], D, h, s)
        }
        npsh_gemm(hi - lo, 2 * D, din, h, din, 1, p + weights[l], 2 * D, out, 2 * D, 0)
    }

    /// The tables of products, level by level — every distinct row of the levels below the
    /// last, the shared rows of the last — in fixed blocks of `rowBlock` rows dealt to the threads.
    func products(params: [Float], threads: Int) -> Tables {
        let D = shape.dim, F = shape.opKinds, L = shape.layers
        let body = Network(shape: shape, capacity: 1).body as! GCNBody
        let weights = body.weights, biases = body.biases
        var below: LargeFloatBuffer? = nil
        for l in 0..<L {
            let last = l == L - 1
            let rows = last ? sharedIDs.count : levels[l].count, din = l == 0 ? F : D
            let product = LargeFloatBuffer(rows * 2 * D)
            let blocks = (rows + StructuredInference.rowBlock - 1) / StructuredInference.rowBlock
            let workers = max(1, min(threads, blocks))
            let context = UncheckedSendable((below, product, self))
            _ = parallelChunks(workers) { w in
                let (prev, out, keyed) = context.value
                let h = FloatBuffer(StructuredInference.rowBlock * din), s = FloatBuffer(2 * D)
                params.withUnsafeBufferPointer { p in
                    keyed.sharedIDs.withUnsafeBufferPointer { which in
                        for c in stride(from: w, to: blocks, by: workers) {
                            let lo = c * StructuredInference.rowBlock, hi = min(rows, lo + StructuredInference.rowBlock)
                            keyed.multiply(level: l, which: last ? which.baseAddress! : nil, lo, hi, below: prev.map { UnsafePointer($0.pointer) },
                                           params: p.baseAddress!, weights: weights, biases: biases, h: h.pointer, s: s.pointer,
                                           out: out.pointer + lo * 2 * D)
                        }
                    }
                }
                return 0
            }
            if last { return Tables(below: below, shared: product) }
            below = product
        }
        preconditionFailure("a GCN has at least one layer")
    }
}

/// Interned keys (runs of 64-bit words): equal keys get the same id, ids in order of first
/// appearance (CKernels' npsh_interner: a block of keys at a time, their cache misses
/// overlapping).
final class KeyInterner: @unchecked Sendable {
    private let table: OpaquePointer

    init() { table = npsh_interner_create() }
    /// A sealed interner with `count` keys laid out as `arena` and `offsets` give them.
    init(arena: UnsafePointer<UInt64>, words: Int, offsets: UnsafePointer<Int64>, count: Int) {
        table = npsh_interner_load(arena, words, offsets, count)
    }
    deinit { npsh_interner_destroy(table) }

    var count: Int { npsh_interner_count(table) }
    var words: Int { npsh_interner_words(table) }
    /// Key id's words are arena[offsets[id] ..< offsets[id + 1]]; valid until the next intern.
    var arena: UnsafePointer<UInt64> { npsh_interner_arena(table) }
    var offsets: UnsafePointer<Int64> { npsh_interner_offsets(table) }

    /// Key `id`'s words.
    func key(_ id: Int) -> UnsafeBufferPointer<UInt64> {
        let o = offsets
        return UnsafeBufferPointer(start: arena + Int(o[id]), count: Int(o[id + 1] - o[id]))
    }

    /// Frees the hash slots once every key is in (the keys stay readable).
    func seal() { npsh_interner_seal(table) }

    /// Interns `n` keys, key q being words[starts[q] ..< starts[q + 1]], in order.
    func intern(_ words: UnsafePointer<UInt64>, _ starts: UnsafePointer<Int64>, _ n: Int, ids: UnsafeMutablePointer<Int32>,
                hashes: UnsafeMutablePointer<UInt64>) {
        npsh_interner_intern(table, words, starts, n, ids, hashes)
    }
}
