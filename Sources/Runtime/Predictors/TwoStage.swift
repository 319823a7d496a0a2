// Predictors as npsh sees them: one network, or the paper's two-stage cascade of a
// classifier ("validation accuracy ≥ threshold") and a regressor trained only on the
// architectures the threshold accepts.

public enum FittedPredictor: Sendable {
    case single(Predictor)
    case twoStage(classifier: Predictor, regressor: Predictor, threshold: Double)

    public var kindName: String {
        switch self {
        case .single(let p): return p.config.shape.kind.rawValue
        case .twoStage: return "twostage"
        }
    }

    /// Scores for ranking: for two-stage, architectures the classifier rejects (p < 0.5)
    /// rank below every accepted one (their regressor score minus 1), so `topk` takes
    /// accepted architectures first, as the cascade intends. With `top` = K and at least K
    /// accepted, only the accepted are regressed (the rest score −∞): the same top K for
    /// less work, as a search that keeps K needs.
    public func scores<T: GraphWritable & Sendable>(cells: [T], indices: [Int], threads: Int = defaultThreads, top: Int? = nil)
        -> (scores: [Double], accepted: [Bool]?) {
        switch self {
        case .single(let p):
            return (p.predict(cells: cells, indices: indices, threads: threads), nil)
        case .twoStage(let c, let r, _):
            let prob = c.predict(cells: cells, indices: indices, threads: threads)
            let accepted = prob.map { $0 >= 0.5 }
            let chosen = accepted.indices.filter { accepted[$0] }
            if let k = top, chosen.count >= k {
                let values = r.predict(cells: cells, indices: chosen.map { indices[$0] }, threads: threads)
                var s = [Double](repeating: -.infinity, count: indices.count)
                for (j, a) in chosen.enumerated() { s[a] = values[j] }
                return (s, accepted)
            }
            let reg = r.predict(cells: cells, indices: indices, threads: threads)
            return (zip(reg, accepted).map { $1 ? $0 : $0 - 1 }, accepted)
        }
    }

    /// The regression value (two-stage: the regressor's, for every architecture).
    public func values<T: GraphWritable & Sendable>(cells: [T], indices: [Int], threads: Int = defaultThreads) -> [Double] {
        switch self {
        case .single(let p): return p.predict(cells: cells, indices: indices, threads: threads)
        case .twoStage(_, let r, _): return r.predict(cells: cells, indices: indices, threads: threads)
        }
    }

    /// Fits the cascade: the classifier on all, the regressor on labels ≥ threshold.
    public static func fitTwoStage<T: GraphWritable & Sendable>(regressor: FitConfig, classifier: FitConfig, threshold: Double, cells: [T],
                                   indices: [Int], labels: [Double], threads: Int = defaultThreads, progress: ((Int) -> Bool)? = nil) throws -> FittedPredictor {
        let classes = labels.map { $0 >= threshold ? 1.0 : 0.0 }
        guard classes.contains(1), classes.contains(0) else {
            throw RuntimeError.unusable(.twoStageOneSide(threshold: threshold, count: labels.count))
        }
        let c = try Predictor.fit(classifier, cells: cells, indices: indices, labels: classes, threads: threads, progress: progress)
        let keep = labels.indices.filter { labels[$0] >= threshold }
        var rc = regressor
        rc.batch = min(rc.batch, keep.count)
        let r = try Predictor.fit(rc, cells: cells, indices: keep.map { indices[$0] }, labels: keep.map { labels[$0] }, threads: threads,
                                  progress: progress)
        return .twoStage(classifier: c, regressor: r, threshold: threshold)
    }
}
