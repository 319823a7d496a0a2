import Foundation
import GRDB

// The SQLite benchmark cache: the only place in npsh that talks to SQLite.
//
// A cache holds one benchmark table in columnar chunks of 65,536 cells (cells packed in one
// 64-bit word each, hashes, parameters, and per epoch budget the run offsets and fields), so
// that reopening the 1.27M-run official file reads ~50 MB of blobs instead of decoding rows.
//
//   meta(key, value)  format, version, source_kind/path/size/mtime/digest, cells, runs, complete
//   chunks(id, first, count, cells, hashes, params)
//   runs(epochs, chunk, offsets, fields)
//
// Writing is crash-safe: the cache is built under "<path>.partial" — first a committed meta
// row saying complete=0, then every chunk and finally complete=1 in one transaction — and
// renamed into place only after that commits. A killed import leaves at most a ".partial"
// file whose meta says complete=0, which is refused as incomplete, never read as a table.

/// Where a cached table came from, to detect a stale cache.
struct CacheSource: Equatable, Sendable {
    public var kind: String
    public var path: String
    public var size: Int
    var mtime: Int64
    var digest: UInt64

    public init(kind: String, path: String, size: Int, mtime: Int64, digest: UInt64) {
        self.kind = kind
        self.path = path
        self.size = size
        self.mtime = mtime
        self.digest = digest
    }
}

enum BenchmarkCache {
    static let format = "npsh-benchmark-cache"
    public static let version = 1
    static let chunkSize = 65_536

    /// A hook for tests: called after each chunk is written; throwing aborts the import as a
    /// crash would (the ".partial" file is left behind).
    typealias ChunkHook = (Int) throws -> Void

    /// Writes `table` to `path` atomically.
    public static func write(_ table: BenchmarkTable, source: CacheSource, to path: String, afterChunk: ChunkHook? = nil) throws {
        let partial = path + ".partial"
        for p in [partial, partial + "-journal", partial + "-wal", partial + "-shm"] { try? FileManager.default.removeItem(atPath: p) }
        if let st = fileStatus(path), st.isDirectory { throw RuntimeError.isDirectory(path) }
        do {
            let db = try DatabaseQueue(path: partial)
            try db.write { db in
                try db.execute(sql: """
                    CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE chunks(id INTEGER PRIMARY KEY, first INTEGER NOT NULL, count INTEGER NOT NULL,
                                        cells BLOB NOT NULL, hashes BLOB NOT NULL, params BLOB NOT NULL);
                    CREATE TABLE runs(epochs INTEGER NOT NULL, chunk INTEGER NOT NULL, offsets BLOB NOT NULL,
                                      fields BLOB NOT NULL, PRIMARY KEY(epochs, chunk));
                    """)
                let meta: [(String, String)] = [
                    ("format", format), ("version", String(version)), ("complete", "0"),
                    ("source_kind", source.kind), ("source_path", source.path), ("source_size", String(source.size)),
                    ("source_mtime", String(source.mtime)), ("source_digest", String(source.digest, radix: 16)),
                    ("cells", String(table.count)), ("runs", String(table.runCount)),
                ]
                for (k, v) in meta { try db.execute(sql: "INSERT INTO meta VALUES (?, ?)", arguments: [k, v]) }
            }
            try db.write { db in
                let chunks = (table.count + chunkSize - 1) / chunkSize
                let insertChunk = try db.makeStatement(sql: "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)")
                let insertRuns = try db.makeStatement(sql: "INSERT INTO runs VALUES (?, ?, ?, ?)")
                for c in 0..<chunks {
                    let lo = c * chunkSize, hi = min(table.count, lo + chunkSize)
                    let cells = table.cells[lo..<hi].map { packCell($0) }
                    var hashes: [UInt64] = []
                    hashes.reserveCapacity(2 * (hi - lo))
                    for h in table.hashes[lo..<hi] { hashes.append(h.hi); hashes.append(h.lo) }
                    try insertChunk.execute(arguments: [
                        c, lo, hi - lo, blob(cells), blob(hashes), blob(Array(table.parameters[lo..<hi])),
                    ])
                    for t in table.budgets {
                        let first = Int(t.offsets[lo]), last = Int(t.offsets[hi])
                        let offsets = t.offsets[lo...hi].map { $0 - t.offsets[lo] }
                        let fields = Array(t.fields[(first * RunRecord.fieldCount)..<(last * RunRecord.fieldCount)])
                        try insertRuns.execute(arguments: [t.epochs, c, blob(offsets), blob(fields)])
                    }
                    try afterChunk?(c)
                }
                try db.execute(sql: "UPDATE meta SET value = '1' WHERE key = 'complete'")
            }
            try db.close()
        } catch let e as RuntimeError {
            throw e
        } catch let e as DatabaseError {
            throw RuntimeError.unwritable(partial, reason: e.message ?? "\(e)")
        }
        if rename(partial, path) != 0 {
            throw RuntimeError.unwritable(path, reason: String(cString: strerror(errno)))
        }
    }

