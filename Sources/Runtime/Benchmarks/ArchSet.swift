// Architecture sets: what `all`, `sample`, `load` and later `topk` produce — cells with
// the metrics recorded for them (fractions; NaN where unknown) and the label of the
// benchmark they came from ("synthetic" for the built-in landscape).

public struct ArchEntry: Equatable, Sendable {
    public var arch: Architecture
    public var hash: Digest128
    /// Validation accuracy, fraction (NaN if unknown).
    public var validation: Double
    /// Test accuracy, fraction (NaN if unknown).
    public var test: Double
    /// A trainer failed on it for good (its metrics are NaN): counted where the set is
    /// shown, left out of fits and picks.
    public var failed = false

    public init(arch: Architecture, hash: Digest128, validation: Double, test: Double, failed: Bool = false) {
        self.arch = arch
        self.hash = hash
        self.validation = validation
        self.test = test
        self.failed = failed
    }

    public init(cell: NB101Cell, hash: Digest128, validation: Double, test: Double) {
        self.arch = .nb101(cell)
        self.hash = hash
        self.validation = validation
        self.test = test
    }

    public static func == (a: ArchEntry, b: ArchEntry) -> Bool {
        a.hash == b.hash && a.failed == b.failed && (a.validation == b.validation || a.validation.isNaN && b.validation.isNaN)
            && (a.test == b.test || a.test.isNaN && b.test.isNaN)
    }
}

public struct ArchSet: Equatable, Sendable {
    public var entries: [ArchEntry]
    /// Where the metrics came from: a benchmark's label or a file.
    public var label: String
    /// The space the architectures belong to (and so whether lower metrics are better).
    public var space: SpaceInfo

    public init(entries: [ArchEntry], label: String, space: SpaceInfo = .nb101) {
        self.entries = entries
        self.label = label
        self.space = space
    }

    public var architectures: [Architecture] { entries.map(\.arch) }

    public var count: Int { entries.count }

    /// Every cell of a benchmark with its mean validation and test accuracy over runs.
    public static func all(_ table: BenchmarkTable, epochs: Int? = nil) throws -> ArchSet {
        let t = try table.runTable(epochs: epochs)
        var entries: [ArchEntry] = []
        entries.reserveCapacity(table.count)
        t.fields.withUnsafeBufferPointer { f in
            for i in 0..<table.count {
                var sv = 0.0, nv = 0, st = 0.0, nt = 0
                for k in Int(t.offsets[i])..<Int(t.offsets[i + 1]) {
                    let v = f[k * RunRecord.fieldCount + 1], te = f[k * RunRecord.fieldCount + 2]
                    if !v.isNaN { sv += Double(v); nv += 1 }
                    if !te.isNaN { st += Double(te); nt += 1 }
                }
                entries.append(ArchEntry(cell: table.cells[i], hash: table.hashes[i],
                                         validation: nv > 0 ? sv / Double(nv) : .nan, test: nt > 0 ? st / Double(nt) : .nan))
            }
        }
        return ArchSet(entries: entries, label: table.source.label)
    }

    /// Entries of both, this set's first; a cell in both appears once, as in this set.
    public func union(_ other: ArchSet) -> ArchSet {
        let mine = Set(entries.map(\.hash))
        return ArchSet(entries: entries + other.entries.filter { !mine.contains($0.hash) },
                       label: label == other.label ? label : "\(label) + \(other.label)", space: space)
    }

    /// How many architectures of `other` are also here with different results (a union
    /// keeps this set's).
    public func conflicts(with other: ArchSet) -> Int {
        var mine: [Digest128: (Double, Double)] = [:]
        for e in entries { mine[e.hash] = (e.validation, e.test) }
        func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
        return other.entries.filter { e in mine[e.hash].map { !same($0.0, e.validation) || !same($0.1, e.test) } ?? false }.count
    }

