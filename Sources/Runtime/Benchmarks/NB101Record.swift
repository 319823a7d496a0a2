import Dispatch

// One record of the official NAS-Bench-101 files: a JSON array
//
//   [module_hash, epochs, adjacency ("0110…", row-major), ops ("input,…,output"),
//    base64(ModelMetrics protobuf)]
//
// with, from nasbench/lib/model_metrics.proto:
//
//   message ModelMetrics   { repeated EvaluationData evaluation_data = 1;
//                            int32 trainable_parameters = 2; double total_time = 3; }
//   message EvaluationData { double current_epoch = 1; double training_time = 2;
//                            double train_accuracy = 3; double validation_accuracy = 4;
//                            double test_accuracy = 5; string checkpoint_path = 6; }

struct EvaluationData: Equatable, Sendable {
    var currentEpoch = 0.0
    var trainingTime = 0.0
    var trainAccuracy = 0.0
    var validationAccuracy = 0.0
    var testAccuracy = 0.0
    var checkpointPath = ""

    public init(currentEpoch: Double = 0, trainingTime: Double = 0, trainAccuracy: Double = 0,
                validationAccuracy: Double = 0, testAccuracy: Double = 0, checkpointPath: String = "") {
        self.currentEpoch = currentEpoch
        self.trainingTime = trainingTime
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.testAccuracy = testAccuracy
        self.checkpointPath = checkpointPath
    }
}

struct ModelMetrics: Equatable, Sendable {
    var evaluationData: [EvaluationData] = []
    var trainableParameters: Int32 = 0
    var totalTime = 0.0

    public init(evaluationData: [EvaluationData] = [], trainableParameters: Int32 = 0, totalTime: Double = 0) {
        self.evaluationData = evaluationData
        self.trainableParameters = trainableParameters
        self.totalTime = totalTime
    }
}

/// A decoded record.
struct NB101Record: Equatable, Sendable {
    public var hash: Digest128
    public var epochs: Int
    public var cell: NB101Cell
    public var metrics: ModelMetrics

    public init(hash: Digest128, epochs: Int, cell: NB101Cell, metrics: ModelMetrics) {
        self.hash = hash
        self.epochs = epochs
        self.cell = cell
        self.metrics = metrics
    }

    /// The run this record describes: final and halfway evaluations.
    public var run: RunRecord {
        let ev = metrics.evaluationData
        let final = ev.last ?? EvaluationData()
        var r = RunRecord(trainAccuracy: Float(final.trainAccuracy), validationAccuracy: Float(final.validationAccuracy),
                          testAccuracy: Float(final.testAccuracy), trainingTime: Float(final.trainingTime))
        if ev.count >= 3 {
            let half = ev[ev.count / 2]
            r.halfwayTrainAccuracy = Float(half.trainAccuracy)
            r.halfwayValidationAccuracy = Float(half.validationAccuracy)
            r.halfwayTestAccuracy = Float(half.testAccuracy)
            r.halfwayTrainingTime = Float(half.trainingTime)
        }
        return r
    }
}

/// Protobuf wire format, just what ModelMetrics needs.
enum Proto {
    struct Failure: Error { var message: String }

