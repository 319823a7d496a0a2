// Architecture search on a benchmark, as the paper measures it: how good an architecture a
// method finds for a given number of trained models. Every method trains architectures one
// after another; after each, the architecture it would pick is the best by VALIDATION
// among those trained (never the best test value: that needs knowledge the searcher does
// not have), and the curve records that pick's validation and test metric. Runs are
// independent (each draws from its own stream "search/<method>/<run>"), spread over the
// threads, and combined in run order, so the curve is identical to a serial run's.

/// What a search runs against: candidates aligned with a trainer's indices.
public struct SearchProblem: Sendable {
    public let candidates: ArchSet
    public let trainer: any Trainer
    public let architectures: [Architecture]
    /// The NB101 catalog, for evolution's initial draws (loaded only when needed).
    public var catalog: @Sendable () throws -> NB101Catalog = { throw RuntimeError.unusable(.noCatalog) }
    public var space: SpaceInfo { candidates.space }
    private let lookup = LazyIndex()

    public init(candidates: ArchSet, trainer: any Trainer) {
        self.candidates = candidates
        self.trainer = trainer
        architectures = candidates.architectures
    }

    /// The candidate index of a hash (built on first use).
    public func index(of hash: Digest128) -> Int? {
        lookup.get { Dictionary(uniqueKeysWithValues: candidates.entries.enumerated().map { ($1.hash, $0) }) }[hash]
    }

    public init(bench: any Bench) throws {
        self.init(candidates: try bench.architectures(), trainer: bench)
    }
}

/// How a predictor search picks and fits its predictor.
public struct PredictorSearchConfig: Sendable, Codable {
    public var n: Int
    public var k: Int
    public var regressor: FitConfig
    /// Two-stage: the classifier's config and the threshold it separates.
    public var classifier: FitConfig?
    public var threshold: Double = 0.91

    public init(n: Int, k: Int, regressor: FitConfig, classifier: FitConfig? = nil, threshold: Double = 0.91) {
        self.n = n
        self.k = k
        self.regressor = regressor
        self.classifier = classifier
        self.threshold = threshold
    }
}

public enum SearchMethod: Sendable, Codable {
    case oracle
    case random(budget: Int)
    case predictor(PredictorSearchConfig)
    /// Like predictor, but the K come from regularised evolution guided by the predictor
    /// instead of predicting every candidate.
    case evolve(PredictorSearchConfig, Evolution)
}

/// A dictionary built once, on first use, shared by the threads of a search.
final class LazyIndex: @unchecked Sendable {
    private let mutex = Mutex()
    private var value: [Digest128: Int]?
    func get(_ make: () -> [Digest128: Int]) -> [Digest128: Int] {
        mutex.sync {
            if let v = value { return v }
            let v = make()
            value = v
            return v
        }
    }
}

/// Mean and standard deviation over runs at each number of trained models 1…count.
public struct SearchCurve: Sendable, Equatable {
    public var name: String
    public var runs: Int
    public var validationMean: [Double]
    public var validationSD: [Double]
    public var testMean: [Double]
    public var testSD: [Double]
    /// Mean cumulative recorded training time (seconds; NaN where not recorded).
    public var timeMean: [Double]
    /// Where the predictor's picks start (N), for a predictor search.
    public var trainedBeforePrediction: Int?

    public var budgets: Int { validationMean.count }
}

/// One search's outcome per budget: the pick's validation, test and the time spent.
public struct RunTrace: Sendable, Equatable, Codable {
    public var validation: [Double] = []
    public var test: [Double] = []
    public var time: [Double] = []

    public static func == (a: RunTrace, b: RunTrace) -> Bool {
        func same(_ x: [Double], _ y: [Double]) -> Bool { x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern } }
        return same(a.validation, b.validation) && same(a.test, b.test) && same(a.time, b.time)
    }

    /// Appends the running pick after training `obs` in order.
    mutating func follow(_ obs: [Observation], space: SpaceInfo, candidates: ArchSet) {
        var best: Observation? = nil
        var t = 0.0
        for o in obs {
            // A failed trial (NaN) is never the pick; until one succeeds there is none.
            if let b = best {
                if space.better(o.validation, than: b.validation) { best = o }
            } else if !o.validation.isNaN {
                best = o
            }
            // A failed trial reports no time; it counts as none rather than hiding the rest.
            if !(o.validation.isNaN && o.trainingTime.isNaN) { t += o.trainingTime }
            validation.append(best?.validation ?? .nan)
            // The test metric: what the trainer reported for the pick (mean over recorded
            // runs); validation where no test is recorded.
            test.append(best.map { $0.test.isNaN ? $0.validation : $0.test } ?? .nan)
            time.append(t)
        }
    }
}

