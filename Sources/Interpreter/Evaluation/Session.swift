import Runtime

/// The state of one npsh session: seed and random streams, bindings, the current space and
/// benchmark, and where output goes.
///
/// Randomness: a command that draws uses `stream(for:)`, keyed by (seed, command name, how
/// many times that command has drawn since the last `seed`). Statements that do not draw —
/// `show`, `export`, `plot`, `help` — never touch a counter, so inserting them leaves every
/// later draw unchanged.
public final class Session {
    public private(set) var seed: UInt64 = 0
    var counters: [String: UInt64] = [:]
    public var bindings: [String: Value] = [:]
    /// The current search space.
    public var space: SpaceInfo = .nb101
    /// Threads for prediction and other parallel work; results never depend on it.
    public var threads = defaultThreads
    var benchTable: (any Bench)? {
        didSet { allSet = nil; candidateSet = nil }
    }
    /// How the benchmark table was opened, so a Slurm task can open it again; nil for a
    /// trainer (and before any bench: the synthetic default).
    var benchOrigin: BenchOrigin?
    /// The candidates of a trainer: the whole NB101 space (not what was trained so far).
    private var candidateSet: ArchSet?
    /// The npsh program, which the synthetic trainer runs as its trainer.
    public lazy var executable = currentExecutable()
    /// The script being run (`npsh run`), whose name the default ledger takes; nil in the REPL.
    public var scriptPath: String?
    /// Set when a statement opened a trainer on the default ledger (its absolute path), so
    /// that the REPL's `save` can name it in the script.
    public var defaultLedgerOpened: String?
    /// Ledgers opened by this session, by absolute path: each holds its lock until the end.
    private var ledgers: [String: Ledger] = [:]
    /// `all` of the current benchmark, built once: `all`, `sample` and `predict` share it.
    private var allSet: ArchSet?
    public let store: BenchmarkStore
    /// Deterministic output (the notebook's `#>` lines).
    public var output: (String) -> Void
    /// Where a notebook front end (the Jupyter kernel) takes each figure: its SVG and a
    /// plain-text fallback. nil in a terminal or a script run.
    public var display: ((_ svg: String, _ text: String) -> Void)?
    /// Notes, timings and progress: never part of the deterministic output.
    public var diagnostics: (String) -> Void
    /// Whether `plot` prints its Unicode preview (set by the REPL on a terminal).
    public var previews = false
    /// Whether Ctrl-C asked the running statement to stop (the process's flag by default).
    public var interruptRequested: () -> Bool = { Interrupt.isRequested }
    /// Progress of long work (fits and searches), on standard error.
    public var progress: ProgressReporter
    /// The files the session reads, by identity, with what they are to it ("the benchmark");
    /// no command may overwrite one.
    private(set) var readFiles: [FileIdentity: String] = [:]
    /// Where relative paths resolve, when that is not the current folder's own name: `npsh
    /// run` runs a script in the script's folder, and a missing file's error says so.
    public var baseFolder: String?

    public init(store: BenchmarkStore, output: @escaping (String) -> Void, diagnostics: @escaping (String) -> Void) {
        self.store = store
        self.output = output
        self.diagnostics = diagnostics
        progress = ProgressReporter(terminal: false, write: { diagnostics(String($0.dropLast())) })
    }

    /// Everything a statement can change: a statement that fails or is interrupted puts it
    /// back, so the session (and a `save`d replay of it) is as if it had never run.
    struct Snapshot {
        let seed: UInt64
        let counters: [String: UInt64]
        let bindings: [String: Value]
        let space: SpaceInfo
        let benchTable: (any Bench)?
        let benchOrigin: BenchOrigin?
        let readFiles: [FileIdentity: String]
        /// How many architectures the trainer had trained (a stopped search may have added some).
        let trained: Int?
    }

    func snapshot() -> Snapshot {
        Snapshot(seed: seed, counters: counters, bindings: bindings, space: space, benchTable: benchTable, benchOrigin: benchOrigin, readFiles: readFiles,
                 trained: (benchTable as? TrainerBench)?.count)
    }

    func restore(_ s: Snapshot) {
        seed = s.seed
        counters = s.counters
        bindings = s.bindings
        space = s.space
        if benchTable !== s.benchTable { benchTable = s.benchTable }
        benchOrigin = s.benchOrigin
        if let n = s.trained, let t = benchTable as? TrainerBench { t.forget(after: n) }
        readFiles = s.readFiles
    }

