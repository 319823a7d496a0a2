// Benchmarks of the spaces other than NAS-Bench-101: small tables of (architecture, runs)
// read from JSONL — the seed's ProxylessNAS pairs, NAS-Bench-NLP logs and user spaces. They
// are small (hundreds of lines), so they are parsed directly, without the SQLite cache.

/// What search and the commands need from any benchmark.
public protocol Bench: AnyObject, Trainer {
    var space: SpaceInfo { get }
    /// The label printed with every result from it.
    var label: String { get }
    var isSynthetic: Bool { get }
    var count: Int { get }
    /// Every architecture, with mean metrics over its runs, in the trainer's index order.
    func architectures() throws -> ArchSet
    func index(of hash: Digest128) -> Int?
}

extension BenchmarkTable: Bench {
    public var space: SpaceInfo { .nb101 }
    public var label: String { source.label }
    public func architectures() throws -> ArchSet { try ArchSet.all(self) }
}

/// One recorded run of a non-NB101 benchmark.
public struct GraphRun: Sendable, Equatable {
    public var validation: Double
    public var test: Double
    public var time: Double

    public init(validation: Double, test: Double, time: Double) {
        self.validation = validation
        self.test = test
        self.time = time
    }
}

public final class GraphBenchmark: Bench, Sendable {
    public let space: SpaceInfo
    public let label: String
    let archs: [Architecture]
    public let hashes: [Digest128]
    public let runs: [[GraphRun]]
    /// Lines skipped on purpose (NAS-Bench-NLP runs whose status is not OK), reported.
    public let skipped: [String]
    private let lookup: [Digest128: Int]

    public init(space: SpaceInfo, label: String, rows: [(Architecture, Digest128, GraphRun)], skipped: [String] = []) {
        var archs: [Architecture] = [], hashes: [Digest128] = [], runs: [[GraphRun]] = [], lookup: [Digest128: Int] = [:]
        for (a, h, r) in rows {
            if let i = lookup[h] { runs[i].append(r); continue }
            lookup[h] = archs.count
            archs.append(a)
            hashes.append(h)
            runs.append([r])
        }
        self.space = space
        self.label = label
        self.archs = archs
        self.hashes = hashes
        self.runs = runs
        self.skipped = skipped
        self.lookup = lookup
    }

    public var isSynthetic: Bool { false }
    public var count: Int { archs.count }
    public func index(of hash: Digest128) -> Int? { lookup[hash] }

    public func architectures() throws -> ArchSet {
        let entries = archs.indices.map { i -> ArchEntry in
            ArchEntry(arch: archs[i], hash: hashes[i], validation: Self.mean(runs[i].map(\.validation)), test: Self.mean(runs[i].map(\.test)))
        }
        return ArchSet(entries: entries, label: label, space: space)
    }

