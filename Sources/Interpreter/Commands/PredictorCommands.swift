import Runtime

/// The predictor commands: fit, predict, topk, eval.
extension Builtins {
    static let modelWords = ["gcn", "mlp", "cnn", "twostage", "best"]

    static let fit = CommandSpec(
        name: "fit", summary: "Fits a predictor on a set's (architecture, validation accuracy) pairs.",
        positional: [Param("model", .word(modelWords), "the predictor"), Param("set", .archSet, "the training set")],
        options: fitOptions,
        details: """
            The paper's settings by default: 3 bidirectional GCN layers of size D (48 for N=43,
            72/86, 96/129, 144/172, 210/334, 320/860; interpolated in between), mean over the
            cell's vertices, FC 128, shifted-sigmoid output, Adam, batch 10, 300 epochs.
            twostage fits a classifier (val ≥ threshold, lr 2e-4) and a regressor on the accepted.
            Losses (space nlp, or a user space's metric) default to output=linear.
            best is npsh's best ranker: the paper's GCN trained to order pairs (loss=hinge)
            at lr 3e-4, picked by scripts/experiments/predictors.npx; options given override it.
            """
    ) { session, args in
        guard case .word(let model) = args.values["model"], var set = args.set("set") else { return .none }
        let failed = set.entries.filter(\.failed).count
        if failed > 0 {
            // A trainer failed on them for good: nothing to learn from, nothing to fix.
            set.entries.removeAll(where: \.failed)
            session.diagnostics("note: fitting on \(Format.count(set.count)); \(Format.plural(failed, "architecture")) whose training failed \(failed == 1 ? "is" : "are") left out")
        }
        let labeled = set.entries.filter { !$0.validation.isNaN }
        guard labeled.count == set.count else {
            throw CommandProblem.unlabeledToLearn(set.count - labeled.count)
        }
        var rng = session.stream(for: "fit")
        let n = model == "twostage"
            ? set.entries.filter { $0.validation >= twoStageThreshold(args) }.count : set.count
        let (config, classifier, notes) = try fitConfigs(args, model: model, n: n, space: set.space, labels: labels(set), rng: &rng)
        let cells = set.architectures
        let labels = set.entries.map(\.validation)
        let reporter = session.progress
        reporter.start("fit", total: config.epochs * (classifier == nil ? 1 : 2), unit: "epoch")
        defer { reporter.finish() }
        var done = 0
        let progress: (Int) -> Bool = { _ in
            done += 1
            reporter.update(done)
            return !session.interruptRequested()
        }
        let fitted: FittedPredictor
        if let classifier {
            fitted = try FittedPredictor.fitTwoStage(regressor: config, classifier: classifier, threshold: twoStageThreshold(args),
                                                     cells: cells, indices: Array(cells.indices), labels: labels, progress: progress)
        } else {
            fitted = try FittedPredictor.fit(config, cells: cells, indices: Array(cells.indices), labels: labels, progress: progress)
        }
        var value = PredictorValue(predictor: fitted, trainedOn: set.count, label: set.label, notes: notes)
        value.space = set.space
        return .predictor(value)
    }

    /// The two-stage classifier's default boundary, in percent (the paper's 91 %).
    static let defaultThreshold = 91.0

    /// The two-stage threshold of a call as a fraction: `threshold=` or the default.
    static func twoStageThreshold(_ args: Arguments) -> Double { args.number("threshold")! / 100 }

    /// The options every fitting command shares (fit, search predictor, splits).
    static let fitOptions: [Param] = [
            Param("epochs", .integer(min: 1), "training epochs", value: .integer(300)),
            Param("lr", .number(Bounds(low: 0, high: 1, lowOpen: true)), "initial learning rate (cosine-decayed to 0)", default: "1e-4; classifier 2e-4"),
            Param("wd", .number(Bounds(low: 0, high: 1)), "weight decay", value: .decimal(1e-3)),
            Param("dropout", .number(.rate), "dropout rate after each body layer", value: .decimal(0.1)),
            Param("batch", .integer(min: 1), "mini-batch size", value: .integer(10)),
            Param("dim", .integer(min: 1), "node representation size D", default: "the paper's for N"),
            Param("layers", .integer(min: 1), "body layers", value: .integer(3)),
            Param("fc", .integer(min: 1), "width of the fully connected layer", value: .integer(128)),
            Param("output", .word(OutputMode.allCases.map(\.rawValue)), "output: shifted, sigmoid or linear", default: "shifted for accuracies, linear otherwise"),
            Param("optimizer", .word(OptimizerKind.allCases.map(\.rawValue)), "adam (L2 decay) or adamw (decoupled)", value: .word("adam")),
            Param("threshold", .number(.percent), "two-stage: the accuracy (percent) the classifier separates", value: .decimal(defaultThreshold)),
            Param("init", .word(["glorot", "he"]), "weight initialisation: glorot (the paper's) or he (for deep GCNs such as layers=18)", value: .word("glorot")),
            Param("fc2", .integer(min: 0), "width of a second fully connected layer (0: none; the paper's ProxylessNAS net uses 512 then 128)", value: .integer(0)),
            Param("loss", .word(["mse", "hinge", "bpr"]), "mse (the paper's regression) or ranking the pairs of each batch: hinge (margin) or bpr (logistic)", value: .word("mse")),
            Param("margin", .number(.positive), "hinge: the margin, in units of the labels' sd", value: .decimal(0.1)),
            Param("ensemble", .integer(min: 1), "networks fitted, each with its own init, shuffle and dropout; scores are their standardised mean", value: .integer(1)),
            Param("average", .word(["none"] + WeightAverage.allCases.map(\.rawValue)), "weights to predict with: the last step's (none), their moving average over steps (ema) or the mean of the last quarter's epochs (swa)", value: .word("none")),
            Param("decay", .number(Bounds(low: 0, high: 1, lowOpen: true, highOpen: true)), "ema: the average's decay per step", value: .decimal(0.999)),
    ]

