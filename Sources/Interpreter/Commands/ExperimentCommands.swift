import Runtime

/// A search's curve with where it ran.
public struct SearchValue: Sendable {
    public let curve: SearchCurve
    public let space: SpaceInfo
    public let label: String
}

/// The experiment commands: search, plot, splits, draw, evolve.
extension Builtins {
    static let search = CommandSpec(
        name: "search", summary: "Runs a search over N+K trained models, averaged over runs: oracle, random, predictor or evolve.",
        positional: [Param("method", .word(["oracle", "random", "predictor", "evolve"]), "the search method")],
        keywords: [Param("on", .word(["local", "slurm"]), "where the runs run (slurm: a job array of tasks=T)", value: .word("local"))],
        options: [
            Param("runs", .integer(min: 1), "independent runs to average", value: .integer(10)),
            Param("budget", .integer(min: 1), "random: architectures to train", default: "n + k"),
            Param("n", .integer(min: 1), "predictor/evolve: architectures trained to fit the predictor", value: .integer(172)),
            Param("k", .integer(min: 1), "predictor/evolve: best-predicted architectures then trained", value: .integer(128)),
            Param("model", .word(modelWords), "predictor: gcn, mlp, cnn, twostage or best (see fit)", default: "gcn"),
            Param("population", .integer(min: 2), "evolve: population size", value: .integer(100)),
            Param("sample", .integer(min: 1), "evolve: tournament size", value: .integer(25)),
            Param("cycles", .integer(min: 1), "evolve: children evaluated by the predictor", value: .integer(2000)),
        ] + fitOptions + searchSlurmOptions,
        details: """
            Each run trains architectures one by one; after each, the pick is the best by
            VALIDATION among those trained, and the curve records its validation and test
            metric (test = mean over recorded runs; validation where none is recorded).
            predictor: N random architectures, fit, predict every other candidate, train the
            K best predicted. evolve: the K come from regularised evolution guided by the
            predictor (for spaces too big to enumerate). oracle: the best by validation of
            the whole benchmark. Runs use both cores; the result equals a serial run's.
            on slurm tasks=T splits the runs over a Slurm job array (a benchmark table or the
            synthetic landscape); the curve equals the local one byte for byte.
            For loss metrics lower is better throughout.
            """
    ) { session, args in
        guard case .word(let method) = args.values["method"] else { return .none }
        let bench = try session.bench()
        let trainer = bench as? TrainerBench
        let candidates = try session.candidates()
        var problem = SearchProblem(candidates: candidates, trainer: trainer.map { CandidateTrainer(bench: $0, candidates: candidates) } ?? bench)
        if trainer != nil && method == "oracle" {
            throw CommandProblem.oracleWithTrainer
        }
        let store = session.store
        problem.catalog = { try Session.catalog(store) }
        let runs = args.integer("runs")!
        let n = args.integer("n")!, k = args.integer("k")!
        var rng = session.stream(for: "search")
        let model: String = { if case .word(let w) = args.values["model"] { return w }; return "gcn" }()
        let m: SearchMethod
        let name: String
        switch method {
        case "oracle":
            m = .oracle
            name = "oracle"
        case "random":
            m = .random(budget: args.integer("budget") ?? n + k)
            name = "random"
        default:
            let (reg, cls, notes) = try fitConfigs(args, model: model, n: n, space: problem.space, labels: labels(problem.candidates), rng: &rng)
            for note in notes { session.diagnostics("note: \(note)") }
            let config = PredictorSearchConfig(n: n, k: k, regressor: reg, classifier: cls, threshold: twoStageThreshold(args))
            if method == "evolve" {
                guard cls == nil else { throw CommandProblem.evolveSinglePredictor }
                guard reg.ensemble == nil else { throw args.problem("ensemble", .evolveSinglePredictor) }
                m = .evolve(config, Evolution(population: args.integer("population")!, tournament: args.integer("sample")!,
                                              cycles: args.integer("cycles")!))
                name = "evolve \(model) N=\(n)"
            } else {
                m = .predictor(config)
                name = (model == "twostage" ? "two-stage" : model) + " N=\(n)"
            }
        }
        let total = method == "oracle" ? 1 : runs
        let progress = session.progress
        let curve: SearchCurve
        // Slurm's options without `on slurm` are an error here as for bench.
        if case .slurm(let options) = try placement(session, args, ledgerPath: session.defaultLedger) {
            guard trainer == nil else { throw args.problem("on", .searchOnSlurmWithTrainer) }
            guard method != "oracle" else { throw args.problem("on", .oracleOnSlurm) }
            try Search.check(m, on: problem, runs: total)
            curve = try searchOnSlurm(m, runs: total, seed: rng.next(), name: name, options, session, args)
        } else if let trainer {
            // Runs one after another on this thread; each batch of trials has its own line.
            let seed = rng.next()
            curve = try withTrainer(trainer, session, total: nil) {
                try Search.run(m, on: problem, runs: total, seed: seed, name: name, threads: 1) { _ in !Interrupt.isRequested }
            }
        } else {
            progress.start("search \(name)", total: total, unit: "run")
            defer { progress.finish() }
            curve = try Search.run(m, on: problem, runs: total, seed: rng.next(), name: name, threads: session.threads) { done in
                progress.update(done)
                return !Interrupt.isRequested
            }
        }
        return .search(SearchValue(curve: curve, space: problem.space, label: bench.isSynthetic && trainer == nil ? "synthetic" : bench.label))
    }

