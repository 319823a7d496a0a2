import Foundation
@testable import Runtime
import XCTest

final class CacheTests: XCTestCase {
    struct Crash: Error {}

    func makeSource(_ dir: String) throws -> String {
        let p = dir + "/src.tfrecord"
        try NB101TFRecordWriter.write(TFRecordTests.smallTable(), to: p)
        return p
    }

    func testImportThenReopenFromCache() throws {
        let dir = temporaryFolder(self)
        let src = try makeSource(dir)
        let store = BenchmarkStore(cacheDirectory: dir + "/cache")
        let (first, r1) = try store.open(src)
        XCTAssertNotNil(r1.wroteCache)
        XCTAssertNil(r1.usedCache)
        let (second, r2) = try store.open(src)
        XCTAssertEqual(r2.usedCache, r1.wroteCache)
        XCTAssertEqual(second.hashes, first.hashes)
        XCTAssertEqual(second.budgets, first.budgets)
        XCTAssertEqual(second.parameters, first.parameters)
        XCTAssertEqual(second.source, .tfrecord(src))
        // Opening the cache file itself works too.
        let (third, r3) = try store.open(r1.wroteCache!)
        XCTAssertEqual(third.budgets, first.budgets)
        XCTAssertEqual(r3.usedCache, r1.wroteCache)
    }

    func testStaleCacheIsRefusedAndRebuilt() throws {
        let dir = temporaryFolder(self)
        let src = try makeSource(dir)
        let store = BenchmarkStore(cacheDirectory: dir + "/cache")
        let cache = try store.open(src).1.wroteCache!
        // Replace the source with different content (one run fewer).
        var builder = BenchmarkBuilder()
        let small = TFRecordTests.smallTable()
        for i in 0..<100 {
            let row = builder.add(hash: small.hashes[i], cell: small.cells[i], parameters: 1)
            builder.addRun(row, epochs: 108, small.budgets[0].run(i, 0))
        }
        try NB101TFRecordWriter.write(builder.build(source: .synthetic), to: src)
        assertThrows([cache, "stale cache for", src, "bytes"]) { _ = try store.open(cache) }
        let (rebuilt, report) = try store.open(src)
        XCTAssertEqual(rebuilt.count, 100, "the stale cache is not used")
        XCTAssertTrue(report.notes.contains { $0.contains("stale") })
        XCTAssertEqual(try store.open(cache).0.count, 100)
    }

    func testSameSizeDifferentContentIsStale() throws {
        let dir = temporaryFolder(self)
        let src = try makeSource(dir)
        let store = BenchmarkStore(cacheDirectory: dir + "/cache")
        let cache = try store.open(src).1.wroteCache!
        // Rewrite the file with one record's data changed (CRCs recomputed): same size.
        let file = try MappedFile(path: src)
        let frames = try TFRecord.frames(file)
        var out: [UInt8] = []
        for (k, f) in frames.enumerated() {
            var data = Array(file.bytes[f.dataOffset..<(f.dataOffset + f.length)])
            if k == 5 { data = Array(String(decoding: data, as: UTF8.self).replacingOccurrences(of: ", 108,", with: ", 107,").utf8) }
            out += TFRecord.frame(data)
        }
        try Data(out).write(to: URL(fileURLWithPath: src))
        XCTAssertEqual(fileStatus(src)!.size, file.count)
        assertThrows([cache, "content changed"]) { _ = try store.open(cache) }
        let (table, _) = try store.open(src)
        XCTAssertEqual(table.epochBudgets, [107, 108])
    }