    static func mean(_ xs: [Double]) -> Double {
        let v = xs.filter { !$0.isNaN }
        return v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count)
    }

    /// One recorded run drawn per architecture (the official query semantics); test is the
    /// mean over runs.
    public func train(_ cells: [Int], epochs: Int?, rng: inout RandomStream) throws -> [Observation] {
        if let e = epochs { throw RuntimeError.unusable(.oneBudget(label: label, epochs: e)) }
        return cells.map { i in
            let r = runs[i].count == 1 ? runs[i][0] : runs[i][rng.int(below: runs[i].count)]
            return Observation(cell: i, validation: r.validation, test: Self.mean(runs[i].map(\.test)), trainingTime: r.time)
        }
    }

    // MARK: loaders

    /// Lines of a JSONL file with their numbers, blank lines dropped.
    static func lines(_ path: String) throws -> [(Int, JSONValue)] {
        let file = try MappedFile(path: path)
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        var out: [(Int, JSONValue)] = []
        var start = 0, number = 1
        func take(_ end: Int) throws {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if !slice.allSatisfy({ [32, 9, 13].contains($0) }) {
                do { out.append((number, try JSONValue.parse(slice, allowNonFinite: true))) } catch let e as JSONSyntaxError {
                    throw RuntimeError.malformed(.line(path, number), .json("\(e)"))
                }
            }
        }
        for i in 0..<bytes.count where bytes[i] == 10 {
            try take(i)
            start = i + 1
            number += 1
        }
        if start < bytes.count { try take(bytes.count) }
        if out.isEmpty { throw RuntimeError.emptyFile(path) }
        return out
    }

    static func metricValue(_ v: JSONValue, _ key: String, _ place: DataPlace, required: Bool = true) throws -> Double {
        guard let x = v[key] else {
            if required { throw RuntimeError.malformed(place, .missingMetric(key)) }
            return .nan
        }
        guard let n = x.number, n.isFinite else { throw RuntimeError.malformed(place, .notFinite(key)) }
        return n
    }

    /// The seed's ProxylessNAS pairs: {"arch": [22 codes], "val_acc": fraction}.
    static func loadProxyless(_ path: String) throws -> GraphBenchmark {
        let rows = try lines(path).map { number, v -> (Architecture, Digest128, GraphRun) in
            let place = DataPlace.line(path, number)
            let a = try ProxylessArch(json: v, at: place)
            let val = try metricValue(v, "val_acc", place)
            guard val >= 0 && val <= 1 else { throw RuntimeError.malformed(place, .notFraction("val_acc", val)) }
            return (.proxyless(a), a.hash, GraphRun(validation: val, test: try metricValue(v, "test_acc", place, required: false), time: .nan))
        }
        return GraphBenchmark(space: .proxyless, label: path, rows: rows)
    }

    /// NAS-Bench-NLP logs: the final epoch's validation loss (and test loss) of each run
    /// whose status is OK; others are skipped and listed.
    static func loadNLP(_ path: String) throws -> GraphBenchmark {
        var rows: [(Architecture, Digest128, GraphRun)] = [], skipped: [String] = []
        var largest = 0
        for (number, v) in try lines(path) {
            let place = DataPlace.line(path, number)
            guard let status = v["status"]?.string else { throw RuntimeError.malformed(place, .missingField(.status)) }
            let id = v["recepie_id"]?.number.map { String(Int($0)) } ?? "line \(number)"
            guard let recipe = v["recepie"] else { throw RuntimeError.malformed(place, .missingField(.recipe)) }
            var r = recipe
            if case .string(let text) = recipe {
                do { r = try JSONValue.parse(text) } catch let e as JSONSyntaxError {
                    throw RuntimeError.malformed(place, .recipeText("\(e)"))
                }
            }
            let g = try NLPSpace.graph(recipe: r, at: place)
            if status != "OK" { skipped.append("\(id) (\(status))"); continue }
            func last(_ key: String, required: Bool) throws -> Double {
                guard let list = v[key]?.array, let x = list.last?.number else {
                    if required { throw RuntimeError.malformed(place, .missingLossCurve(key)) }
                    return .nan
                }
                guard x.isFinite else { throw RuntimeError.malformed(place, .lastLossNotFinite(key, x)) }
                return x
            }
            let time = v["wall_times"]?.array?.last?.number ?? .nan
            largest = max(largest, g.vertices)
            let hash = MD5.digest("nlp:" + NLPSpace.canonicalText(recipe: r))
            rows.append((.graph(g), hash, GraphRun(validation: try last("val_losses", required: true), test: try last("test_losses", required: false), time: time)))
        }
        return GraphBenchmark(space: NLPSpace.info(maxVertices: largest), label: path, rows: rows, skipped: skipped)
    }

    /// A user space: a header line, then one architecture a line (see `UserSpaceHeader`).
    public static func loadUser(_ path: String) throws -> GraphBenchmark {
        let all = try lines(path)
        let header = try UserSpaceHeader.parse(all[0].1, at: .line(path, all[0].0))
        var rows: [(Architecture, Digest128, GraphRun)] = []
        var largest = header.rules?.maxVertices ?? 0
        // A pool: no line has the metric — untrained candidates. Some with and some without
        // is a mistake in the file, and the first line without it is named.
        let pool = all.count > 1 && all.dropFirst().allSatisfy { $0.1[header.metric] == nil }
        for (number, v) in all.dropFirst() {
            let place = DataPlace.line(path, number)
            let g = try GraphBuilder.graph(json: v, vocabulary: header.ops, at: place)
            largest = max(largest, g.vertices)
            let val = pool ? .nan : try header.metricValue(try metricValue(v, header.metric, place), field: header.metric, at: place)
            let test = try header.testMetric.map { try header.metricValue(try metricValue(v, $0, place, required: false), field: $0, at: place) } ?? .nan
            let time = try header.timeField.map { try metricValue(v, $0, place, required: false) * header.timeScale } ?? .nan
            rows.append((.graph(g), UserSpaceHeader.identity(space: header.name, labels: header.ops, g), GraphRun(validation: val, test: test, time: time)))
        }
        guard !rows.isEmpty || header.rules != nil else {
            throw RuntimeError.malformed(.line(path, all[0].0), .noArchitectures)
        }
        var info = SpaceInfo(name: header.name, kind: .user, opLabels: header.ops, maxVertices: max(largest, 2), lowerIsBetter: header.lowerIsBetter,
                             metricName: header.metric, metric: header.metricKind)
        info.rules = header.rules
        if header.unit == "percent" { info.percent = true }
        return GraphBenchmark(space: info, label: path, rows: rows)
    }

    /// Which loader a JSONL file needs, from its first line: nil for an NB101 table.
    public static func sniff(_ path: String) throws -> ((String) throws -> GraphBenchmark)? {
        guard path.hasSuffix(".jsonl") else { return nil }
        let file = try MappedFile(path: path)
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        var start = 0
        while start < bytes.count, [32, 9, 13, 10].contains(bytes[start]) { start += 1 }
        var end = start
        while end < bytes.count, bytes[end] != 10 { end += 1 }
        guard let first = try? JSONValue.parse(UnsafeBufferPointer(rebasing: bytes[start..<end])) else { return nil }
        if first["npsh_space"] != nil { return loadUser }
        if first["recepie"] != nil { return loadNLP }
        if first["arch"] != nil { return loadProxyless }
        return nil
    }
}