    /// The regressor's config (and the classifier's for twostage) from the fit options;
    /// seeds drawn from `rng`.
    static func fitConfigs(_ args: Arguments, model: String, n: Int, space: SpaceInfo, labels: [Double], rng: inout RandomStream) throws
        -> (FitConfig, FitConfig?, [String]) {
        var notes: [String] = []
        let dim: Int
        if let d = args.integer("dim") { dim = d } else {
            let (d, source) = FitConfig.paperDim(forTrainingSize: max(1, n))
            dim = d
            switch source {
            case .table: break
            case .interpolated: notes.append("D = \(d) interpolated from the paper's table for N = \(n)")
            case .nearest(let end): notes.append("D = \(d), the paper's for N = \(end): N = \(n) is outside its table (43…860)")
            }
        }
        // Accuracies default to the paper's shifted sigmoid; losses and other metrics to linear.
        var output = args.values["output"].flatMap { if case .word(let w) = $0 { return OutputMode(rawValue: w) }; return nil }
            ?? (space.isAccuracy ? OutputMode.shifted : .linear)
        // The shifted sigmoid cannot go below 10 %: for accuracies mostly under it (the seed's
        // Oxford-IIIT Pet pairs, 5.5–10.5 %) the default becomes the plain sigmoid, with a note.
        let sorted = labels.filter { !$0.isNaN }.sorted()
        if args.values["output"] == nil, output == .shifted, !sorted.isEmpty, sorted[sorted.count / 2] < 0.1 {
            output = .sigmoid
            notes.append("most accuracies are below 10 %, the shifted sigmoid's floor: output=sigmoid (give output= to choose)")
        }
        guard case .word(let o) = args.values["optimizer"], let optimizer = OptimizerKind(rawValue: o) else { throw CommandProblem.unknownOptimizer }
        let dropout = args.number("dropout")!
        let kind = model == "twostage" || model == "best" ? ModelKind.gcn : ModelKind(rawValue: model)!
        var fc = [args.integer("fc")!]
        if let f2 = args.integer("fc2"), f2 > 0 { fc.append(f2) }
        let shape = NetworkShape(kind: kind, layers: args.integer("layers")!, dim: dim, fc: fc,
                                 dropout: Float(dropout), output: output, vertices: space.maxVertices, opKinds: space.opLabels.count)
        var config = FitConfig(shape: shape, optimizer: optimizer, learningRate: args.number("lr") ?? 1e-4,
                               weightDecay: args.number("wd")!, epochs: args.integer("epochs")!,
                               batch: args.integer("batch")!, seed: rng.next())
        if case .word("he") = args.values["init"] { config.heInit = true }
        if case .word(let l) = args.values["loss"], let loss = LossKind(rawValue: l) { config.loss = loss }
        // The preset first: the options below check the loss it sets.
        if model == "best" {
            var kept: FitPreset.Kept = []
            for (option, setting) in [("loss", FitPreset.Kept.loss), ("lr", .learningRate), ("epochs", .epochs), ("ensemble", .ensemble), ("average", .average)]
            where args.has(option) { kept.insert(setting) }
            FitPreset.best.apply(to: &config, keeping: kept)
        }
        if args.has("margin") {
            guard config.loss == .hinge else { throw args.problem("margin", .marginWithoutHinge) }
            config.margin = args.number("margin")
        }
        if args.has("average"), case .word(let a) = args.values["average"] { config.average = WeightAverage(rawValue: a) }
        if args.has("decay") {
            guard config.average == .ema else { throw args.problem("decay", .decayWithoutEMA) }
            config.averageDecay = args.number("decay")
        }
        if model == "twostage" && config.loss != .mse { throw args.problem("loss", .pairwiseTwoStage(config.loss.rawValue)) }
        if let e = args.integer("ensemble"), e > 1 {
            if model == "twostage" { throw args.problem("ensemble", .ensembleTwoStage) }
            config.ensemble = e
        }
        guard model == "twostage" else { return (config, nil, notes) }
        guard space.isAccuracy else { throw CommandProblem.twoStageNeedsAccuracy(space: space.name, metric: space.metricName) }
        var classifier = config
        classifier.loss = .bce
        classifier.learningRate = args.number("lr").map { $0 * 2 } ?? 2e-4
        classifier.shape.output = .sigmoid
        classifier.seed = rng.next()
        return (config, classifier, notes)
    }

