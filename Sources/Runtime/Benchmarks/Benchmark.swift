// A benchmark is a table from architectures to recorded training runs. Every source — the
// official tfrecord, a JSONL table, the SQLite cache, the synthetic landscape — produces the
// same `BenchmarkTable`, and search code sees it only through `Trainer`, so a real training
// command can later stand where a table stands.

/// What a source recorded for one training run. Unknown values are NaN.
public struct RunRecord: Equatable, Sendable {
    var trainAccuracy: Float
    var validationAccuracy: Float
    var testAccuracy: Float
    var trainingTime: Float
    var halfwayTrainAccuracy: Float
    var halfwayValidationAccuracy: Float
    var halfwayTestAccuracy: Float
    var halfwayTrainingTime: Float

    static let fieldCount = 8

    public init(
        trainAccuracy: Float = .nan, validationAccuracy: Float, testAccuracy: Float = .nan,
        trainingTime: Float = .nan, halfwayTrainAccuracy: Float = .nan, halfwayValidationAccuracy: Float = .nan,
        halfwayTestAccuracy: Float = .nan, halfwayTrainingTime: Float = .nan
    ) {
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.testAccuracy = testAccuracy
        self.trainingTime = trainingTime
        self.halfwayTrainAccuracy = halfwayTrainAccuracy
        self.halfwayValidationAccuracy = halfwayValidationAccuracy
        self.halfwayTestAccuracy = halfwayTestAccuracy
        self.halfwayTrainingTime = halfwayTrainingTime
    }

    init(fields f: UnsafePointer<Float>) {
        self.init(trainAccuracy: f[0], validationAccuracy: f[1], testAccuracy: f[2], trainingTime: f[3],
                  halfwayTrainAccuracy: f[4], halfwayValidationAccuracy: f[5], halfwayTestAccuracy: f[6],
                  halfwayTrainingTime: f[7])
    }

    var fields: [Float] {
        [trainAccuracy, validationAccuracy, testAccuracy, trainingTime,
         halfwayTrainAccuracy, halfwayValidationAccuracy, halfwayTestAccuracy, halfwayTrainingTime]
    }

    public static func == (a: RunRecord, b: RunRecord) -> Bool {
        zip(a.fields, b.fields).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }
}

/// The recorded runs of every cell at one epoch budget, in flat arrays.
public struct RunTable: Sendable, Equatable {
    public let epochs: Int
    /// Runs of cell i are `offsets[i] ..< offsets[i + 1]`.
    public let offsets: [Int32]
    /// `RunRecord.fieldCount` floats per run.
    let fields: [Float]

    public init(epochs: Int, offsets: [Int32], fields: [Float]) {
        precondition(fields.count == Int(offsets.last ?? 0) * RunRecord.fieldCount)
        self.epochs = epochs
        self.offsets = offsets
        self.fields = fields
    }

    func runCount(_ cell: Int) -> Int { Int(offsets[cell + 1] - offsets[cell]) }

    public func run(_ cell: Int, _ k: Int) -> RunRecord {
        fields.withUnsafeBufferPointer { RunRecord(fields: $0.baseAddress! + (Int(offsets[cell]) + k) * RunRecord.fieldCount) }
    }

    public func runs(_ cell: Int) -> [RunRecord] { (0..<runCount(cell)).map { run(cell, $0) } }
}

/// Where a benchmark came from.
public enum BenchmarkSource: Sendable, Equatable {
    case synthetic
    case tfrecord(String)
    case jsonl(String)

    /// The label printed wherever results from this benchmark are reported.
    public var label: String {
        switch self {
        case .synthetic: return "synthetic"
        case .tfrecord(let p), .jsonl(let p): return p
        }
    }
}

/// A NAS-Bench-101 benchmark: cells sorted by hash, their parameters and recorded runs.
public final class BenchmarkTable: Sendable {
    public let source: BenchmarkSource
    public let cells: [NB101Cell]
    public let hashes: [Digest128]
    /// Trainable parameters; -1 where unknown.
    public let parameters: [Int32]
    /// One table per epoch budget, ascending.
    public let budgets: [RunTable]
    /// The budget `train` and `all` report by default (108 when recorded).
    let defaultEpochs: Int

    public init(source: BenchmarkSource, cells: [NB101Cell], hashes: [Digest128], parameters: [Int32], budgets: [RunTable]) {
        precondition(cells.count == hashes.count && cells.count == parameters.count)
        self.source = source
        self.cells = cells
        self.hashes = hashes
        self.parameters = parameters
        self.budgets = budgets.sorted { $0.epochs < $1.epochs }
        defaultEpochs = budgets.contains { $0.epochs == 108 } ? 108 : (budgets.map(\.epochs).max() ?? 108)
    }

    public var count: Int { cells.count }
    public var isSynthetic: Bool { source == .synthetic }
    var epochBudgets: [Int] { budgets.map(\.epochs) }

    /// Total number of recorded runs over all budgets.
    var runCount: Int { budgets.reduce(0) { $0 + Int($1.offsets.last ?? 0) } }

    func runTable(epochs: Int? = nil) throws -> RunTable {
        let e = epochs ?? defaultEpochs
        guard let t = budgets.first(where: { $0.epochs == e }) else {
            throw RuntimeError.unusable(.noRunsAt(label: source.label, epochs: e, recorded: epochBudgets))
        }
        return t
    }

