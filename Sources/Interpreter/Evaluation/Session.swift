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
    public var threads = 2
    var benchTable: (any Bench)? {
        didSet { allSet = nil }
    }
    /// `all` of the current benchmark, built once: `all`, `sample` and `predict` share it.
    private var allSet: ArchSet?
    public let store: BenchmarkStore
    /// Deterministic output (the notebook's `#>` lines).
    public var output: (String) -> Void
    /// Notes, timings and progress: never part of the deterministic output.
    public var diagnostics: (String) -> Void
    /// Whether `plot` prints its Unicode preview (set by the REPL on a terminal).
    public var previews = false
    /// Set from a signal handler to stop a long command.
    public var interruptRequested: () -> Bool = { false }

    public init(store: BenchmarkStore, output: @escaping (String) -> Void, diagnostics: @escaping (String) -> Void) {
        self.store = store
        self.output = output
        self.diagnostics = diagnostics
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
        guard space.name == "nb101" else {
            let hint: String
            switch space.name {
            case "proxyless": hint = "e.g. bench \"../shared/data/proxylessnas/pairs-cifar100.jsonl\""
            case "nlp": hint = "e.g. bench \"../shared/data/nasbench-nlp/wikitext2-logs.jsonl\""
            default: hint = "bench FILE"
            }
            throw RuntimeError.invalidArgument("space \(space.name) has no built-in benchmark; choose one with \(hint)")
        }
        let b = try Self.synthetic(store)
        benchTable = b
        return b
    }

    /// Every architecture of the current benchmark with its mean metrics.
    func allArchitectures() throws -> ArchSet {
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