    /// The bound predictor (the binder has checked its type).
    static func predictorArgument(_ args: Arguments) throws -> PredictorValue {
        guard case .predictor(let p) = args.values["predictor"] else { throw CommandProblem.notAPredictor }
        return p
    }

    /// The validation values of a set (the reference for choosing an output mode).
    static func labels(_ set: ArchSet) -> [Double] { set.entries.map(\.validation) }

    /// The predictor must have been fitted in the set's space (same op vocabulary and size).
    static func checkSpace(_ p: PredictorValue, _ set: ArchSet) throws {
        let shape: NetworkShape
        switch p.predictor {
        case .single(let s): shape = s.config.shape
        case .twoStage(_, let r, _): shape = r.config.shape
        case .ensemble(let ms): shape = ms[0].config.shape
        }
        guard p.space.name == set.space.name, shape.opKinds == set.space.opLabels.count,
              set.entries.allSatisfy({ $0.arch.vertices <= shape.vertices }) else {
            throw CommandProblem.predictorShape(fitted: p.space.name, vertices: shape.vertices, opKinds: shape.opKinds, set: set.space.name)
        }
    }

    static let predict = CommandSpec(
        name: "predict", summary: "Predicted scores of a predictor on a set (default: every architecture of the benchmark).",
        positional: [Param("predictor", .predictor, "a fitted predictor")],
        keywords: [Param("on", .archSet, "the candidates", default: "all")]
    ) { session, args in
        let p = try predictorArgument(args)
        let set = try args.set("on") ?? session.candidates()
        try checkSpace(p, set)
        let cells = set.architectures
        let (scores, accepted) = p.predictor.scores(cells: cells, indices: Array(cells.indices), threads: session.threads)
        var value = ScoresValue(entries: set.entries, scores: scores, accepted: accepted, model: p.predictor.kindName, label: set.label)
        value.space = set.space
        return .scores(value)
    }

    static let topk = CommandSpec(
        name: "topk", summary: "The K best-predicted architectures, each then trained once (like sample).",
        positional: [Param("scores", .scores, "scores from predict"), Param("k", .integer(min: 1), "how many")],
        options: [Param("trained", .word(["true", "false"]), "false: list them untrained (for pools a table benchmark cannot train)", default: "true")]
    ) { session, args in
        guard case .scores(let s) = args.values["scores"] else { throw CommandProblem.notScores }
        let k = args.integer("k")!
        guard k <= s.entries.count else {
            throw CommandProblem.kTooLarge(k, candidates: s.entries.count)
        }
        let picked = s.ranking().prefix(k).map { s.entries[$0] }
        if case .word("false") = args.values["trained"] {
            return .archSet(ArchSet(entries: picked, label: s.label, space: s.space))
        }
        var rng = session.stream(for: "topk")
        return .archSet(try train(picked, try session.bench(), &rng, session))
    }

    static let eval = CommandSpec(
        name: "eval", summary: "Metrics of a predictor on a set: kendall, spearman, mse (%²), r2, n.",
        positional: [Param("predictor", .predictor, "a fitted predictor")],
        keywords: [Param("on", .archSet, "the set to evaluate on")]
    ) { session, args in
        let p = try predictorArgument(args)
        let set = args.set("on")!
        try checkSpace(p, set)
        let labeled = set.entries.filter { !$0.validation.isNaN }
        guard !labeled.isEmpty else { throw CommandProblem.noLabelsToEvaluate }
        let cells = labeled.map(\.arch)
        let truth = labeled.map(\.validation)
        let predicted = p.predictor.values(cells: cells, indices: Array(cells.indices), threads: session.threads)
        var label = set.label
        if case .twoStage(let classifier, _, let threshold) = p.predictor {
            // The cascade's first stage: how well it separates accurate cells.
            let prob = classifier.predict(cells: cells, indices: Array(cells.indices), threads: session.threads)
            let c = ClassifierReport(probabilities: prob, truth: truth, threshold: threshold)
            label += "; classifier accuracy \(Format.fixed(c.accuracy * 100, 2)) %, false-negative rate \(Format.fixed(c.falseNegativeRate * 100, 2)) %"
        }
        return .metrics(Metrics.summary(predicted: predicted, truth: truth), label: label, percent: set.space.isAccuracy)
    }
}