    /// Entries of this set whose cell is not in `other`.
    public func subtracting(_ other: ArchSet) -> ArchSet {
        let theirs = Set(other.entries.map(\.hash))
        return ArchSet(entries: entries.filter { !theirs.contains($0.hash) }, label: label, space: space)
    }

    /// The entry with the best validation metric (highest accuracy, or lowest loss; ties:
    /// the lower hash), if any has one.
    public func best() -> ArchEntry? {
        var best: ArchEntry?
        for e in entries where !e.validation.isNaN {
            if let b = best, !space.better(e.validation, than: b.validation) && !(e.validation == b.validation && e.hash < b.hash) { continue }
            best = e
        }
        return best
    }

    /// Plain JSON: an array of {hash, matrix, ops, val, test}, accuracies in percent (NB101);
    /// {hash, arch, val, test} for ProxylessNAS; {hash, ops, edges, val, test} for graph
    /// spaces, their metric as recorded.
    public func json() -> String {
        var out = "["
        for (k, e) in entries.enumerated() {
            if k > 0 { out += "," }
            out += "\n  {" + Self.jsonFields(e.hash, e.arch, space: space)
            if !e.validation.isNaN { out += ", \"val\": " + JSONWriter.number(space.display(e.validation)) }
            if !e.test.isNaN { out += ", \"test\": " + JSONWriter.number(space.display(e.test)) }
            out += "}"
        }
        return out + (entries.isEmpty ? "]\n" : "\n]\n")
    }