    static let plot = CommandSpec(
        name: "plot", summary: "Draws a figure as SVG: search curves, predicted vs true, validation vs test, classifier scores.",
        positional: [Param("kind", .word(["curves", "scatter", "valtest", "histogram"]), "the figure"),
                     Param("value", .value, "curves: search results (one or a list); scatter, histogram: a predictor; valtest: a set")],
        keywords: [Param("on", .archSet, "predictor plots: the set to plot against", default: ""),
                   Param("to", .string, "the SVG file to write", default: "none: only the terminal preview")],
        options: [
            Param("y", .word(FigureMetric.allCases.map(\.rawValue)), "search curves: val or test", default: "test"),
            Param("x", .word(FigureAxis.allCases.map(\.rawValue)), "search curves: models (N+K) or time (recorded hours)", default: "models"),
            Param("title", .string, "the figure's title", default: "by kind"),
            Param("preview", .word(["true", "false"]), "also print the Unicode preview (on by default in a terminal)", default: "terminal"),
        ],
        details: """
            curves: search results with ± std bands (oracle as a flat line, dotted lines at
            each predictor's N): the paper's Fig. 7, 10, 11. scatter P on SET: predicted vs
            true with y = x and τ / MSE / R² (Fig. 8, 14). histogram P on SET: a two-stage
            classifier's scores by true class (Fig. 9). valtest SET: validation vs test
            metric (Fig. 6). Scatter views start at the 0.5 % quantile and count outliers.
            """
    ) { session, args in
        let title = args.string("title")
        guard case .word(let kind) = args.values["kind"] else { return .none }
        let figure: Figure
        let value = args.values["value"]!
        // A value of the wrong kind for the figure: the caret goes on the value.
        func wrong(_ expected: CommandProblem.PlotInput) -> CommandProblem {
            .plotTakes(kind: kind, expected: expected, got: value.typeName)
        }
        switch value {
        case .search(let s):
            guard kind == "curves" else { throw wrong(.predictorOrSet) }
            figure = curvesFigure([s], args, title)
        case .list(let items):
            guard kind == "curves" else { throw wrong(.predictorOrSetNotLists) }
            let searches = try items.map { v -> SearchValue in
                guard case .search(let s) = v else { throw CommandProblem.plotListItem(got: v.typeName) }
                return s
            }
            guard !searches.isEmpty else { throw CommandProblem.emptyPlot }
            figure = curvesFigure(searches, args, title)
        case .predictor(let p):
            guard kind == "scatter" || kind == "histogram" else { throw wrong(kind == "curves" ? .searchResults : .set) }
            guard let set = args.set("on") else { throw CommandProblem.plotNeedsSet }
            try checkSpace(p, set)
            let labeled = set.entries.filter { !$0.validation.isNaN }
            guard !labeled.isEmpty else { throw CommandProblem.noLabelsToPlot }
            let cells = labeled.map(\.arch), truth = labeled.map(\.validation)
            if kind == "histogram" {
                guard case .twoStage(let c, _, let t) = p.predictor else {
                    throw CommandProblem.histogramNeedsTwoStage(kind: p.predictor.kindName)
                }
                let prob = c.predict(cells: cells, indices: Array(cells.indices), threads: session.threads)
                figure = Figure.classifierHistogram(probabilities: prob, truth: truth, threshold: t, title: title, label: set.label)
            } else {
                let predicted = p.predictor.values(cells: cells, indices: Array(cells.indices), threads: session.threads)
                figure = Figure.scatter(predicted: predicted, truth: truth, space: set.space, title: title, label: set.label)
            }
        case .archSet(let set):
            guard kind == "valtest" else { throw wrong(kind == "curves" ? .searchResults : .predictorOnSet) }
            figure = Figure.validationVersusTest(set, title: title)
            if figure.series[0].xs.isEmpty {
                throw CommandProblem.noValidationAndTest(set: set.label)
            }
        case let v:
            throw CommandProblem.cannotPlot(type: v.typeName)
        }
        var lines: [String] = []
        // A notebook front end shows every figure inline.
        session.display?(SVGRenderer.render(figure), "\(figure.title) (\(Format.plural(figure.series.count, "series")))")
        if let path = args.string("to") {
            try session.write(SVGRenderer.render(figure), to: path)
            lines.append("plot: wrote \(path) (\(figure.title); \(figure.series.count) series)")
        }
        let preview: Bool
        if case .word(let w) = args.values["preview"] { preview = w == "true" } else { preview = session.previews }
        if preview { lines.append(TerminalPlot.render(figure)) }
        if lines.isEmpty { lines.append("plot: \(figure.title) (give 'to \"FILE.svg\"' to write it)") }
        return .text(lines.joined(separator: "\n"))
    }

