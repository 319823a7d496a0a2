import Dispatch

// JSONL benchmark tables: one JSON object a line, blank lines ignored.
//
//   {"hash": "…32 hex…",            optional; checked against the cell when present
//    "matrix": [[0,1,…],…], "ops": ["input",…,"output"],
//    "val_acc_108": 0.93,           validation accuracy (fraction) of one run at 108 epochs;
//                                   any val_acc_<E> adds a run at E epochs
//    "test_acc_108": 0.92,          optional test accuracy of that run
//    "training_time_108": 1768.9,   optional, seconds
//    "trainable_parameters": 8555530}   optional
//
// This is the format of the shared nb101-20k.jsonl. Several lines for the same cell add
// runs. The default budget is 108 epochs when present; `metric: "val_acc_36"` picks another.

enum JSONLTableLoader {
    public static func load(path: String, metric: String? = nil, threads: Int = defaultThreads) throws -> (BenchmarkTable, UInt64) {
        let file = try MappedFile(path: path)
        let bytes = file.bytes.bindMemory(to: UInt8.self)
        // Line boundaries.
        var lines: [(start: Int, end: Int, number: Int)] = []
        var start = 0, number = 1
        for i in 0..<bytes.count where bytes[i] == 10 {
            lines.append((start, i, number))
            start = i + 1
            number += 1
        }
        if start < bytes.count { lines.append((start, bytes.count, number)) }
        lines.removeAll { l in (l.start..<l.end).allSatisfy { [32, 9, 13].contains(bytes[$0]) } }
        if lines.isEmpty { throw RuntimeError.emptyFile(path) }
        let wantedEpochs: Int?
        if let metric {
            guard metric.hasPrefix("val_acc_"), let e = Int(metric.dropFirst(8)) else {
                throw RuntimeError.unusable(.metricName(path: path, metric: metric))
            }
            wantedEpochs = e
        } else {
            wantedEpochs = nil
        }
        struct Row { var hash: Digest128; var cell: NB101Cell; var params: Int32; var runs: [(Int, RunRecord)] }
        let found = lines
        let rows: [Row] = try parallelDecode(count: found.count, threads: threads) { k in
            let l = found[k]
            let place = DataPlace.line(path, l.number)
            do {
                let text = UnsafeBufferPointer(rebasing: file.bytes.bindMemory(to: UInt8.self)[l.start..<l.end])
                let (hash, cell, params, runs) = try row(try JSONValue.parse(text), at: place, epochs: wantedEpochs)
                return Row(hash: hash, cell: cell, params: params, runs: runs)
            } catch let err as JSONSyntaxError {
                throw RuntimeError.malformed(place, .json("\(err)"))
            }
        }
        var builder = BenchmarkBuilder(capacity: lines.count)
        for row in rows {
            let i = builder.add(hash: row.hash, cell: row.cell, parameters: row.params)
            for (e, run) in row.runs { builder.addRun(i, epochs: e, run) }
        }
        let digest = UInt64(CRC32C.checksum(file.bytes.baseAddress!, count: file.count)) << 32 | UInt64(file.count & 0xffff_ffff)
        return (builder.build(source: .jsonl(path)), digest)
    }

    /// One line's cell, hash, parameters and runs.
    static func row(_ v: JSONValue, at place: DataPlace, epochs wanted: Int?) throws
        -> (Digest128, NB101Cell, Int32, [(Int, RunRecord)])
    {
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(place, problem) }
        guard case .object(let members) = v else { throw bad(.notAnObject) }
        let (cell, hash) = try ArchitectureJSON.cell(from: v, at: place)
        var params: Int32 = -1
        if let p = v["trainable_parameters"] ?? v["params"] {
            guard let n = p.number, n >= 0, n < 2e9, n == n.rounded() else { throw bad(.trainableParameters) }
            params = Int32(n)
        }
        var runs: [(Int, RunRecord)] = []
        for (key, value) in members where key.hasPrefix("val_acc_") {
            guard let e = Int(key.dropFirst(8)), e > 0 else { throw bad(.valAccName(key)) }
            if let wanted, wanted != e { continue }
            let val = try fraction(value, key, place)
            var run = RunRecord(validationAccuracy: Float(val))
            if let t = v["test_acc_\(e)"] { run.testAccuracy = Float(try fraction(t, "test_acc_\(e)", place)) }
            if let t = v["training_time_\(e)"] {
                guard let s = t.number, s >= 0 else { throw bad(.trainingTime(epochs: e)) }
                run.trainingTime = Float(s)
            }
            runs.append((e, run))
        }
        if runs.isEmpty {
            throw bad(.missingValAcc(epochs: wanted))
        }
        return (hash, cell, params, runs)
    }

    static func fraction(_ v: JSONValue, _ key: String, _ place: DataPlace) throws -> Double {
        guard let x = v.number, x.isFinite else { throw RuntimeError.malformed(place, .notNumber(key)) }
        guard x >= 0, x <= 1 else { throw RuntimeError.malformed(place, .notFraction(key, x)) }
        return x
    }
}

/// Reading and writing cells as JSON objects (`matrix`, `ops`, optional `hash`).
enum ArchitectureJSON {
    /// The validated cell of an object, and its hash; a given hash must match.
    public static func cell(from v: JSONValue, at place: DataPlace) throws -> (NB101Cell, Digest128) {
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(place, problem) }
        guard let rows = v["matrix"]?.array else { throw bad(.missingField(.matrix)) }
        var matrix: [[Int]] = []
        for (r, row) in rows.enumerated() {
            guard let items = row.array else { throw bad(.matrixRowNotList(r)) }
            matrix.append(try items.enumerated().map { c, x in
                guard let n = x.number, n == n.rounded(), abs(n) < 1e9 else { throw bad(.matrixEntryNotInteger(r, c)) }
                return Int(n)
            })
        }
        guard let opsValue = v["ops"]?.array else { throw bad(.missingField(.opNames)) }
        let ops = try opsValue.enumerated().map { i, o in
            guard let s = o.string else { throw bad(.opNotString(i)) }
            return s
        }
        let cell = try NB101Cell(matrix: matrix, ops: ops, at: place)
        let hash = cell.hash
        if let given = v["hash"] {
            guard let text = given.string, let h = Digest128(hex: text) else { throw bad(.notHash("hash")) }
            if h != hash { throw bad(.hashMismatch(given: text, official: hash.hex)) }
        }
        return (cell, hash)
    }
}