    /// An architecture's identity and graph as JSON members (no braces): `"hash": …,` then
    /// `"matrix", "ops"` (NB101), `"arch"` (ProxylessNAS) or `"ops", "edges"` (graph spaces).
    public static func jsonFields(_ hash: Digest128, _ arch: Architecture, space: SpaceInfo) -> String {
        var out = "\"hash\": \"\(hash.hex)\", "
        switch arch {
        case .nb101(let cell):
            out += "\"matrix\": ["
            out += cell.matrix.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",")
            out += "], \"ops\": [" + cell.ops.map { JSONWriter.quote($0) }.joined(separator: ",") + "]"
        case .proxyless(let p):
            out += "\"arch\": [" + p.codes.map { String($0) }.joined(separator: ",") + "]"
        case .graph(let g):
            out += "\"ops\": [" + g.ops.map { JSONWriter.quote(space.opLabels[min(Int($0), space.opLabels.count - 1)]) }.joined(separator: ",") + "]"
            out += ", \"edges\": [" + (0..<g.vertices).flatMap { r in (0..<g.vertices).filter { g.edge(r, $0) }.map { "[\(r),\($0)]" } }.joined(separator: ",") + "]"
        }
        return out
    }

    /// An architecture's graph as CSV columns, named by `csvGraphHeader(space)`: NB101 the
    /// matrix rows as 0/1 strings joined by "|" and the ops by "|"; ProxylessNAS the 22
    /// codes joined by "-"; graph spaces the ops by "|" and the edges as "from>to" by "|".
    public static func csvGraph(_ arch: Architecture, space: SpaceInfo) -> [String] {
        switch arch {
        case .nb101(let cell):
            return [cell.matrix.map { $0.map(String.init).joined() }.joined(separator: "|"), cell.ops.joined(separator: "|")]
        case .proxyless(let p):
            return [p.codes.map(String.init).joined(separator: "-")]
        case .graph(let g):
            return [g.ops.map { space.opLabels[min(Int($0), space.opLabels.count - 1)] }.joined(separator: "|"),
                    (0..<g.vertices).flatMap { r in (0..<g.vertices).filter { g.edge(r, $0) }.map { "\(r)>\($0)" } }.joined(separator: "|")]
        }
    }

    public static func csvGraphHeader(_ space: SpaceInfo) -> [String] {
        switch space.kind {
        case .nb101: return ["matrix", "ops"]
        case .proxyless: return ["arch"]
        default: return ["ops", "edges"]
        }
    }

    /// CSV with a header row: hash, the graph's columns, val, test (as `json()` scales them).
    public func csv() -> String {
        var rows = [["hash"] + Self.csvGraphHeader(space) + ["val", "test"]]
        for e in entries {
            rows.append([e.hash.hex] + Self.csvGraph(e.arch, space: space) + [CSV.number(space.display(e.validation)), CSV.number(space.display(e.test))])
        }
        return CSV.write(rows)
    }

    /// Reads a set from a file: an exported JSON array (in the form `json()` writes for the
    /// space: accuracies in percent) or a JSONL benchmark table (mean over each
    /// architecture's runs at the default budget).
    public static func load(path: String, store: BenchmarkStore, space: SpaceInfo = .nb101) throws -> ArchSet {
        let file = try MappedFile(path: path)
        var i = 0
        let b = file.bytes
        while i < b.count, [32, 9, 10, 13].contains(b[i]) { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "[") {
            let value: JSONValue
            do { value = try JSONValue.parse(b.bindMemory(to: UInt8.self)) } catch let e as JSONSyntaxError {
                throw RuntimeError.malformed(DataPlace(file: path, position: "byte \(e.offset)"), .json(e.message))
            }
            guard let items = value.array else { throw RuntimeError.malformed(DataPlace(file: path), .notAnArray) }
            let entries = try items.enumerated().map { k, item -> ArchEntry in
                let place = DataPlace(file: path, position: "item \(k)")
                let (arch, hash) = try architecture(from: item, space: space, at: place)
                func metric(_ key: String) throws -> Double {
                    guard let v = item[key] else { return .nan }
                    if !space.isAccuracy {
                        guard let x = v.number, x.isFinite else { throw RuntimeError.malformed(place, .notNumber(key)) }
                        return x
                    }
                    guard let x = v.number, x.isFinite else { throw RuntimeError.malformed(place, .notNumber(key)) }
                    guard x >= 0, x <= 100 else { throw RuntimeError.malformed(place, .notPercent(key, x)) }
                    return x / 100
                }
                return ArchEntry(arch: arch, hash: hash, validation: try metric("val"), test: try metric("test"))
            }
            return ArchSet(entries: entries, label: path, space: space)
        }
        if let loader = try GraphBenchmark.sniff(path) {
            var set = try loader(path).architectures()
            set.label = path
            return set
        }
        let (table, _) = try store.open(path)
        var set = try all(table)
        set.label = path
        return set
    }

    /// One exported item of `space`: NB101 {matrix, ops}, ProxylessNAS {arch}, graph spaces
    /// {ops, edges}. Identity comes from the graph wherever the graph determines it (NB101's
    /// official hash, ProxylessNAS codes, a user space's graph), and a given `hash` that
    /// disagrees is an error; NAS-Bench-NLP keeps the exported hash (a recipe's identity
    /// includes input order, which its graph does not record).
    static func architecture(from item: JSONValue, space: SpaceInfo, at place: DataPlace) throws -> (Architecture, Digest128) {
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(place, problem) }
        switch space.kind {
        case .nb101:
            let (cell, hash) = try ArchitectureJSON.cell(from: item, at: place)
            return (.nb101(cell), hash)
        case .proxyless:
            let a = try ProxylessArch(json: item, at: place)
            return (.proxyless(a), a.hash)
        case .user:
            let g = try GraphBuilder.graph(json: item, vocabulary: space.opLabels, at: place)
            let h = UserSpaceHeader.identity(space: space.name, labels: space.opLabels, g)
            if let given = item["hash"] {
                guard let text = given.string, let d = Digest128(hex: text) else { throw bad(.notHash("hash")) }
                guard d == h else {
                    throw bad(.identityMismatch(given: text, space: space.name, identity: h.hex))
                }
            }
            return (.graph(g), h)
        case .nlp:
            let g = try GraphBuilder.graph(json: item, vocabulary: space.opLabels, at: place)
            guard let text = item["hash"]?.string, let h = Digest128(hex: text) else { throw bad(.missingField(.hash)) }
            return (.graph(g), h)
        }
    }
}