    static func curvesFigure(_ s: [SearchValue], _ args: Arguments, _ title: String?) -> Figure {
        let metric: FigureMetric = { if case .word(let w) = args.values["y"] { return FigureMetric(rawValue: w)! }; return .test }()
        let axis: FigureAxis = { if case .word(let w) = args.values["x"] { return FigureAxis(rawValue: w)! }; return .models }()
        let labels = Array(Set(s.map(\.label))).sorted()
        return Figure.curves(s.map(\.curve), space: s[0].space, metric: metric, x: axis, title: title, label: labels.joined(separator: ", "))
    }

    static let splits = CommandSpec(
        name: "splits", summary: "Table I: fit on a train split; MSE, Kendall τ and R² on train, validation and test, over seeds.",
        positional: [Param("model", .word(modelWords), "the predictor"), Param("set", .archSet, "the architectures to split")],
        options: [
            Param("train", .number(.fraction), "fraction for training", value: .decimal(0.6)),
            Param("val", .number(Bounds(low: 0, high: 1, highOpen: true)), "fraction for validation (the rest is test)", value: .decimal(0.2)),
            Param("seeds", .integer(min: 1), "repetitions with different splits and initial weights", value: .integer(5)),
        ] + fitOptions,
        details: """
            Split and fit draw from the session's stream, one seed per repetition; the table
            gives the mean ± standard deviation over repetitions (MSE in %² for accuracies).
            D follows the paper's table for the train split's size unless dim= is given.
            """
    ) { session, args in
        guard case .word(let model) = args.values["model"], let set = args.set("set") else { return .none }
        let fr = [args.number("train")!, args.number("val")!]
        guard fr[0] + fr[1] < 1 else {
            throw CommandProblem.splitSum(fr[0] + fr[1])
        }
        let fractions = fr + [1 - fr[0] - fr[1]]
        var rng = session.stream(for: "splits")
        let seeds = (0..<args.integer("seeds")!).map { _ in rng.next() }
        var study = SplitStudy(fractions: fractions, seeds: seeds, config: FitConfig())
        let sizes = study.sizes(set.count)
        let n = sizes[0]
        let (reg, cls, notes) = try fitConfigs(args, model: model, n: n, space: set.space, labels: labels(set), rng: &rng)
        study.config = reg
        study.classifier = cls
        study.threshold = twoStageThreshold(args)
        let results = try study.run(set, threads: session.threads)
        let pct = set.space.isAccuracy
        func cell(_ xs: [Double], _ digits: Int) -> String {
            let (m, sd) = Metrics.meanAndSD(xs)
            return Format.fixed(m, digits) + " ± " + Format.fixed(sd, digits)
        }
        var rows: [[String]] = []
        for (j, split) in ["train", "validation", "test"].enumerated() {
            let ms = results.map { $0[j] }
            rows.append([split, String(sizes[j]), cell(ms.map { pct ? $0.mse * 10_000 : $0.mse }, 3), cell(ms.map(\.kendall), 3), cell(ms.map(\.r2), 3)])
        }
        var lines = ["splits: \(model) on \(set.label), \(Format.plural(seeds.count, "seed")), fractions "
                     + fractions.map { formatSignificant($0, digits: 3) }.joined(separator: " / ")
                     + "; \(reg.shape.layers)×\(reg.shape.dim), fc \(reg.shape.fc.map(String.init).joined(separator: "-")), lr \(formatSignificant(reg.learningRate, digits: 3)), wd \(formatSignificant(reg.weightDecay, digits: 3)), \(reg.shape.output.rawValue) output"]
        lines += Printer.grid(["split", "n", pct ? "MSE (%²)" : "MSE", "Kendall τ", "R²"], rows, rightAligned: [1, 2, 3, 4])
        for note in notes { lines.append("note: \(note)") }
        return .text(lines.joined(separator: "\n"))
    }