public enum Search {
    /// Runs `runs` independent searches; `progress(done)` is called as runs finish.
    public static func run(
        _ method: SearchMethod, on problem: SearchProblem, runs: Int, seed: UInt64, name: String,
        threads: Int = defaultThreads, progress: (@Sendable (Int) -> Bool)? = nil
    ) throws -> SearchCurve {
        if case .oracle = method { return try oracle(problem, name: name) }
        let all = try traces(method, on: problem, runs: 0..<runs, seed: seed, name: name, threads: threads, progress: progress)
        return curve(method, name: name, traces: all)
    }

    /// The oracle's flat line: the best architecture by validation.
    static func oracle(_ problem: SearchProblem, name: String) throws -> SearchCurve {
        guard problem.candidates.count > 0 else { throw RuntimeError.unusable(.emptyBenchmark) }
        guard let b = problem.candidates.best() else { throw RuntimeError.unusable(.noValidationMetric) }
        let test = b.test.isNaN ? b.validation : b.test
        return SearchCurve(name: name, runs: 1, validationMean: [b.validation], validationSD: [0], testMean: [test], testSD: [0],
                           timeMean: [.nan], trainedBeforePrediction: nil)
    }

    /// Checks a method's budget against the problem before any run.
    public static func check(_ method: SearchMethod, on problem: SearchProblem, runs: Int) throws {
        let count = problem.candidates.count
        guard count > 0 else { throw RuntimeError.unusable(.emptyBenchmark) }
        guard runs >= 1 else { throw RuntimeError.unusable(.runsBelowOne) }
        switch method {
        case .oracle:
            guard problem.candidates.best() != nil else { throw RuntimeError.unusable(.noValidationMetric) }
        case .random(let budget):
            guard budget >= 1, budget <= count else {
                throw RuntimeError.unusable(.budget(budget, count: count))
            }
        case .predictor(let c), .evolve(let c, _):
            guard c.n >= 1, c.k >= 1, c.n + c.k <= count else {
                throw RuntimeError.unusable(.nPlusK(c.n + c.k, count: count))
            }
            guard c.n >= c.regressor.batch else {
                throw RuntimeError.unusable(.nBelowBatch(n: c.n, batch: c.regressor.batch))
            }
        }
    }

    /// The traces of runs `runs` (each from its own stream "search/<name>/<run>"), in run
    /// order: a part of a search, which `curve` combines with the other parts.
    public static func traces(
        _ method: SearchMethod, on problem: SearchProblem, runs range: Range<Int>, seed: UInt64, name: String,
        threads: Int = defaultThreads, progress: (@Sendable (Int) -> Bool)? = nil
    ) throws -> [RunTrace] {
        try check(method, on: problem, runs: range.count)
        let runs = range.count
        let workers = max(1, min(threads, runs))
        let lock = Mutex()
        nonisolated(unsafe) var done = 0
        nonisolated(unsafe) var stop = false
        // One worker runs on the calling thread (parallelChunks): a trainer's subprocesses
        // must be started from the session's thread (see Launcher).
        let parts: [[(Int, Result<RunTrace, Error>)]] = parallelChunks(workers) { w in
            var out: [(Int, Result<RunTrace, Error>)] = []
            for r in stride(from: w, to: runs, by: workers) {
                if lock.sync({ stop }) { out.append((r, .failure(RuntimeError.interrupted("the search")))); continue }
                out.append((r, Result { try one(method, problem, run: range.lowerBound + r, seed: seed, name: name) }))
                lock.sync {
                    done += 1
                    if let progress, !progress(done) { stop = true }
                }
            }
            return out
        }
        var traces = [RunTrace?](repeating: nil, count: runs)
        for part in parts { for (r, result) in part { traces[r] = try result.get() } }
        return traces.map { $0! }
    }

    /// Mean and standard deviation over the traces of all runs, in run order.
    public static func curve(_ method: SearchMethod, name: String, traces all: [RunTrace]) -> SearchCurve {
        let length = all[0].validation.count
        func stats(_ key: KeyPath<RunTrace, [Double]>) -> ([Double], [Double]) {
            var mean = [Double](repeating: 0, count: length), sd = mean
            for j in 0..<length { (mean[j], sd[j]) = Metrics.meanAndSD(all.map { $0[keyPath: key][j] }) }
            return (mean, sd)
        }
        let (vm, vs) = stats(\.validation), (tm, ts) = stats(\.test), (time, _) = stats(\.time)
        var n: Int? = nil
        if case .predictor(let c) = method { n = c.n }
        if case .evolve(let c, _) = method { n = c.n }
        return SearchCurve(name: name, runs: all.count, validationMean: vm, validationSD: vs, testMean: tm, testSD: ts,
                           timeMean: time, trainedBeforePrediction: n)
    }

