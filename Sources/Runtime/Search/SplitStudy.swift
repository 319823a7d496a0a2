// Table I of the seed: fit on a train split, report MSE, Kendall τ and R² on the train,
// validation and test splits, repeated over seeds. Split and fit draw from
// "splits/<seed>"; seeds run in parallel and are combined in order.

public struct SplitStudy: Sendable {
    /// Fractions of train, validation and test (summing to 1).
    public var fractions: [Double]
    public var seeds: [UInt64]
    public var config: FitConfig
    /// Two-stage: classifier config and threshold; the regressor's metrics are reported.
    public var classifier: FitConfig?
    public var threshold = 0.91

    public init(fractions: [Double], seeds: [UInt64], config: FitConfig, classifier: FitConfig? = nil, threshold: Double = 0.91) {
        self.fractions = fractions
        self.seeds = seeds
        self.config = config
        self.classifier = classifier
        self.threshold = threshold
    }

    /// The split sizes for n architectures: train and validation rounded, test the rest.
    public func sizes(_ n: Int) -> [Int] {
        let a = Int((Double(n) * fractions[0]).rounded()), b = Int((Double(n) * fractions[1]).rounded())
        return [a, b, n - a - b]
    }

    /// metrics[seed][split] (train, validation, test).
    public func run(_ set: ArchSet, threads: Int = defaultThreads) throws -> [[MetricSummary]] {
        guard fractions.count == 3, fractions.allSatisfy({ $0 > 0 }), abs(fractions.reduce(0, +) - 1) < 1e-9 else {
            throw RuntimeError.unusable(.splitFractions(fractions))
        }
        guard !seeds.isEmpty else { throw RuntimeError.unusable(.noSeeds) }
        let labeled = set.entries.filter { !$0.validation.isNaN }
        guard labeled.count == set.count else { throw RuntimeError.unusable(.unlabeled(set.count - labeled.count)) }
        let sz = sizes(set.count)
        guard sz.allSatisfy({ $0 >= 2 }) else { throw RuntimeError.unusable(.tooFewToSplit(set.count, fractions: fractions)) }
        let archs = set.architectures, labels = set.entries.map(\.validation)
        // Each split metric uses the set's own metric where tests are recorded: test split
        // against test values when known, else validation.
        let parts: [Result<[MetricSummary], Error>] = parallelChunks(seeds.count) { s in
            Result {
                var rng = RandomStream(seed: seeds[s], path: ["splits"])
                var order = Array(0..<set.count)
                rng.shuffle(&order)
                let train = Array(order[0..<sz[0]]), val = Array(order[sz[0]..<(sz[0] + sz[1])]), test = Array(order[(sz[0] + sz[1])...])
                var c = self.config
                c.seed = rng.next()
                c.batch = min(c.batch, train.count)
                let fitted: FittedPredictor
                if var cls = self.classifier {
                    cls.seed = rng.next()
                    fitted = try FittedPredictor.fitTwoStage(regressor: c, classifier: cls, threshold: self.threshold, cells: archs,
                                                             indices: train, labels: train.map { labels[$0] }, threads: 1)
                } else {
                    fitted = try FittedPredictor.fit(c, cells: archs, indices: train, labels: train.map { labels[$0] }, threads: 1)
                }
                return [train, val, test].map { idx in
                    Metrics.summary(predicted: fitted.values(cells: archs, indices: idx, threads: 1), truth: idx.map { labels[$0] })
                }
            }
        }
        return try parts.map { try $0.get() }
    }
}