    /// The index of a hash, by binary search.
    public func index(of hash: Digest128) -> Int? { sortedIndex(of: hash, in: hashes) }

    /// Mean test accuracy over the recorded runs (NaN when none recorded a test accuracy).
    func meanTest(_ cell: Int, epochs: Int? = nil) throws -> Double {
        try meanOf(cell, epochs: epochs) { $0.testAccuracy }
    }

    /// Mean validation accuracy over the recorded runs.
    func meanValidation(_ cell: Int, epochs: Int? = nil) throws -> Double {
        try meanOf(cell, epochs: epochs) { $0.validationAccuracy }
    }

    private func meanOf(_ cell: Int, epochs: Int?, _ f: (RunRecord) -> Float) throws -> Double {
        let t = try runTable(epochs: epochs)
        var sum = 0.0, n = 0
        for k in 0..<t.runCount(cell) {
            let v = f(t.run(cell, k))
            if !v.isNaN { sum += Double(v); n += 1 }
        }
        return n == 0 ? .nan : sum / Double(n)
    }
}

/// One architecture "trained" once: what the official API's `query` returns.
public struct Observation: Equatable, Sendable {
    public var cell: Int
    /// Validation accuracy of the run picked (fraction).
    public var validation: Double
    /// Test accuracy, mean over the recorded runs (fraction; NaN if none recorded).
    public var test: Double
    /// Training time of the run picked, seconds (NaN if not recorded).
    var trainingTime: Double
}

/// Anything that can train architectures: a benchmark table today, a user's training
/// command tomorrow. Draws come from the stream passed in, so results are reproducible.
public protocol Trainer: Sendable {
    func train(_ cells: [Int], epochs: Int?, rng: inout RandomStream) throws -> [Observation]
}

extension BenchmarkTable: Trainer {
    /// The official query semantics: each training picks one recorded run uniformly at
    /// random and reports its validation accuracy; test accuracy is the mean over runs.
    public func train(_ cells: [Int], epochs: Int? = nil, rng: inout RandomStream) throws -> [Observation] {
        let t = try runTable(epochs: epochs)
        return try cells.map { i in
            let n = t.runCount(i)
            guard n > 0 else {
                throw RuntimeError.unusable(.noRecordedRun(label: source.label, hash: hashes[i].hex))
            }
            let run = t.run(i, rng.int(below: n))
            return Observation(cell: i, validation: Double(run.validationAccuracy),
                               test: try meanTest(i, epochs: epochs), trainingTime: Double(run.trainingTime))
        }
    }
}

/// Collects (hash, cell, parameters, budget, run) rows in any order and builds a table.
/// Runs are kept in flat arrays and grouped by one stable sort, so a 1.27M-run import
/// allocates nothing per cell.
struct BenchmarkBuilder {
    private var index: [Digest128: Int32] = [:]
    private var cells: [NB101Cell] = []
    private var hashes: [Digest128] = []
    private var params: [Int32] = []
    private var runRows: [Int32] = []
    private var runEpochs: [Int32] = []
    private var runs: [RunRecord] = []

    public init(capacity: Int = 0) {
        index.reserveCapacity(capacity)
        cells.reserveCapacity(capacity)
        hashes.reserveCapacity(capacity)
        params.reserveCapacity(capacity)
    }

    /// The row index of a hash, adding the cell if new.
    public mutating func add(hash: Digest128, cell: NB101Cell, parameters: Int32) -> Int {
        if let i = index[hash] { return Int(i) }
        let i = cells.count
        index[hash] = Int32(i)
        cells.append(cell)
        hashes.append(hash)
        params.append(parameters)
        return i
    }

    mutating func addRun(_ row: Int, epochs: Int, _ run: RunRecord) {
        runRows.append(Int32(row))
        runEpochs.append(Int32(epochs))
        runs.append(run)
    }

    public func build(source: BenchmarkSource) -> BenchmarkTable {
        let order = cells.indices.sorted { hashes[$0] < hashes[$1] }
        var rank = [Int32](repeating: 0, count: cells.count)
        for (r, i) in order.enumerated() { rank[i] = Int32(r) }
        let epochs = Set(runEpochs).sorted()
        // Runs ordered by (budget, cell rank, arrival): a stable sort on a packed key.
        var keyed = runs.indices.map { k in
            (UInt64(epochs.firstIndex(of: runEpochs[k])!) << 56) | (UInt64(rank[Int(runRows[k])]) << 32) | UInt64(k)
        }
        keyed.sort()
        var tables: [RunTable] = []
        var k = 0
        for (b, e) in epochs.enumerated() {
            var offsets = [Int32](repeating: 0, count: cells.count + 1)
            var fields: [Float] = []
            var counts = [Int32](repeating: 0, count: cells.count)
            let start = k
            while k < keyed.count && Int(keyed[k] >> 56) == b {
                counts[Int((keyed[k] >> 32) & 0xff_ffff)] += 1
                k += 1
            }
            for c in 0..<cells.count { offsets[c + 1] = offsets[c] + counts[c] }
            fields.reserveCapacity((k - start) * RunRecord.fieldCount)
            for j in start..<k { fields += runs[Int(keyed[j] & 0xffff_ffff)].fields }
            tables.append(RunTable(epochs: Int(e), offsets: offsets, fields: fields))
        }
        return BenchmarkTable(source: source, cells: order.map { cells[$0] }, hashes: order.map { hashes[$0] },
                              parameters: order.map { params[$0] }, budgets: tables)
    }
}