    /// Reads a cache: the table and the source it records.
    public static func read(path: String) throws -> (BenchmarkTable, CacheSource) {
        guard let st = fileStatus(path) else { throw RuntimeError.fileNotFound(path) }
        if st.isDirectory { throw RuntimeError.isDirectory(path) }
        if st.size == 0 { throw RuntimeError.emptyFile(path) }
        var config = Configuration()
        config.readonly = true
        do {
            let db = try DatabaseQueue(path: path, configuration: config)
            defer { try? db.close() }
            return try db.read { db in
                guard try db.tableExists("meta") else { throw RuntimeError.foreignCache(path, reason: "it has no npsh meta table") }
                var meta: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { meta[row[0]] = row[1] }
                guard meta["format"] == format else { throw RuntimeError.foreignCache(path, reason: "format is '\(meta["format"] ?? "missing")'") }
                guard meta["version"] == String(version) else {
                    throw RuntimeError.foreignCache(path, reason: "cache version \(meta["version"] ?? "?"), this npsh reads version \(version)")
                }
                guard meta["complete"] == "1" else { throw RuntimeError.incompleteCache(path) }
                guard let kind = meta["source_kind"], let spath = meta["source_path"],
                      let size = meta["source_size"].flatMap({ Int($0) }), let mtime = meta["source_mtime"].flatMap({ Int64($0) }),
                      let digest = meta["source_digest"].flatMap({ UInt64($0, radix: 16) }),
                      let count = meta["cells"].flatMap({ Int($0) }), let runCount = meta["runs"].flatMap({ Int($0) })
                else { throw RuntimeError.foreignCache(path, reason: "its meta table is missing source fields") }
                var cells: [NB101Cell] = [], hashes: [Digest128] = [], params: [Int32] = []
                cells.reserveCapacity(count); hashes.reserveCapacity(count); params.reserveCapacity(count)
                for row in try Row.fetchAll(db, sql: "SELECT first, count, cells, hashes, params FROM chunks ORDER BY id") {
                    let first: Int = row[0], n: Int = row[1]
                    guard first == cells.count else { throw RuntimeError.foreignCache(path, reason: "chunk starting at \(first) is out of order") }
                    let packed: [UInt64] = try unblob(row[2], n, path)
                    for p in packed { cells.append(try unpackCell(p, path)) }
                    let hw: [UInt64] = try unblob(row[3], 2 * n, path)
                    for i in 0..<n { hashes.append(Digest128(hi: hw[2 * i], lo: hw[2 * i + 1])) }
                    params += try unblob(row[4], n, path) as [Int32]
                }
                guard cells.count == count else {
                    throw RuntimeError.foreignCache(path, reason: "it holds \(cells.count) cells but records \(count)")
                }
                var budgets: [RunTable] = []
                let epochsList = try Int.fetchAll(db, sql: "SELECT DISTINCT epochs FROM runs ORDER BY epochs")
                for e in epochsList {
                    var offsets: [Int32] = [0]
                    var fields: [Float] = []
                    var chunkIndex = 0
                    for row in try Row.fetchAll(db, sql: "SELECT chunk, offsets, fields FROM runs WHERE epochs = ? ORDER BY chunk", arguments: [e]) {
                        let c: Int = row[0]
                        guard c == chunkIndex else { throw RuntimeError.foreignCache(path, reason: "runs at \(e) epochs miss chunk \(chunkIndex)") }
                        let n = min(chunkSize, count - c * chunkSize)
                        let o: [Int32] = try unblob(row[1], n + 1, path)
                        let base = offsets.last!
                        for k in 1...n { offsets.append(base + o[k]) }
                        let f: [Float] = try unblob(row[2], Int(o[n]) * RunRecord.fieldCount, path)
                        fields += f
                        chunkIndex += 1
                    }
                    guard offsets.count == count + 1 else { throw RuntimeError.foreignCache(path, reason: "runs at \(e) epochs cover \(offsets.count - 1) of \(count) cells") }
                    budgets.append(RunTable(epochs: e, offsets: offsets, fields: fields))
                }
                let total = budgets.reduce(0) { $0 + Int($1.offsets.last!) }
                guard total == runCount else { throw RuntimeError.foreignCache(path, reason: "it holds \(total) runs but records \(runCount)") }
                let source: BenchmarkSource = kind == "tfrecord" ? .tfrecord(spath) : kind == "jsonl" ? .jsonl(spath) : .synthetic
                let table = BenchmarkTable(source: source, cells: cells, hashes: hashes, parameters: params, budgets: budgets)
                return (table, CacheSource(kind: kind, path: spath, size: size, mtime: mtime, digest: digest))
            }
        } catch let e as RuntimeError {
            throw e
        } catch let e as DatabaseError {
            throw RuntimeError.foreignCache(path, reason: e.message ?? "\(e)")
        }
    }

    /// Marks a cache as still matching its source after the source was touched.
    static func updateSourceTime(path: String, mtime: Int64) throws {
        do {
            let db = try DatabaseQueue(path: path)
            try db.write { try $0.execute(sql: "UPDATE meta SET value = ? WHERE key = 'source_mtime'", arguments: [String(mtime)]) }
            try db.close()
        } catch let e as DatabaseError {
            throw RuntimeError.unwritable(path, reason: e.message ?? "\(e)")
        }
    }

    static func packCell(_ c: NB101Cell) -> UInt64 {
        c.adjacency | UInt64(c.vertices) << 49 | UInt64(c.interior) << 52
    }

    static func unpackCell(_ p: UInt64, _ path: String) throws -> NB101Cell {
        let n = Int((p >> 49) & 7)
        guard n >= 2 else { throw RuntimeError.foreignCache(path, reason: "a stored cell has \(n) vertices") }
        return NB101Cell(uncheckedVertices: n, adjacency: p & ((1 << 49) - 1), interior: UInt16((p >> 52) & 0x3ff))
    }

    static func blob<T>(_ values: [T]) -> Data {
        values.withUnsafeBytes { Data($0) }
    }

    static func unblob<T>(_ data: Data, _ count: Int, _ path: String) throws -> [T] {
        guard data.count == count * MemoryLayout<T>.stride else {
            throw RuntimeError.foreignCache(path, reason: "a blob holds \(data.count) bytes, expected \(count * MemoryLayout<T>.stride)")
        }
        return [T](unsafeUninitializedCapacity: count) { buf, n in
            _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(buf))
            n = count
        }
    }
}
