import XCTest
@testable import Runtime

/// Structured GCN inference (Runtime/Predictors/Inference.swift): each distinct row of a
/// layer's input multiplied once across all the cells.
final class InferenceTests: XCTestCase {
    /// The training forward (no dropout) of `shape` over cells[idx], in one batch.
    func trainingForward(_ shape: NetworkShape, _ params: [Float], _ cells: [NB101Cell], _ idx: [Int]) -> [Float] {
        let batch = InputBatch(capacity: idx.count)
        batch.fill(cells, ArraySlice(idx))
        let net = Network(shape: shape, capacity: idx.count)
        var r = RandomStream(seed: 0)
        let z = params.withUnsafeBufferPointer { net.forward($0.baseAddress!, batch, training: true, rng: &r) }
        return Array(UnsafeBufferPointer(start: z, count: idx.count))
    }

    func parameters(_ shape: NetworkShape, seed: UInt64) -> [Float] {
        var rng = RandomStream(seed: seed)
        var params = Predictor.initialParameters(FitConfig(shape: shape, seed: seed), labels: [0.9, 0.8])
        for i in params.indices { params[i] += Float(rng.uniform() - 0.5) * 0.1 }
        return params
    }

    func worst(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / max(abs($1), 1e-3) }.max()!
    }

    /// Against the training forward, for one, two and three layers, with padding vertices
    /// (cells of every size): within the tolerance of the batched distinct-row products (only
    /// OpenBLAS's rounding of a row at another place in its panel differs). One thread and
    /// two give the same bits.
    func testMatchesTheTrainingForward() {
        let catalog = Space.catalog
        var rng = RandomStream(seed: 31)
        let idx = rng.distinct(5000, from: catalog.cells.count)
        for (layers, dim) in [(1, 16), (2, 24), (3, 37)] {
            let shape = NetworkShape(kind: .gcn, layers: layers, dim: dim, fc: [12], dropout: 0)
            let params = parameters(shape, seed: UInt64(layers))
            let reference = trainingForward(shape, params, catalog.cells, idx)
            let two = StructuredInference.outputs(shape: shape, params: params, cells: catalog.cells, indices: idx, threads: 2)
            XCTAssertLessThan(worst(two, reference), 4e-6, "layers \(layers)")
            let one = StructuredInference.outputs(shape: shape, params: params, cells: catalog.cells, indices: idx, threads: 1)
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "layers \(layers): thread count changed bits")
        }
    }

    /// A table cap that splits the cells into several chunks (each with its own tables)
    /// changes nothing beyond the tolerance, and the chunks cover every cell once.
    func testChunksUnderASmallTableCap() {
        let catalog = Space.catalog
        var rng = RandomStream(seed: 32)
        let idx = rng.distinct(6000, from: catalog.cells.count)
        let shape = NetworkShape(kind: .gcn, layers: 3, dim: 20, fc: [8], dropout: 0)
        let params = parameters(shape, seed: 5)
        let cap = 5000 * 2 * 20 * 4  // 5,000 rows of the last level's table
        let chunks = StructuredInference.analyse(catalog.cells, idx, shape: shape, maxRows: 5000)
        XCTAssertGreaterThan(chunks.count, 2)
        XCTAssertEqual(chunks.map(\.range.count).reduce(0, +), idx.count)
        for (a, b) in zip(chunks, chunks.dropFirst()) { XCTAssertEqual(a.range.upperBound, b.range.lowerBound) }
        for c in chunks { XCTAssertLessThanOrEqual(c.keys.levels[2].count, 5000) }
        let small = StructuredInference.outputs(shape: shape, params: params, cells: catalog.cells, indices: idx, threads: 2, tableBytes: cap)
        XCTAssertLessThan(worst(small, trainingForward(shape, params, catalog.cells, idx)), 4e-6)
    }

    /// Predicting an eighth or more of a space analyses all its cells once and keeps the
    /// analysis: a second call (other weights, other cells asked, an equal copy of the array)
    /// reuses it and gives what a fresh analysis gives; fewer than an eighth of the cells take
    /// their own analysis, whatever is kept.
    func testWholeSpaceAnalysisIsKeptAndReused() {
        StructureCache.shared.clear()
        defer { StructureCache.shared.clear() }
        let catalog = Space.catalog
        let cells = Array(catalog.cells[0..<40000])
        let shape = NetworkShape(kind: .gcn, layers: 3, dim: 16, fc: [8], dropout: 0)
        let most = Array(stride(from: 0, to: 40000, by: 2)), eighth = Array(stride(from: 3, to: 40000, by: 8))
        XCTAssertGreaterThanOrEqual(8 * eighth.count, cells.count)
        for (seed, asked) in [(UInt64(1), most), (2, eighth)] {
            let params = parameters(shape, seed: seed)
            let copy = cells.map { $0 }  // equal contents in other storage: compared element by element
            XCTAssertNotEqual(copy.withUnsafeBufferPointer { $0.baseAddress }, cells.withUnsafeBufferPointer { $0.baseAddress })
            let kept = StructuredInference.outputs(shape: shape, params: params, cells: copy, indices: asked, threads: 2)
            XCTAssertLessThan(worst(kept, trainingForward(shape, params, cells, asked)), 4e-6)
            XCTAssertTrue(StructureCache.shared.holds(count: cells.count), "the whole-space analysis is kept")
            XCTAssertEqual(StructureCache.shared.lastSource, seed == 1 ? "computed" : "kept")
            StructureCache.shared.clear()
            let fresh = StructuredInference.outputs(shape: shape, params: params, cells: cells, indices: asked, threads: 2)
            XCTAssertEqual(kept.map(\.bitPattern), fresh.map(\.bitPattern), "a kept analysis gives a fresh one's bits")
        }
        // Fewer than an eighth: analysed alone, kept analysis or not, with the same bits.
        let few = Array(0..<4096)
        let params = parameters(shape, seed: 3)
        XCTAssertTrue(StructureCache.shared.holds(count: cells.count))
        let alone = StructuredInference.outputs(shape: shape, params: params, cells: cells, indices: few, threads: 2)
        StructureCache.shared.clear()
        let again = StructuredInference.outputs(shape: shape, params: params, cells: cells, indices: few, threads: 2)
        XCTAssertFalse(StructureCache.shared.holds(count: cells.count), "a minority of the cells is analysed alone")
        XCTAssertEqual(alone.map(\.bitPattern), again.map(\.bitPattern))
    }

    /// Predictor.predict takes the structured path from `minimumCells` cells on: the same
    /// predictions as the batched path within the tolerance, and the same for any thread count.
    func testPredictUsesItForManyCells() throws {
        let catalog = Space.catalog
        var rng = RandomStream(seed: 33)
        let (p, _) = try Space.fitted(&rng, n: 30, FitConfig(shape: NetworkShape(dim: 16), epochs: 2, seed: 3))
        let idx = rng.distinct(StructuredInference.minimumCells + 10, from: catalog.cells.count)
        let structured = p.predict(cells: catalog.cells, indices: idx)
        let batched = stride(from: 0, to: idx.count, by: 1000).flatMap { s in
            p.predict(cells: catalog.cells, indices: Array(idx[s..<min(idx.count, s + 1000)]))
        }
        XCTAssertLessThan(zip(structured, batched).map { abs($0 - $1) }.max()!, 1e-5)
        XCTAssertEqual(p.predict(cells: catalog.cells, indices: idx, threads: 1), structured)
    }

    /// A cell's structured prediction has the same bits whatever is predicted with it: among
    /// an eighth of the cells (the kept analysis of them all), or among 3,000 or 300 others in
    /// another order (an analysis of their own), or alone — so neither its place in a batch of
    /// the last pass nor the batch's size matters. FittedPredictor.top relies on it.
    func testAPredictionDoesNotDependOnTheCellsBesideIt() throws {
        let cells = Array(Space.catalog.cells[0..<40000])
        var rng = RandomStream(seed: 35)
        let idx = rng.distinct(30, from: cells.count)
        let labels = idx.map { Double(Space.synthetic.budgets[0].run($0, 0).validationAccuracy) }
        // The paper's widths, at which the head's OpenBLAS products take their largest kernels.
        let p = try Predictor.fit(FitConfig(shape: NetworkShape(dim: 144, fc: [128]), epochs: 2, seed: 4), cells: cells, indices: idx, labels: labels)
        let many = rng.distinct(cells.count / 8 + 1, from: cells.count)
        let all = p.predict(cells: cells, indices: many, threads: 2)
        for size in [3000, 300, 1] {
            let picks = rng.distinct(size, from: many.count).reversed()
            let alone = p.predictEachAlone(cells: cells, indices: picks.map { many[$0] }, threads: 2)
            XCTAssertEqual(alone.map(\.bitPattern), picks.map { all[$0].bitPattern }, "\(size) cells")
        }
    }

    /// The cascade's shortcut to its top k (regressor first, the classifier down its ranking)
    /// picks what ranking `scores(…, top: k)` picks: with a k the first thousand settle, with
    /// one that needs the second round, and with one no shortcut settles (more than the
    /// accepted among the first 8,192). The classifier must matter for this to test anything:
    /// it rejects some of the regressor's best and accepts some of the rest.
    func testCascadeTopPicksWhatItsScoresRank() throws {
        let catalog = Space.catalog
        var rng = RandomStream(seed: 36)
        let idx = rng.distinct(240, from: catalog.cells.count)
        let labels = idx.map { Double(Space.synthetic.budgets[0].run($0, 0).validationAccuracy) }
        let median = labels.sorted()[labels.count / 2]
        let config = FitConfig(shape: NetworkShape(dim: 16, fc: [12]), epochs: 20, seed: 6)
        var classifier = config
        classifier.shape.output = .sigmoid
        classifier.loss = .bce
        classifier.learningRate = 2e-3
        classifier.seed = 7
        let cascade = try FittedPredictor.fitTwoStage(regressor: config, classifier: classifier, threshold: median, cells: catalog.cells,
                                                      indices: idx, labels: labels, threads: 2)
        let hashes = catalog.hashes
        guard case .twoStage(_, let regressor, _) = cascade else { return XCTFail("not a cascade") }
        // 6,000 candidates: fewer accepted than the structured path's minimum, which the
        // cascade's regressor then predicts alone, as `top` does.
        for count in [30_000, 6000] {
            let candidates = rng.distinct(count, from: catalog.cells.count)
            let key = { (i: Int) in hashes[candidates[i]] }
            let accepted = cascade.scores(cells: catalog.cells, indices: candidates, threads: 2).accepted!
            let acceptedCount = accepted.filter { $0 }.count
            let fraction = Double(acceptedCount) / Double(candidates.count)
            XCTAssertGreaterThan(fraction, 0.05)
            XCTAssertLessThan(fraction, 0.95)
            if count == 6000 { XCTAssertLessThan(acceptedCount, StructuredInference.minimumCells) }
            let byRegressor = Search.topIndices(regressor.predict(cells: catalog.cells, indices: candidates, threads: 2), k: 1024,
                                                lowerIsBetter: false, key: key)
            XCTAssertTrue(byRegressor.contains { !accepted[$0] }, "the classifier rejects some of the regressor's best")
            let acceptedNear = byRegressor.filter { accepted[$0] }.count
            for k in [5, acceptedNear + 3, 9000, acceptedCount + 10] where k <= count {
                let scores = cascade.scores(cells: catalog.cells, indices: candidates, threads: 2, top: k).scores
                let expected = Search.topIndices(scores, k: k, lowerIsBetter: false, key: key)
                XCTAssertEqual(cascade.top(k, cells: catalog.cells, indices: candidates, threads: 2, lowerIsBetter: false, key: key),
                               expected, "\(count) candidates, k = \(k)")
            }
        }
    }

    /// The interner: ids in order of first appearance, equal keys one id, keys of any length
    /// kept intact through growth; sealing keeps them readable.
    func testKeyInterner() {
        let t = KeyInterner()
        var rng = RandomStream(seed: 34)
        var reference: [[UInt64]: Int32] = [:], order: [[UInt64]] = []
        var words: [UInt64] = [], starts: [Int64] = [0], expected: [Int32] = []
        for _ in 0..<60_000 {
            let n = 1 + rng.int(below: 4)
            let key = (0..<n).map { _ in UInt64(rng.int(below: 40)) }
            if reference[key] == nil { reference[key] = Int32(order.count); order.append(key) }
            expected.append(reference[key]!)
            words += key
            starts.append(Int64(words.count))
        }
        var ids = [Int32](repeating: -1, count: expected.count), hashes = [UInt64](repeating: 0, count: expected.count)
        // In blocks, as the analysis does.
        for lo in stride(from: 0, to: expected.count, by: 1792) {
            let hi = min(expected.count, lo + 1792)
            words.withUnsafeBufferPointer { w in
                starts.withUnsafeBufferPointer { s in
                    ids.withUnsafeMutableBufferPointer { i in
                        hashes.withUnsafeMutableBufferPointer { h in
                            t.intern(w.baseAddress!, s.baseAddress! + lo, hi - lo, ids: i.baseAddress! + lo, hashes: h.baseAddress!)
                        }
                    }
                }
            }
        }
        XCTAssertEqual(ids, expected)
        XCTAssertEqual(t.count, order.count)
        t.seal()
        for (id, key) in order.enumerated() { XCTAssertEqual(Array(t.key(id)), key) }
    }

    /// With a folder, the whole-space analysis goes to disk: the next session (memory
    /// cleared) reads it back and predicts the same bits; a file with a flipped byte or cut
    /// short is not used but made again; other graphs get another file; writing one removes
    /// an earlier version's files and nothing else.
    func testAnalysisFileRoundTripAndDamage() throws {
        let folder = makeTemporaryDirectory(prefix: "npsh-structure-test")
        StructureCache.shared.clear()
        StructureCache.shared.directory = folder
        defer { StructureCache.shared.directory = nil; StructureCache.shared.clear(); try? removeTree(folder) }
        let cells = Array(Space.catalog.cells[1000..<7000])
        let shape = NetworkShape(kind: .gcn, layers: 3, dim: 12, fc: [6], dropout: 0)
        let params = parameters(shape, seed: 8), idx = Array(cells.indices)
        func run() -> [UInt32] {
            StructuredInference.outputs(shape: shape, params: params, cells: cells, indices: idx, threads: 2).map(\.bitPattern)
        }
        let stale = folder + "/structure-v1-00000000000000000000000000000000-n6000-L3-V7-F5-R1.bin"
        let kept = folder + "/structure-notes.txt"
        try FileManagerless.write(Array("old".utf8), to: stale)
        try FileManagerless.write(Array("mine".utf8), to: kept)
        let first = run()
        XCTAssertEqual(StructureCache.shared.lastSource, "computed")
        XCTAssertNil(fileStatus(stale), "an earlier version's analysis is removed")
        XCTAssertNotNil(fileStatus(kept), "other files are left alone")
        let maxRows = StructuredInference.tableBytes / (2 * 12 * 4)
        let file = folder + "/" + StructureFile.name(cells, shape: shape, maxRows: maxRows)
        XCTAssertNotNil(fileStatus(file), "the analysis is written")
        StructureCache.shared.clear()
        XCTAssertEqual(run(), first)
        XCTAssertEqual(StructureCache.shared.lastSource, "read")
        XCTAssertEqual(run(), first)
        XCTAssertEqual(StructureCache.shared.lastSource, "kept")
        // Damage: one flipped byte in the middle, then a file cut short.
        var bytes = try XCTUnwrap(FileManagerless.read(file))
        bytes[bytes.count / 2] ^= 0x40
        try FileManagerless.write(bytes, to: file)
        XCTAssertNil(StructureFile.read(file, shape: shape, cells: cells.count, maxRows: maxRows), "a flipped byte fails the CRC")
        StructureCache.shared.clear()
        XCTAssertEqual(run(), first)
        XCTAssertEqual(StructureCache.shared.lastSource, "computed", "a damaged file is not used")
        XCTAssertNotNil(StructureFile.read(file, shape: shape, cells: cells.count, maxRows: maxRows), "and is made again")
        let whole = try XCTUnwrap(FileManagerless.read(file))
        try FileManagerless.write(Array(whole[0..<(whole.count - 24)]), to: file)
        XCTAssertNil(StructureFile.read(file, shape: shape, cells: cells.count, maxRows: maxRows), "a file cut short")
        XCTAssertNil(StructureFile.read(file, shape: shape, cells: cells.count + 1, maxRows: maxRows), "another cell count")
        // Other graphs, another name.
        var other = cells
        other.swapAt(0, 1)
        XCTAssertNotEqual(StructureFile.name(other, shape: shape, maxRows: maxRows), StructureFile.name(cells, shape: shape, maxRows: maxRows))
        // The name is digested in two halves (blocks 0–2 and 3–5 of 1,024 cells): a change in
        // either, or cells moved from one half to the other, changes it.
        var late = cells
        late.swapAt(5000, 5001)
        XCTAssertNotEqual(StructureFile.name(late, shape: shape, maxRows: maxRows), StructureFile.name(cells, shape: shape, maxRows: maxRows))
        var across = cells
        across.swapAt(3000, 3100)
        XCTAssertNotEqual(StructureFile.name(across, shape: shape, maxRows: maxRows), StructureFile.name(cells, shape: shape, maxRows: maxRows))
        XCTAssertEqual(StructureFile.name(Array(cells), shape: shape, maxRows: maxRows), StructureFile.name(cells, shape: shape, maxRows: maxRows))
    }

    /// A large table's block goes back for reuse (no page clearing for the next prediction's),
    /// the smallest large-enough one is taken, no more are kept than the threads, and small
    /// buffers are never kept.
    func testLargeBlocksAreReused() {
        let pool = LargeBlocks.shared
        pool.clear()
        defer { pool.clear() }
        let floats = LargeBlocks.minimumBytes / 4
        var first: UnsafeMutablePointer<Float>? = nil
        do {
            let a = LargeFloatBuffer(floats + 1000)
            first = a.pointer
            a.pointer[floats - 1] = 7
        }
        XCTAssertEqual(pool.keptBytes, LargeBlocks.minimumBytes + 4000)
        do {
            let b = LargeFloatBuffer(floats)
            XCTAssertEqual(b.pointer, first, "the kept block is reused")
            XCTAssertEqual(pool.keptBytes, 0)
            let c = LargeFloatBuffer(floats), d = LargeFloatBuffer(2 * floats), e = LargeFloatBuffer(16)
            withExtendedLifetime((b, c, d, e)) { XCTAssertNotEqual(c.pointer, b.pointer) }
        }
        XCTAssertEqual(pool.keptBytes, 3 * LargeBlocks.minimumBytes + 4000, "the two largest are kept, the small one freed")
        do {
            let f = LargeFloatBuffer(floats)
            withExtendedLifetime(f) {
                XCTAssertEqual(pool.keptBytes, 2 * LargeBlocks.minimumBytes, "the smallest large-enough block is taken")
                XCTAssertEqual(f.pointer, first)
            }
        }
    }
}

/// Whole-file reads and writes for the tests above.
enum FileManagerless {
    static func read(_ path: String) throws -> [UInt8] {
        let f = try MappedFile(path: path)
        return Array(f.bytes)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let w = try FileWriter(path: path)
        try w.write(bytes)
        try w.close(durable: false)
    }
}
