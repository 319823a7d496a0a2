// Predictors as npsh sees them: one network, or the paper's two-stage cascade of a
// classifier ("validation accuracy ≥ threshold") and a regressor trained only on the
// architectures the threshold accepts.

public enum FittedPredictor: Sendable {
    case single(Predictor)
    case twoStage(classifier: Predictor, regressor: Predictor, threshold: Double)
    /// Networks of one kind fitted with their own init, shuffle and dropout streams; a
    /// candidate's score is the mean of the members' standardised scores.
    case ensemble([Predictor])

    public var kindName: String {
        switch self {
        case .single(let p): return p.config.shape.kind.rawValue
        case .twoStage: return "twostage"
        case .ensemble(let ms): return ms[0].config.shape.kind.rawValue
        }
    }

    /// One network, or an ensemble when `config.ensemble` asks for more: member 0 is the
    /// plain fit (same seed, so an ensemble of one is it, bit for bit); member k ≥ 1 takes
    /// its seed from the stream "ensemble/k" of the fit's seed. Members are fitted side by
    /// side (each on one thread), and each fit is the same whatever its thread count.
    public static func fit<T: GraphWritable & Sendable>(_ config: FitConfig, cells: [T], indices: [Int], labels: [Double],
                                                      threads: Int = defaultThreads, progress: ((Int) -> Bool)? = nil) throws -> FittedPredictor {
        let e = config.ensemble ?? 1
        guard e > 1 else { return .single(try Predictor.fit(config, cells: cells, indices: indices, labels: labels, threads: threads, progress: progress)) }
        let configs = (0..<e).map { k -> FitConfig in
            var c = config
            c.ensemble = nil
            if k > 0 { var s = RandomStream(seed: config.seed, path: ["ensemble", .index(UInt64(k))]); c.seed = s.next() }
            return c
        }
        let workers = max(1, min(threads, e))
        let parts: [[(Int, Result<Predictor, Error>)]] = parallelChunks(workers) { w in
            stride(from: w, to: e, by: workers).map { k in
                (k, Result { try Predictor.fit(configs[k], cells: cells, indices: indices, labels: labels, threads: 1) { _ in !Interrupt.isRequested } })
            }
        }
        var members = [Predictor?](repeating: nil, count: e)
        for part in parts { for (k, r) in part { members[k] = try r.get() } }
        if let progress, !progress(config.epochs) { throw RuntimeError.interrupted("the fit") }
        return .ensemble(members.map { $0! })
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
        case .ensemble(let ms):
            // Each member standardised over these candidates, then averaged: members whose
            // outputs differ in scale (pairwise fits) weigh the same.
            var sum = [Double](repeating: 0, count: indices.count)
            for m in ms {
                let v = m.predict(cells: cells, indices: indices, threads: threads)
                var (mean, sd) = Metrics.meanAndSD(v)
                if !(sd > 0) { sd = 1 }
                for i in v.indices { sum[i] += (v[i] - mean) / sd }
            }
            return (sum.map { $0 / Double(ms.count) }, nil)
        case .twoStage(let c, let r, _):
            let prob = c.predict(cells: cells, indices: indices, threads: threads)
            let accepted = prob.map { $0 >= 0.5 }
            let chosen = accepted.indices.filter { accepted[$0] }
            if let k = top, chosen.count >= k {
                // Each value the regressor's own for its cell, however few are accepted: the
                // value `top` ranks by.
                let values = r.predictEachAlone(cells: cells, indices: chosen.map { indices[$0] }, threads: threads)
                var s = [Double](repeating: -.infinity, count: indices.count)
                for (j, a) in chosen.enumerated() { s[a] = values[j] }
                return (s, accepted)
            }
            let reg = r.predict(cells: cells, indices: indices, threads: threads)
            return (zip(reg, accepted).map { $1 ? $0 : $0 - 1 }, accepted)
        }
    }

    /// The positions in `indices` of the k best candidates, best first, ties by `key`: what
    /// `Search.topIndices` picks from `scores(…, top: k)`. The GCN cascade (higher is better)
    /// gets there with less work: it ranks every candidate by the regressor and asks the
    /// classifier only about the best-ranked, a thousand or so, until k are accepted — the
    /// same picks, because a GCN's structured prediction of a cell has the same bits whatever
    /// is predicted with it (InferenceTests). A search predicts the whole space once per run
    /// this way instead of once and two-thirds. Whatever the shortcut cannot settle (fewer
    /// than k accepted among the first 8,192, a pick's value not finite) takes `scores`.
    public func top<T: GraphWritable & Sendable>(_ k: Int, cells: [T], indices: [Int], threads: Int = defaultThreads, lowerIsBetter: Bool,
                                                key: (Int) -> Digest128) -> [Int] {
        func full() -> [Int] {
            Search.topIndices(scores(cells: cells, indices: indices, threads: threads, top: k).scores, k: k, lowerIsBetter: lowerIsBetter, key: key)
        }
        guard case .twoStage(let c, let r, _) = self, k > 0, !lowerIsBetter, indices.count >= StructuredInference.minimumCells,
              c.config.shape.kind == .gcn, r.config.shape.kind == .gcn
        else { return full() }
        let values = r.predict(cells: cells, indices: indices, threads: threads)
        var picked: [Int] = [], checked = 0
        // Two rounds at most, each ranking no more than 8,192 (the window's insertions grow
        // with its square): four times K or a thousand, then 8,192.
        for depth in [max(4 * k, 1024), 8192] where depth <= 8192 && depth > checked && depth < indices.count {
            let ranked = Search.topIndices(values, k: depth, lowerIsBetter: false, key: key)
            let fresh = Array(ranked[min(checked, ranked.count)...])
            let probabilities = c.predictEachAlone(cells: cells, indices: fresh.map { indices[$0] }, threads: threads)
            for (i, p) in zip(fresh, probabilities) where p >= 0.5 {
                guard values[i].isFinite else { return full() }
                picked.append(i)
                if picked.count == k { return picked }
            }
            checked = ranked.count
            if ranked.count < depth { break }
        }
        return full()
    }

    /// The regression value (two-stage: the regressor's, for every architecture).
    public func values<T: GraphWritable & Sendable>(cells: [T], indices: [Int], threads: Int = defaultThreads) -> [Double] {
        switch self {
        case .single(let p): return p.predict(cells: cells, indices: indices, threads: threads)
        case .twoStage(_, let r, _): return r.predict(cells: cells, indices: indices, threads: threads)
        case .ensemble(let ms):
            // The members' mean value, in label units.
            var sum = [Double](repeating: 0, count: indices.count)
            for m in ms { for (i, x) in m.predict(cells: cells, indices: indices, threads: threads).enumerated() { sum[i] += x } }
            return sum.map { $0 / Double(ms.count) }
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