    static func varint(_ p: UnsafeRawBufferPointer, _ i: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < p.count else { throw Failure(message: "truncated varint") }
            let b = p[i]
            i += 1
            if shift == 63 && b > 1 { throw Failure(message: "varint overflow") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw Failure(message: "varint overflow") }
        }
    }

    static func double(_ p: UnsafeRawBufferPointer, _ i: inout Int) throws -> Double {
        guard i + 8 <= p.count else { throw Failure(message: "truncated double") }
        let v = Double(bitPattern: p.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
        i += 8
        return v
    }

    static func skip(_ wire: UInt64, _ p: UnsafeRawBufferPointer, _ i: inout Int) throws {
        switch wire {
        case 0: _ = try varint(p, &i)
        case 1: guard i + 8 <= p.count else { throw Failure(message: "truncated field") }; i += 8
        case 2:
            let n = try varint(p, &i)
            guard n <= UInt64(p.count - i) else { throw Failure(message: "truncated field") }
            i += Int(n)
        case 5: guard i + 4 <= p.count else { throw Failure(message: "truncated field") }; i += 4
        default: throw Failure(message: "invalid wire type \(wire)")
        }
    }

    static func expectWire(_ field: UInt64, _ wire: UInt64, _ expected: UInt64) throws {
        if wire != expected { throw Failure(message: "field \(field) has wire type \(wire), expected \(expected)") }
    }

    static func decodeEvaluation(_ p: UnsafeRawBufferPointer) throws -> EvaluationData {
        var e = EvaluationData()
        var i = 0
        while i < p.count {
            let key = try varint(p, &i)
            let field = key >> 3, wire = key & 7
            switch field {
            case 1...5:
                try expectWire(field, wire, 1)
                let v = try double(p, &i)
                switch field {
                case 1: e.currentEpoch = v
                case 2: e.trainingTime = v
                case 3: e.trainAccuracy = v
                case 4: e.validationAccuracy = v
                default: e.testAccuracy = v
                }
            case 6:
                try expectWire(field, wire, 2)
                let n = try varint(p, &i)
                guard n <= UInt64(p.count - i) else { throw Failure(message: "truncated checkpoint_path") }
                e.checkpointPath = String(decoding: UnsafeRawBufferPointer(rebasing: p[i..<(i + Int(n))]), as: UTF8.self)
                i += Int(n)
            default: try skip(wire, p, &i)
            }
        }
        return e
    }

    static func decodeMetrics(_ p: UnsafeRawBufferPointer) throws -> ModelMetrics {
        var m = ModelMetrics()
        var i = 0
        while i < p.count {
            let key = try varint(p, &i)
            let field = key >> 3, wire = key & 7
            switch field {
            case 1:
                try expectWire(field, wire, 2)
                let n = try varint(p, &i)
                guard n <= UInt64(p.count - i) else { throw Failure(message: "truncated evaluation_data") }
                m.evaluationData.append(try decodeEvaluation(UnsafeRawBufferPointer(rebasing: p[i..<(i + Int(n))])))
                i += Int(n)
            case 2:
                try expectWire(field, wire, 0)
                m.trainableParameters = Int32(truncatingIfNeeded: try varint(p, &i))
            case 3:
                try expectWire(field, wire, 1)
                m.totalTime = try double(p, &i)
            default: try skip(wire, p, &i)
            }
        }
        return m
    }

    static func appendVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func appendDouble(_ field: UInt64, _ v: Double, _ out: inout [UInt8]) {
        appendVarint(field << 3 | 1, &out)
        var bits = v.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { out += $0 }
    }

    static func encode(_ m: ModelMetrics) -> [UInt8] {
        var out: [UInt8] = []
        for e in m.evaluationData {
            var sub: [UInt8] = []
            appendDouble(1, e.currentEpoch, &sub)
            appendDouble(2, e.trainingTime, &sub)
            appendDouble(3, e.trainAccuracy, &sub)
            appendDouble(4, e.validationAccuracy, &sub)
            appendDouble(5, e.testAccuracy, &sub)
            if !e.checkpointPath.isEmpty {
                let s = Array(e.checkpointPath.utf8)
                appendVarint(6 << 3 | 2, &sub)
                appendVarint(UInt64(s.count), &sub)
                sub += s
            }
            appendVarint(1 << 3 | 2, &out)
            appendVarint(UInt64(sub.count), &out)
            out += sub
        }
        appendVarint(2 << 3, &out)
        appendVarint(UInt64(UInt32(bitPattern: m.trainableParameters)), &out)
        appendDouble(3, m.totalTime, &out)
        return out
    }
}