    static let draw = CommandSpec(
        name: "draw", summary: "Draws N architectures uniformly from the space, untrained (candidates for predict in huge spaces).",
        positional: [Param("n", .integer(min: 1), "how many")],
        details: """
            For spaces too big to enumerate (proxyless, ≈ 6.6·10^17 architectures): predict
            on the pool, then topk … trained=false lists the best without training them
            (a table benchmark can only train the architectures it holds).
            """
    ) { session, args in
        let n = args.integer("n")!
        let space = session.space
        guard SpaceGenerator.canGenerate(space) else {
            throw CommandProblem.cannotDraw(space: space.name)
        }
        let store = session.store
        var rng = session.stream(for: "draw")
        if space.kind == .nb101 {
            let catalog = try Session.catalog(store)
            guard n <= catalog.cells.count else {
                throw CommandProblem.drawTooMany(n, holds: catalog.cells.count)
            }
            // Over half the space, rejection would take ever longer: draw distinct indices.
            if 2 * n > catalog.cells.count {
                let picked = rng.distinct(n, from: catalog.cells.count)
                return .archSet(ArchSet(entries: picked.map { ArchEntry(arch: .nb101(catalog.cells[$0]), hash: catalog.hashes[$0], validation: .nan, test: .nan) },
                                        label: "pool of space nb101", space: space))
            }
        }
        return .archSet(ArchSet(entries: try drawDistinct(n, from: space, store: store, rng: &rng), label: "pool of space \(space.name)", space: space))
    }

    /// N distinct architectures of a space that generates them, untrained, by rejection of
    /// repeats (`draw`, and `sample` with a trainer in a space too large to list).
    static func drawDistinct(_ n: Int, from space: SpaceInfo, store: BenchmarkStore, rng: inout RandomStream) throws -> [ArchEntry] {
        var entries: [ArchEntry] = []
        var seen = Set<Digest128>()
        var attempts = 0
        while entries.count < n {
            attempts += 1
            if attempts & 1023 == 0 { try Interrupt.check("the draw") }
            if attempts > 20 * n + 1000 { throw CommandProblem.couldNotDraw(n, space: space.name) }
            let (a, h) = try SpaceGenerator.sample(space, catalog: { try Session.catalog(store) }, rng: &rng)
            if seen.insert(h).inserted { entries.append(ArchEntry(arch: a, hash: h, validation: .nan, test: .nan)) }
        }
        return entries
    }

    static let evolve = CommandSpec(
        name: "evolve", summary: "Regularised evolution guided by a predictor: the K best-predicted architectures it visits.",
        positional: [Param("predictor", .predictor, "a fitted predictor")],
        options: [
            Param("k", .integer(min: 1), "how many to return", value: .integer(10)),
            Param("population", .integer(min: 2), "population size", value: .integer(100)),
            Param("sample", .integer(min: 1), "tournament size", value: .integer(25)),
            Param("cycles", .integer(min: 1), "children evaluated", value: .integer(2000)),
        ],
        details: "Returns scores (like predict) over the visited architectures' best K; topk then trains them (or trained=false lists them)."
    ) { session, args in
        let p = try predictorArgument(args)
        guard p.space.name == session.space.name else {
            throw CommandProblem.predictorSpace(fitted: p.space.name, session: session.space.name)
        }
        var rng = session.stream(for: "evolve")
        let evo = Evolution(population: args.integer("population")!, tournament: args.integer("sample")!, cycles: args.integer("cycles")!)
        let store = session.store
        let found = try evo.run(space: p.space, predictor: p.predictor, k: args.integer("k")!, seed: rng.next(),
                                catalog: { try Session.catalog(store) }, threads: session.threads)
        var value = ScoresValue(entries: found.map { ArchEntry(arch: $0.0, hash: $0.1, validation: .nan, test: .nan) }, scores: found.map(\.2),
                                accepted: nil, model: p.predictor.kindName, label: "evolution in space \(p.space.name)")
        value.space = p.space
        return .scores(value)
    }
}