    func testTouchedButUnchangedSourceKeepsItsCache() throws {
        let dir = temporaryFolder(self)
        let src = try makeSource(dir)
        let store = BenchmarkStore(cacheDirectory: dir + "/cache")
        let cache = try store.open(src).1.wroteCache!
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: src)
        let (_, report) = try store.open(src)
        XCTAssertEqual(report.usedCache, cache)
        XCTAssertNoThrow(try store.open(cache))
    }

    func testInterruptedImportIsNeverMistakenForComplete() throws {
        let dir = temporaryFolder(self)
        let table = Space.synthetic  // 7 chunks of 65,536 cells
        let path = dir + "/cache.sqlite"
        let source = CacheSource(kind: "tfrecord", path: dir + "/gone.tfrecord", size: 1, mtime: 1, digest: 1)
        XCTAssertThrowsError(try BenchmarkCache.write(table, source: source, to: path, afterChunk: { c in if c == 3 { throw Crash() } }))
        XCTAssertNil(fileStatus(path), "no cache appears at the real path")
        XCTAssertNotNil(fileStatus(path + ".partial"), "the half-written file stays behind, as after a kill")
        assertThrows([path + ".partial", "never completed"]) { _ = try BenchmarkCache.read(path: path + ".partial") }
        // A later import replaces it and completes.
        try BenchmarkCache.write(table, source: source, to: path)
        let (back, recorded) = try BenchmarkCache.read(path: path)
        XCTAssertEqual(back.count, 423_624)
        XCTAssertEqual(back.budgets, table.budgets)
        XCTAssertEqual(recorded, source)
        XCTAssertNil(fileStatus(path + ".partial"))
    }

    func testForeignFilesAreRefused() throws {
        let dir = temporaryFolder(self)
        let store = BenchmarkStore(cacheDirectory: dir)
        // A SQLite file that is not an npsh cache.
        let other = dir + "/other.sqlite"
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["python3", "-c", "import sqlite3; c = sqlite3.connect('\(other)'); c.execute('create table t(x)'); c.commit()"]
        try proc.run()
        proc.waitUntilExit()
        guard proc.terminationStatus == 0 else { throw XCTSkip("python3 with sqlite3 is needed to make a foreign database") }
        assertThrows([other, "not an npsh benchmark cache", "no npsh meta table"]) { _ = try store.open(other) }
        // A cache whose bytes were damaged.
        let src = try makeSource(dir)
        let cache = try store.open(src).1.wroteCache!
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: cache)))
        for i in stride(from: 4096, to: bytes.count, by: 97) { bytes[i] ^= 0x5a }
        try Data(bytes).write(to: URL(fileURLWithPath: cache))
        assertThrows([cache, "not an npsh benchmark cache"]) { _ = try store.open(cache) }
    }
}

final class SyntheticTests: XCTestCase {
    func testPinnedStatistics() throws {
        let table = Space.synthetic
        XCTAssertEqual(table.count, 423_624)
        XCTAssertEqual(table.runCount, 3 * 423_624)
        XCTAssertTrue(table.isSynthetic)
        let t = try table.runTable()
        var vals: [Double] = []
        vals.reserveCapacity(table.runCount)
        for i in 0..<table.count { for k in 0..<3 { vals.append(Double(t.run(i, k).validationAccuracy)) } }
        let mean = vals.reduce(0, +) / Double(vals.count)
        let sd = (vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(vals.count)).squareRoot()
        let below80 = Double(vals.filter { $0 < 0.8 }.count) / Double(vals.count)
        let diverged = Double(vals.filter { $0 < 0.2 }.count) / Double(vals.count)
        // Resemble NAS-Bench-101's 20k cells: mean 0.910, sd 0.038, 0.49 % below 80 %, 0.12 % diverged.
        XCTAssertEqual(mean, 0.910, accuracy: 0.004)
        XCTAssertEqual(sd, 0.038, accuracy: 0.008)
        XCTAssertEqual(below80, 0.0049, accuracy: 0.003)
        XCTAssertEqual(diverged, 0.0012, accuracy: 0.0004)
        // Correlations with structure have NAS-Bench-101's signs.
        func corr(_ f: (NB101Cell) -> Double) -> Double {
            var xs: [Double] = [], ys: [Double] = []
            for i in stride(from: 0, to: table.count, by: 7) { xs.append(f(table.cells[i])); ys.append(vals[3 * i]) }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            var sxy = 0.0, sxx = 0.0, syy = 0.0
            for (x, y) in zip(xs, ys) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx); syy += (y - my) * (y - my) }
            return sxy / (sxx * syy).squareRoot()
        }
        XCTAssertGreaterThan(corr { SyntheticLandscape.features($0)[1] }, 0.15, "more conv3x3, better")
        XCTAssertLessThan(corr { SyntheticLandscape.features($0)[3] }, -0.1, "more maxpool, worse")
        XCTAssertGreaterThan(corr { SyntheticLandscape.features($0)[5] }, 0.1, "wider, better")
        // Test accuracy sits a little below validation, as in NAS-Bench-101.
        let test = (0..<table.count).map { Double(t.run($0, 0).testAccuracy) }.reduce(0, +) / Double(table.count)
        XCTAssertEqual(mean - test, 0.006, accuracy: 0.004)
    }

    func testDeterministicAndPinned() throws {
        let cell = try NB101Cell(matrix: NB101SpaceTests.inceptionMatrix, ops: NB101SpaceTests.inceptionOps)
        let a = SyntheticLandscape.runs(cell, hash: cell.hash)
        let b = SyntheticLandscape.runs(cell, hash: cell.hash)
        XCTAssertEqual(a, b)
        let i = Space.synthetic.index(of: cell.hash)!
        XCTAssertEqual(Space.synthetic.budgets[0].runs(i), a, "independent of enumeration order")
        // Pinned bits: a change here changes every synthetic result and notebook.
        XCTAssertEqual(a.map { $0.validationAccuracy.bitPattern }, SyntheticTests.pinnedInception)
    }

    static let pinnedInception: [UInt32] = [1_064_332_010, 1_064_370_994, 1_064_400_628]
}