    /// The default ledger: NAME.ledger.sqlite beside the script NAME.npx, else
    /// npsh.ledger.sqlite in the current folder.
    var defaultLedger: String {
        guard let script = scriptPath else { return "npsh.ledger.sqlite" }
        var name = script.split(separator: "/").last.map(String.init) ?? script
        if name.hasSuffix(".npx") { name.removeLast(4) }
        return name + ".ledger.sqlite"
    }

    /// Closes every ledger the session opened (the end of a run or of the REPL).
    public func close() {
        for l in ledgers.values { l.close() }
        ledgers.removeAll()
    }

    /// The ledger at `path`, opened once per session.
    func ledger(_ path: String) throws -> Ledger {
        let key = absolutePath(path)
        if let l = ledgers[key] {
            guard l.space == space.name else {
                throw RuntimeError.trainer(.ledgerSpace(path, ledger: l.space, session: space.name))
            }
            return l
        }
        let l = try Ledger(path: path, space: space.name)
        ledgers[key] = l
        return l
    }

    /// What sample, predict and search choose from: a table's architectures, or for a
    /// trainer the whole enumerated space (NB101).
    func candidates() throws -> ArchSet {
        guard let t = try bench() as? TrainerBench else { return try allArchitectures() }
        if let c = candidateSet { return c }
        guard t.space.kind == .nb101 else {
            throw CommandProblem.tooLargeToList(space: t.space.name)
        }
        let catalog = try Self.catalog(store)
        let c = ArchSet(entries: zip(catalog.cells, catalog.hashes).map { ArchEntry(cell: $0, hash: $1, validation: .nan, test: .nan) },
                        label: "space nb101", space: .nb101)
        candidateSet = c
        return c
    }

    /// Records that the session reads `path` (as `role`), so that no export overwrites it.
    public func noteRead(_ path: String, as role: String) {
        if let id = FileIdentity(path: path), readFiles[id] == nil { readFiles[id] = role }
    }

    /// Refuses a write to a file the session reads.
    func checkWritable(_ path: String) throws {
        if let id = FileIdentity(path: path), let role = readFiles[id] { throw RuntimeError.wouldOverwriteInput(path, role: role) }
    }

    /// Writes `text` to `path` atomically, refusing to overwrite a file the session reads.
    public func write(_ text: String, to path: String) throws {
        try checkWritable(path)
        try FileWriter.write(text, to: path)
    }

    /// When set (`npsh run --seed N`), every `seed` statement uses this value instead.
    public var seedOverride: UInt64? {
        didSet { if let s = seedOverride { setSeed(s) } }
    }

    public func setSeed(_ s: UInt64) {
        seed = seedOverride ?? s
        counters.removeAll()
    }

    /// The next stream for a drawing command.
    func stream(for command: String) -> RandomStream {
        let n = counters[command, default: 0]
        counters[command] = n + 1
        return RandomStream(seed: seed, path: [.name(command), .index(n)])
    }

    /// The current benchmark; the synthetic landscape unless `bench` chose another.
    func bench() throws -> any Bench {
        if let b = benchTable { return b }
        guard space.kind == .nb101 else {
            let hint: String
            switch space.kind {
            case .proxyless: hint = "bench \"FILE.jsonl\" with {\"arch\": [22 codes], \"val_acc\": …} lines"
            case .nlp: hint = "bench \"FILE.jsonl\" with NAS-Bench-NLP logs"
            default: hint = "bench FILE"
            }
            throw CommandProblem.noBuiltinBenchmark(space: space.name, hint: hint)
        }
        let b = try Self.synthetic(store)
        benchTable = b
        return b
    }

    /// Every architecture of the current benchmark with its mean metrics.
    func allArchitectures() throws -> ArchSet {
        // A trainer's `all` grows as it trains: never cached.
        if let t = try bench() as? TrainerBench { return try t.architectures() }
        if let a = allSet { return a }
        let a = try bench().architectures()
        allSet = a
        return a
    }

    /// Values built once per process and cache directory: the enumerated NB101 space and
    /// the synthetic landscape (the store caches both on disk too).
    nonisolated(unsafe) private static var processCache: [String: Any] = [:]
    private static let lock = Mutex()

    private static func once<T>(_ what: String, _ store: BenchmarkStore, _ make: () throws -> T) throws -> T {
        try lock.sync {
            let key = what + "\u{0}" + store.cacheDirectory
            if let v = processCache[key] as? T { return v }
            let v = try make()
            processCache[key] = v
            return v
        }
    }

    /// The enumerated NB101 space.
    static func catalog(_ store: BenchmarkStore) throws -> NB101Catalog { try once("catalog", store) { try store.catalog() } }

    /// The synthetic landscape.
    static func synthetic(_ store: BenchmarkStore) throws -> BenchmarkTable { try once("synthetic", store) { try store.synthetic() } }
}
