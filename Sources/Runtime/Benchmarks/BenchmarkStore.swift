// Opening benchmarks by name or path, with the SQLite cache in front of slow sources.
//
// `bench "FILE"` sniffs the file: an npsh cache (SQLite), a TFRecord, or a JSONL table.
// A TFRecord or JSONL source is imported once into a cache in `cacheDirectory`, named after
// the file and its absolute path; later opens read the cache when the source's size and
// mtime still match (or, when only the mtime changed, its content digest does). A stale
// cache is never used: it is rebuilt, and a cache opened directly whose source has changed
// is refused.

/// What `BenchmarkStore` reports about how a benchmark was opened (for standard error).
public struct OpenReport: Sendable {
    var usedCache: String?
    public var wroteCache: String?
    public var notes: [String] = []
}

public struct BenchmarkStore: Sendable {
    public let cacheDirectory: String
    public let threads: Int

    public init(cacheDirectory: String, threads: Int = defaultThreads) {
        self.cacheDirectory = cacheDirectory
        self.threads = threads
    }

    /// The cache directory from the environment: $NPSH_CACHE, else $XDG_CACHE_HOME/npsh,
    /// else ~/.cache/npsh.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
        if let d = environment["NPSH_CACHE"], !d.isEmpty { return d }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/npsh" }
        return (environment["HOME"] ?? "/tmp") + "/.cache/npsh"
    }

    public enum FileKind: String, Sendable { case tfrecord, jsonl, cache }

    /// Sniffs a file's kind from its first bytes.
    public static func kind(of path: String) throws -> FileKind {
        let file = try MappedFile(path: path)
        let b = file.bytes
        if b.count >= 16, Array(b[0..<16]) == Array("SQLite format 3\0".utf8) { return .cache }
        var i = 0
        while i < b.count, [32, 9, 10, 13].contains(b[i]) { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "{") { return .jsonl }
        if b.count >= 12 {
            let crc = b.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
            if CRC32C.masked(CRC32C.checksum(b.baseAddress!, count: 8)) == crc { return .tfrecord }
        }
        if path.hasSuffix(".tfrecord") { return .tfrecord }
        if path.hasSuffix(".jsonl") { return .jsonl }
        throw RuntimeError.unknownFormat(path)
    }

    /// Opens a benchmark file of any supported kind.
    public func open(_ path: String, metric: String? = nil) throws -> (BenchmarkTable, OpenReport) {
        switch try Self.kind(of: path) {
        case .cache: return try openCache(path)
        case .tfrecord, .jsonl: return try openSource(path, metric: metric)
        }
    }

    /// Opens a cache file directly, refusing it when its recorded source has changed.
    func openCache(_ path: String) throws -> (BenchmarkTable, OpenReport) {
        let (table, source) = try BenchmarkCache.read(path: path)
        var report = OpenReport(usedCache: path)
        if source.kind == "tfrecord" || source.kind == "jsonl" {
            if let reason = try staleness(source) {
                throw RuntimeError.staleCache(cache: path, source: source.path, reason: reason)
            }
            if fileStatus(source.path) == nil { report.notes.append("source \(source.path) is not present; using the cache as is") }
        }
        return (table, report)
    }

    /// Why a cache no longer matches its source, or nil if it does (or the source is gone).
    func staleness(_ source: CacheSource) throws -> String? {
        guard let st = fileStatus(source.path) else { return nil }
        if st.size != source.size { return "the source is now \(st.size) bytes, the cache was made from \(source.size)" }
        if st.mtime == source.mtime { return nil }
        let digest = try load(source.path, kind: source.kind == "tfrecord" ? .tfrecord : .jsonl, metric: nil).1
        return digest == source.digest ? nil : "the source's content changed since the import"
    }

    /// The cache file used for a source path.
    func cachePath(for source: String) -> String {
        let abs = absolutePath(source)
        let base = abs.split(separator: "/").last.map(String.init) ?? "bench"
        let key = String(fnv1a64(abs), radix: 16)
        return "\(cacheDirectory)/\(base)-\(key).sqlite"
    }

    func openSource(_ path: String, metric: String?) throws -> (BenchmarkTable, OpenReport) {
        let kind = try Self.kind(of: path)
        guard let st = fileStatus(path) else { throw RuntimeError.fileNotFound(path) }
        let cache = cachePath(for: path) + (metric.map { "-\($0)" } ?? "")
        var report = OpenReport()
        if fileStatus(cache) != nil {
            do {
                let (table, source) = try BenchmarkCache.read(path: cache)
                if source.path == absolutePath(path) {
                    if source.size == st.size && source.mtime == st.mtime {
                        report.usedCache = cache
                        return (relabel(table, path, kind), report)
                    }
                    if source.size == st.size, try load(path, kind: kind, metric: metric).1 == source.digest {
                        try? BenchmarkCache.updateSourceTime(path: cache, mtime: st.mtime)
                        report.usedCache = cache
                        return (relabel(table, path, kind), report)
                    }
                }
                report.notes.append("cache \(cache) is stale; re-importing \(path)")
            } catch let e as RuntimeError {
                report.notes.append("\(e); re-importing \(path)")
            }
        }
        let (table, digest) = try load(path, kind: kind, metric: metric)
        do {
            try makeDirectory(cacheDirectory)
            try BenchmarkCache.write(table, source: CacheSource(kind: kind.rawValue, path: absolutePath(path), size: st.size,
                                                               mtime: st.mtime, digest: digest), to: cache)
            report.wroteCache = cache
        } catch let e as RuntimeError {
            report.notes.append("could not write the cache (\(e)); continuing without it")
        }
        return (table, report)
    }

    /// A cached table reports the path the user gave, not the absolute one it recorded.
    private func relabel(_ t: BenchmarkTable, _ path: String, _ kind: FileKind) -> BenchmarkTable {
        BenchmarkTable(source: kind == .tfrecord ? .tfrecord(path) : .jsonl(path), cells: t.cells, hashes: t.hashes,
                       parameters: t.parameters, budgets: t.budgets)
    }

    func load(_ path: String, kind: FileKind, metric: String?) throws -> (BenchmarkTable, UInt64) {
        switch kind {
        case .tfrecord: return try NB101TFRecordLoader.load(path: path, threads: threads)
        case .jsonl: return try JSONLTableLoader.load(path: path, metric: metric, threads: threads)
        case .cache: throw RuntimeError.unusable(.cacheNotSource(path))
        }
    }

    /// The whole NAS-Bench-101 space, enumerated once and then kept in the cache directory.
    public func catalog() throws -> NB101Catalog {
        let cache = "\(cacheDirectory)/nb101-space-v\(BenchmarkCache.version).sqlite"
        if fileStatus(cache) != nil, let (table, source) = try? BenchmarkCache.read(path: cache),
           source.kind == "space", table.count == 423_624 {
            return NB101Catalog(cells: table.cells, hashes: table.hashes)
        }
        let catalog = NB101Enumeration.enumerate(threads: threads)
        let table = BenchmarkTable(source: .synthetic, cells: catalog.cells, hashes: catalog.hashes,
                                   parameters: [Int32](repeating: -1, count: catalog.cells.count), budgets: [])
        try? makeDirectory(cacheDirectory)
        try? BenchmarkCache.write(table, source: CacheSource(kind: "space", path: "nb101", size: 0, mtime: 0, digest: 0), to: cache)
        return catalog
    }

    /// The built-in synthetic landscape over the whole space.
    public func synthetic() throws -> BenchmarkTable {
        SyntheticLandscape.table(try catalog(), threads: threads)
    }
}