extension NB101Record {
    /// Decodes one record's data (the JSON row). `place` names the record in errors.
    static func decode(_ data: UnsafeRawBufferPointer, at place: DataPlace) throws -> NB101Record {
        func bad(_ problem: RecordProblem) -> RuntimeError { .malformed(place, problem) }
        let bytes = data.bindMemory(to: UInt8.self)
        var s = JSONScanner(bytes)
        let hash: Digest128, epochs: Int, cell: NB101Cell, metricsBytes: [UInt8]
        do {
            try s.expect(UInt8(ascii: "["))
            let hashBytes = try s.stringBytes()
            guard let h = Digest128(hexBytes: hashBytes) else {
                throw bad(.moduleHash(String(decoding: hashBytes, as: UTF8.self)))
            }
            hash = h
            try s.expect(UInt8(ascii: ","))
            let e = try s.number()
            guard e >= 0, e <= 10_000, e == e.rounded() else { throw bad(.epochsNotWhole(e)) }
            epochs = Int(e)
            try s.expect(UInt8(ascii: ","))
            let adjacency = Array(try s.stringBytes())
            try s.expect(UInt8(ascii: ","))
            let opsBytes = Array(try s.stringBytes())
            try s.expect(UInt8(ascii: ","))
            let encoded = try s.stringBytes()
            guard let m = encoded.withUnsafeBufferPointer({ Base64.decode($0) }) else {
                throw bad(.notBase64)
            }
            metricsBytes = m
            try s.expect(UInt8(ascii: "]"))
            try s.end()
            if let fast = NB101Cell(recordAdjacency: adjacency, ops: opsBytes) {
                cell = fast
            } else {
                let ops = String(decoding: opsBytes, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                var n = 0
                while n * n < adjacency.count { n += 1 }
                guard n * n == adjacency.count else {
                    throw bad(.adjacencyNotSquare(adjacency.count))
                }
                var matrix = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
                for (k, c) in adjacency.enumerated() {
                    guard c == 48 || c == 49 else { throw bad(.adjacencyDigit(k, Character(Unicode.Scalar(c)))) }
                    matrix[k / n][k % n] = Int(c - 48)
                }
                cell = try NB101Cell(matrix: matrix, ops: ops, at: place)
            }
        } catch let e as JSONSyntaxError {
            throw bad(.jsonRow("\(e)"))
        }
        let metrics: ModelMetrics
        do {
            metrics = try metricsBytes.withUnsafeBytes { try Proto.decodeMetrics($0) }
        } catch let e as Proto.Failure {
            throw bad(.protobuf(e.message))
        }
        return NB101Record(hash: hash, epochs: epochs, cell: cell, metrics: metrics)
    }

    /// The record's data, as the official files hold it.
    func encode() -> [UInt8] {
        let row = "[\(JSONWriter.quote(hash.hex)), \(epochs), \(JSONWriter.quote(cell.adjacencyString)), "
            + "\(JSONWriter.quote(cell.ops.joined(separator: ","))), \(JSONWriter.quote(Base64.encode(Proto.encode(metrics))))]"
        return Array(row.utf8)
    }
}

/// Reads an official NAS-Bench-101 `.tfrecord` (only108 or full) into a table.
enum NB101TFRecordLoader {
    /// The table and a content digest of the file (a fold of every record's CRC).
    public static func load(path: String, threads: Int = defaultThreads) throws -> (BenchmarkTable, UInt64) {
        let file = try MappedFile(path: path)
        let frames = try TFRecord.frames(file)
        // Decoded to compact rows at once: the ModelMetrics arrays are not kept.
        let records: [(Digest128, NB101Cell, Int32, Int, RunRecord)] = try parallelDecode(count: frames.count, threads: threads) { k in
            let f = frames[k]
            try TFRecord.checkData(file, f)
            let data = UnsafeRawBufferPointer(rebasing: file.bytes[f.dataOffset..<(f.dataOffset + f.length)])
            let r = try NB101Record.decode(data, at: .record(file.path, f.index, offset: f.offset))
            return (r.hash, r.cell, r.metrics.trainableParameters, r.epochs, r.run)
        }
        var digest: UInt64 = 0x6e70_7368
        for f in frames {
            let crc = file.bytes.loadUnaligned(fromByteOffset: f.dataOffset + f.length, as: UInt32.self)
            digest = mix64(digest ^ UInt64(crc) ^ UInt64(f.length) << 32)
        }
        return (assemble(records, source: .tfrecord(path), capacity: frames.count / 3), digest)
    }