    /// One run of a method.
    static func one(_ method: SearchMethod, _ p: SearchProblem, run r: Int, seed: UInt64, name: String) throws -> RunTrace {
        let root = RandomStream(seed: seed, path: ["search", .name(name), .index(UInt64(r))])
        var draw = root.child("draw"), train = root.child("train")
        var trace = RunTrace()
        switch method {
        case .oracle:
            break
        case .random(let budget):
            let picked = draw.distinct(budget, from: p.candidates.count)
            trace.follow(try p.trainer.train(picked, epochs: nil, rng: &train), space: p.space, candidates: p.candidates)
        case .predictor(let c):
            let first = draw.distinct(c.n, from: p.candidates.count)
            let obs = try p.trainer.train(first, epochs: nil, rng: &train)
            let archs = p.architectures
            var reg = c.regressor
            var fitStream = root.child("fit")
            reg.seed = fitStream.next()
            // Failed trials (a trainer's NaN) teach nothing; a table has none.
            let usable = zip(first, obs).filter { !$0.1.validation.isNaN }
            let fitIndices = usable.map(\.0), labels = usable.map(\.1.validation)
            let trained = Set(first)
            let rest = (0..<archs.count).filter { !trained.contains($0) }
            let fitted: FittedPredictor
            if var cls = c.classifier {
                var clsStream = root.child("classifier")
                cls.seed = clsStream.next()
                fitted = try FittedPredictor.fitTwoStage(regressor: reg, classifier: cls, threshold: c.threshold, cells: archs, indices: fitIndices, labels: labels,
                                                         threads: 1)
            } else {
                fitted = try FittedPredictor.fit(reg, cells: archs, indices: fitIndices, labels: labels, threads: 1)
            }
            // The two-stage regressor ranks only what the classifier accepts, unless too few are.
            let space = p.space
            let hashes = p.candidates.entries.map(\.hash)
            let top = fitted.top(c.k, cells: archs, indices: rest, threads: 1, lowerIsBetter: space.lowerIsBetter) { hashes[rest[$0]] }
            let second = try p.trainer.train(top.map { rest[$0] }, epochs: nil, rng: &train)
            trace.follow(obs + second, space: space, candidates: p.candidates)
        case .evolve(let c, let evolution):
            let first = draw.distinct(c.n, from: p.candidates.count)
            let obs = try p.trainer.train(first, epochs: nil, rng: &train)
            var reg = c.regressor
            var fitStream = root.child("fit")
            reg.seed = fitStream.next()
            let usable = zip(first, obs).filter { !$0.1.validation.isNaN }
            let model = try Predictor.fit(reg, cells: p.architectures, indices: usable.map(\.0), labels: usable.map(\.1.validation), threads: 1)
            let start = first.map { (p.architectures[$0], p.candidates.entries[$0].hash) }
            var evoStream = root.child("evolve")
            let proposals = try evolution.run(space: p.space, predictor: .single(model), k: c.k, seed: evoStream.next(), start: start,
                                              exclude: Set(start.map(\.1)), catalog: p.catalog)
            let picked = try proposals.map { _, h, _ -> Int in
                guard let i = p.index(of: h) else {
                    throw RuntimeError.unusable(.evolutionProposedUnknown(h.hex))
                }
                return i
            }
            let second = try p.trainer.train(picked, epochs: nil, rng: &train)
            trace.follow(obs + second, space: p.space, candidates: p.candidates)
        }
        return trace
    }

    static func topIndicesForTesting(_ scores: [Double], k: Int, lowerIsBetter: Bool, key: (Int) -> Digest128) -> [Int] {
        topIndices(scores, k: k, lowerIsBetter: lowerIsBetter, key: key)
    }

    /// The k best positions of `scores` (ties by key), best first, without sorting them all.
    static func topIndices(_ scores: [Double], k: Int, lowerIsBetter: Bool, key: (Int) -> Digest128) -> [Int] {
        func before(_ a: Int, _ b: Int) -> Bool {
            let x = scores[a], y = scores[b]
            if x != y { return lowerIsBetter ? x < y : x > y }
            return key(a) < key(b)
        }
        // Partial selection: keep a sorted window of the best k.
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for i in scores.indices where !scores[i].isNaN {
            if best.count == k, let last = best.last, !before(i, last) { continue }
            var lo = 0, hi = best.count
            while lo < hi { let m = (lo + hi) / 2; if before(best[m], i) { lo = m + 1 } else { hi = m } }
            best.insert(i, at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
