// Spaces too big to enumerate: draw candidate pools and run regularised evolution (Real et
// al. 2019) with the predictor as the fitness, so `topk` and `search` work without
// predicting every architecture. Drawing and mutating live in Spaces/SpaceGenerator.swift.

/// Regularised evolution with a predictor as the fitness, in generations of `batch`
/// children so each generation is one batched prediction. Deterministic for a seed.
public struct Evolution: Sendable, Codable {
    public var population = 100
    public var tournament = 25
    public var cycles = 2000
    public var batch = 50

    public init(population: Int = 100, tournament: Int = 25, cycles: Int = 2000, batch: Int = 50) {
        self.population = population
        self.tournament = tournament
        self.cycles = cycles
        self.batch = batch
    }

    /// The `k` best-predicted distinct architectures visited (best first), excluding
    /// `exclude`, with their predicted scores.
    public func run(
        space: SpaceInfo, predictor: FittedPredictor, k: Int, seed: UInt64, start: [(Architecture, Digest128)] = [],
        exclude: Set<Digest128> = [], catalog: () throws -> NB101Catalog, threads: Int = 1
    ) throws -> [(Architecture, Digest128, Double)] {
        guard SpaceGenerator.canGenerate(space) else { throw SpaceGenerator.unsupported(space) }
        guard population >= 2, tournament >= 1, tournament <= population, cycles >= 1, batch >= 1 else {
            throw RuntimeError.unusable(.evolutionParameters)
        }
        var rng = RandomStream(seed: seed, path: ["evolve"])
        var seen: [Digest128: Double] = [:]
        var visited: [(Architecture, Digest128, Double)] = []
        func score(_ items: [(Architecture, Digest128)]) -> [Double] {
            let fresh = items.filter { seen[$0.1] == nil }
            var unique: [(Architecture, Digest128)] = []
            var inBatch = Set<Digest128>()
            for f in fresh where inBatch.insert(f.1).inserted { unique.append(f) }
            if !unique.isEmpty {
                let values = predictor.scores(cells: unique.map(\.0), indices: Array(unique.indices), threads: threads).scores
                for (u, v) in zip(unique, values) {
                    seen[u.1] = v
                    visited.append((u.0, u.1, v))
                }
            }
            return items.map { seen[$0.1]! }
        }
        // Initial population: the given start, topped up with uniform draws.
        var pop: [(Architecture, Digest128, Double)] = []
        var initial = Array(start.suffix(population))
        while initial.count < population { initial.append(try SpaceGenerator.sample(space, catalog: catalog, rng: &rng)) }
        for (item, s) in zip(initial, score(initial)) { pop.append((item.0, item.1, s)) }
        var done = 0
        while done < cycles {
            let n = min(batch, cycles - done)
            var children: [(Architecture, Digest128)] = []
            for _ in 0..<n {
                let picks = rng.distinct(tournament, from: pop.count)
                var parent = picks[0]
                for p in picks.dropFirst() where space.better(pop[p].2, than: pop[parent].2) { parent = p }
                if let child = SpaceGenerator.mutate(pop[parent].0, space: space, rng: &rng) { children.append(child) }
            }
            for (c, s) in zip(children, score(children)) {
                pop.append((c.0, c.1, s))
                pop.removeFirst()
            }
            done += n
        }
        let candidates = visited.filter { !exclude.contains($0.1) }
        let order = Search.topIndices(candidates.map(\.2), k: k, lowerIsBetter: space.lowerIsBetter) { candidates[$0].1 }
        return order.map { candidates[$0] }
    }
}