    /// Groups records by hash into a table.
    static func assemble(_ records: [(Digest128, NB101Cell, Int32, Int, RunRecord)], source: BenchmarkSource, capacity: Int) -> BenchmarkTable {
        var builder = BenchmarkBuilder(capacity: capacity)
        for (hash, cell, params, epochs, run) in records {
            builder.addRun(builder.add(hash: hash, cell: cell, parameters: params), epochs: epochs, run)
        }
        return builder.build(source: source)
    }
}

/// Writes a table in the official tfrecord format: one record per run, each with the
/// evaluations at epoch 0, halfway (when recorded) and the final epoch.
enum NB101TFRecordWriter {
    public static func write(_ table: BenchmarkTable, to path: String) throws {
        let out = try FileWriter(path: path)
        for budget in table.budgets {
            for i in 0..<table.count {
                for run in budget.runs(i) {
                    var evals = [EvaluationData(currentEpoch: 0)]
                    if !run.halfwayValidationAccuracy.isNaN {
                        evals.append(EvaluationData(
                            currentEpoch: Double(budget.epochs / 2), trainingTime: Double(run.halfwayTrainingTime),
                            trainAccuracy: Double(run.halfwayTrainAccuracy), validationAccuracy: Double(run.halfwayValidationAccuracy),
                            testAccuracy: Double(run.halfwayTestAccuracy)))
                    }
                    evals.append(EvaluationData(
                        currentEpoch: Double(budget.epochs), trainingTime: Double(run.trainingTime),
                        trainAccuracy: Double(run.trainAccuracy), validationAccuracy: Double(run.validationAccuracy),
                        testAccuracy: Double(run.testAccuracy)))
                    let metrics = ModelMetrics(evaluationData: evals, trainableParameters: table.parameters[i],
                                               totalTime: Double(run.trainingTime))
                    let record = NB101Record(hash: table.hashes[i], epochs: budget.epochs, cell: table.cells[i], metrics: metrics)
                    try out.write(TFRecord.frame(record.encode()))
                }
            }
        }
        try out.close()
    }
}

extension NB101Cell {
    /// The fast path for official records: an already-pruned, valid cell given as a
    /// row-major digit string and comma-separated op names. Returns nil for anything
    /// unusual, and the caller then takes the validating path for a precise error.
    init?(recordAdjacency adj: [UInt8], ops: [UInt8]) {
        let n: Int
        switch adj.count {
        case 4: n = 2
        case 9: n = 3
        case 16: n = 4
        case 25: n = 5
        case 36: n = 6
        case 49: n = 7
        default: return nil
        }
        var bits: UInt64 = 0
        var hasOut: UInt8 = 0, hasIn: UInt8 = 0
        for r in 0..<n {
            for c in 0..<n {
                let d = adj[r * n + c]
                if d == 49 {
                    if c <= r { return nil }
                    bits |= 1 << UInt64(r * 7 + c)
                    hasOut |= 1 << UInt8(r)
                    hasIn |= 1 << UInt8(c)
                } else if d != 48 {
                    return nil
                }
            }
        }
        // Every vertex on an input→output path: nothing to prune.
        let needOut = UInt8((1 << (n - 1)) - 1), needIn = UInt8(((1 << n) - 1) & ~1)
        if hasOut & needOut != needOut || hasIn & needIn != needIn || bits.nonzeroBitCount > Self.maxEdges { return nil }
        // Ops: "input,<op>,…,output".
        var interior: UInt16 = 0
        var v = 0
        var start = 0
        for i in 0...ops.count where i == ops.count || ops[i] == 44 {
            let name = ops[start..<i]
            if v == 0 {
                if !name.elementsEqual("input".utf8) { return nil }
            } else if v == n - 1 {
                if !name.elementsEqual("output".utf8) { return nil }
            } else if v < n - 1 {
                let op: NB101Op
                if name.elementsEqual("conv3x3-bn-relu".utf8) { op = .conv3x3 }
                else if name.elementsEqual("conv1x1-bn-relu".utf8) { op = .conv1x1 }
                else if name.elementsEqual("maxpool3x3".utf8) { op = .maxpool3x3 }
                else { return nil }
                interior |= UInt16(op.rawValue) << UInt16(2 * (v - 1))
            }
            v += 1
            start = i + 1
        }
        if v != n { return nil }
        self.init(uncheckedVertices: n, adjacency: bits, interior: interior)
    }
}
